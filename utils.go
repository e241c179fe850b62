package cgroups

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// CGMode is the cgroup mode of the host.
type CGMode int

const (
	// Unavailable means the cgroup mountpoint could not be inspected.
	Unavailable CGMode = iota
	// Legacy means only cgroup v1 hierarchies are mounted.
	Legacy
	// Hybrid means cgroup v1 hierarchies plus cgroup v2 at /sys/fs/cgroup/unified.
	Hybrid
	// Unified means cgroup v2 only.
	Unified
)

const unifiedMountpoint = "/sys/fs/cgroup"

var (
	modeOnce sync.Once
	mode     CGMode
)

// Mode returns the cgroup mode of the host, found once by statfs of /sys/fs/cgroup.
func Mode() CGMode {
	modeOnce.Do(func() {
		var st unix.Statfs_t
		if err := unix.Statfs(unifiedMountpoint, &st); err != nil {
			mode = Unavailable
			return
		}
		switch {
		case st.Type == unix.CGROUP2_SUPER_MAGIC:
			mode = Unified
		default:
			mode = Legacy
			if err := unix.Statfs(unifiedMountpoint+"/unified", &st); err == nil &&
				st.Type == unix.CGROUP2_SUPER_MAGIC {
				mode = Hybrid
			}
		}
	})
	return mode
}

var (
	userNSOnce sync.Once
	inUserNS   bool
)

// RunningInUserNS tells whether the process runs in a user namespace other than the initial one
// (whose /proc/self/uid_map is "0 0 4294967295").
func RunningInUserNS() bool {
	userNSOnce.Do(func() {
		data, err := os.ReadFile("/proc/self/uid_map")
		if err != nil {
			return
		}
		line, _ := nextLine(data)
		var a, b, c uint64
		if _, err := fmt.Sscan(string(line), &a, &b, &c); err != nil {
			return
		}
		inUserNS = !(a == 0 && b == 0 && c == 4294967295)
	})
	return inUserNS
}

// ParseCgroupFile parses a /proc/<pid>/cgroup file into a map from controller (or "name=X" for a
// named hierarchy) to cgroup path. The cgroup v2 line is left out.
func ParseCgroupFile(path string) (map[string]string, error) {
	m, _, err := ParseCgroupFileUnified(path)
	return m, err
}

// ParseCgroupFileUnified parses a /proc/<pid>/cgroup file like ParseCgroupFile, and also returns
// the cgroup v2 path ("0::/path"), or "" when there is none.
func ParseCgroupFileUnified(path string) (map[string]string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	return parseCgroupData(data)
}

// parseCgroupData parses the "id:controllers:path" lines of /proc/<pid>/cgroup.
func parseCgroupData(data []byte) (map[string]string, string, error) {
	paths := make(map[string]string)
	unified := ""
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		if len(line) == 0 {
			continue
		}
		i := bytes.IndexByte(line, ':')
		j := -1
		if i >= 0 {
			j = bytes.IndexByte(line[i+1:], ':')
		}
		if i <= 0 || j < 0 {
			return nil, "", fmt.Errorf("invalid cgroup entry: %q: %w", line, ErrInvalidFormat)
		}
		controllers, p := string(line[i+1:i+1+j]), string(line[i+2+j:])
		if controllers == "" {
			unified = p
			continue
		}
		for _, c := range strings.Split(controllers, ",") {
			paths[c] = p
		}
	}
	return paths, unified, nil
}

// readPids lists the pids (or tids) in one cgroup file.
func readPids(root *fsRoot, cgroupPath, file string, subsystem Name, out []Process) ([]Process, error) {
	data, err := root.readFile(cgroupPath, file, nil)
	if err != nil {
		return out, err
	}
	dir := joinPath(root.path, cgroupPath)
	err = parsePids(data, func(pid int) {
		out = append(out, Process{Subsystem: subsystem, Pid: pid, Path: dir})
	})
	if err != nil {
		return out, &FileError{Op: "parse", Path: dir + "/" + file, Err: err}
	}
	return out, nil
}
