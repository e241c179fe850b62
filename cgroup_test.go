package cgroups

import (
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestNewLoadDeleteReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	subs := cg.Subsystems()
	if len(subs) == 0 {
		t.Fatal("no subsystems")
	}
	for _, s := range subs {
		dir := s.(pather).Path(path)
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: %v", s.Name(), err)
		}
	}
	loaded, err := Load(V1, StaticPath(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Subsystems()) != len(subs) {
		t.Errorf("Load: %d subsystems, New: %d", len(loaded.Subsystems()), len(subs))
	}
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if st := cg.State(); st != Deleted {
		t.Errorf("State after Delete = %q", st)
	}
	for _, s := range subs {
		if _, err := os.Stat(s.(pather).Path(path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists: %v", s.Name(), err)
		}
	}
	if _, err := Load(V1, StaticPath(path)); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load after Delete: %v, want ErrCgroupDeleted", err)
	}
}

func TestAddProcessesReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	child, err := cg.New("child", nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := startProcess(t)
	if err := child.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	procs, err := cg.Processes(Memory, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].Pid != cmd.Process.Pid {
		t.Fatalf("Processes = %+v", procs)
	}
	want := NewMemory("/sys/fs/cgroup").Path(path + "/child")
	if procs[0].Path != want {
		t.Errorf("path %q, want %q", procs[0].Path, want)
	}
	self, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", self)
}
