package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUtilsParseCgroupFile(t *testing.T) {
	paths, unified, err := ParseCgroupFileUnified("testdata/proc-cgroup/comounted")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cpu": "/system.slice/containerd.service", "cpuacct": "/system.slice/containerd.service",
		"net_cls": "/", "net_prio": "/", "name=systemd": "/system.slice/containerd.service", "rdma": "/",
		"memory": "/system.slice/containerd.service", "pids": "/system.slice/containerd.service",
	}
	for k, v := range want {
		if paths[k] != v {
			t.Errorf("%s = %q, want %q", k, paths[k], v)
		}
	}
	if len(paths) != 14 {
		t.Errorf("%d entries, want 14: %v", len(paths), paths)
	}
	if _, ok := paths[""]; ok {
		t.Error("the unified line made an entry with an empty name")
	}
	if unified != "/system.slice/containerd.service" {
		t.Errorf("unified = %q", unified)
	}
	plain, err := ParseCgroupFile("testdata/proc-cgroup/host")
	if err != nil || len(plain) != 9 || plain["memory"] != "/process_api/ea7f36e31d0fa5f7d5d2352ddaf86d95" {
		t.Errorf("host: %v, %v", plain, err)
	}
	if _, err := ParseCgroupFile("testdata/proc-cgroup/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestUtilsParseCgroupData(t *testing.T) {
	paths, unified, err := parseCgroupData([]byte("2:cpu,cpuacct:/a:b c\n1:name=systemd:/\n0::/\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if paths["cpu"] != "/a:b c" || paths["cpuacct"] != "/a:b c" || paths["name=systemd"] != "/" || unified != "/" {
		t.Errorf("paths %v unified %q", paths, unified)
	}
	for _, bad := range []string{"garbage\n", "1:cpu\n", ":cpu:/\n"} {
		if _, _, err := parseCgroupData([]byte(bad)); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("%q: %v, want ErrInvalidFormat", bad, err)
		}
	}
	// No unified line (a pure v1 host).
	if _, u, err := parseCgroupData([]byte("1:cpu:/\n")); err != nil || u != "" {
		t.Errorf("no unified line: %q, %v", u, err)
	}
}

func TestUtilsReadPids(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{"cg/cgroup.procs": "12\n345\n\n", "bad/cgroup.procs": "12\nx\n"})
	r := rootFor(dir)
	procs, err := readPids(r, "/cg", cgroupProcs, Pids, nil)
	if err != nil || len(procs) != 2 || procs[1].Pid != 345 || procs[0].Path != filepath.Join(dir, "cg") || procs[0].Subsystem != Pids {
		t.Errorf("readPids = %+v, %v", procs, err)
	}
	if _, err := readPids(r, "/bad", cgroupProcs, Pids, nil); !errors.Is(err, ErrInvalidFormat) {
		t.Errorf("bad pid: %v", err)
	}
}

func TestUtilsModeAndUserNS(t *testing.T) {
	var want CGMode
	switch {
	case isFS(t, "/sys/fs/cgroup", 0x63677270):
		want = Unified
	case isFS(t, "/sys/fs/cgroup/unified", 0x63677270):
		want = Hybrid
	case dirHasCgroup(t):
		want = Legacy
	default:
		t.Skip("no cgroups mounted")
	}
	if got := Mode(); got != want {
		t.Errorf("Mode() = %d, want %d", got, want)
	}
	uidMap, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		t.Skip(err)
	}
	initial := len(uidMap) > 0 && string(uidMap) == "         0          0 4294967295\n"
	if RunningInUserNS() == initial {
		t.Errorf("RunningInUserNS() = %v with uid_map %q", RunningInUserNS(), uidMap)
	}
}

func isFS(t *testing.T, path string, magic int64) bool {
	t.Helper()
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && int64(st.Type) == magic
}

func dirHasCgroup(t *testing.T) bool {
	t.Helper()
	_, err := V1()
	return err == nil
}
