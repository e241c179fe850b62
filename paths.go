package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Path returns the cgroup path of a controller, relative to the controller's hierarchy root (for
// example "/test" for /sys/fs/cgroup/cpu/test). Every Path of this package cleans its result and
// rejects paths that could leave the hierarchy root.
type Path func(subsystem Name) (string, error)

// RootPath is the Path of the hierarchies' root cgroup, "/".
func RootPath(subsystem Name) (string, error) {
	return "/", nil
}

// StaticPath returns the same path for every controller. The path must not include the mount
// point (not "/sys/fs/cgroup/..."): it starts with your own cgroup's name.
func StaticPath(path string) Path {
	return func(_ Name) (string, error) {
		return cleanCgroupPath(path)
	}
}

// NestedPath returns, for each controller, the calling process's own cgroup (from
// /proc/self/cgroup) joined with suffix. A controller that /proc/self/cgroup lists but that is not
// mounted is not active (ErrControllerNotActive) instead of failing the whole Path.
func NestedPath(suffix string) Path {
	paths, err := ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return errorPath(err)
	}
	return existingPath(paths, suffix)
}

// PidPath returns, for each controller, the cgroup of the process pid (from /proc/<pid>/cgroup).
// A process that no longer exists makes Load return ErrCgroupDeleted.
func PidPath(pid int) Path {
	p := fmt.Sprintf("/proc/%d/cgroup", pid)
	paths, err := ParseCgroupFile(p)
	if err != nil {
		return errorPath(fmt.Errorf("parse cgroup file %s: %w", p, err))
	}
	return existingPath(paths, "")
}

// existingPath maps the cgroup paths of /proc/<pid>/cgroup to paths relative to each controller's
// mount. The mount's root (the hierarchy path mounted there, "/" normally, a subtree in a
// container) is cut from the front.
func existingPath(paths map[string]string, suffix string) Path {
	mounts, err := selfMounts.get()
	if err != nil {
		return errorPath(err)
	}
	return relativeToMounts(mounts, paths, suffix)
}

func relativeToMounts(mounts []cgroupMount, paths map[string]string, suffix string) Path {
	if err := checkPath(suffix); err != nil {
		return errorPath(err)
	}
	rel := make(map[string]string, len(paths))
	outside := map[string]cgroupMount{}
	for key, p := range paths {
		m, ok := findMount(mounts, key)
		if !ok {
			continue // listed but not mounted here: that controller is not active
		}
		if strings.Contains(m.Root+"/", "/../") {
			// Mounted from outside this process's cgroup namespace: the mount shows a hierarchy
			// above the namespace root ("/.."), while the paths of /proc/<pid>/cgroup are relative
			// to that root, whose place under the mount point cannot be known. Cutting "/.." off
			// would silently name another cgroup (the hierarchy root, say).
			outside[key] = m
			continue
		}
		r, err := filepath.Rel(filepath.Clean("/"+m.Root), filepath.Clean("/"+p))
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			// The cgroup is outside the mounted subtree: it cannot be reached through this mount.
			continue
		}
		rel[key] = filepath.Clean("/" + r)
	}
	return func(name Name) (string, error) {
		p, ok := rel[string(name)]
		if !ok {
			if p, ok = rel["name="+string(name)]; !ok {
				m, out := outside[string(name)]
				if !out {
					m, out = outside["name="+string(name)]
				}
				if out {
					return "", fmt.Errorf("cgroups: %s: mounted at %s from outside this cgroup namespace (mount root %s): %w",
						name, m.Mountpoint, m.Root, ErrControllerNotActive)
				}
				return "", fmt.Errorf("cgroups: %s: %w", name, ErrControllerNotActive)
			}
		}
		return cleanCgroupPath(filepath.Join(p, suffix))
	}
}

func errorPath(err error) Path {
	return func(_ Name) (string, error) {
		return "", err
	}
}

// subPath is the Path of a child cgroup.
func subPath(path Path, name string) Path {
	// Checked before joining: filepath.Join would clean "../x" away into a sibling's path.
	if err := checkPath(name); err != nil {
		return errorPath(err)
	}
	return func(s Name) (string, error) {
		p, err := path(s)
		if err != nil {
			return "", err
		}
		return cleanCgroupPath(filepath.Join(p, name))
	}
}

// cleanCgroupPath checks and cleans a cgroup path into the form "/a/b".
func cleanCgroupPath(p string) (string, error) {
	if err := checkPath(p); err != nil {
		return "", err
	}
	return filepath.Clean("/" + p), nil
}

// joinPath joins a mount point and a cgroup path, never going above the mount point.
func joinPath(mount, cgroupPath string) string {
	p := filepath.Clean("/" + cgroupPath)
	if p == "/" {
		return mount
	}
	return mount + p
}

// isNotExist tells whether err means that a path does not exist.
func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}
