package cgroups

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestSeedReadmeReal runs every call of containerd/cgroups' README (shared/seed) as written, on
// the real kernel, apart from the unique cgroup name and the pid of a process of the test's own.
// Stat without an ErrorHandler must succeed: nothing this kernel lacks may fail it.
func TestSeedReadmeReal(t *testing.T) {
	requireRoot(t)
	name := "/" + testName(t)
	t.Cleanup(func() { cleanupCgroup(t, V1, name) })

	shares := uint64(100)
	control, err := New(V1, StaticPath(name), &specs.LinuxResources{
		CPU: &specs.LinuxCPU{
			Shares: &shares,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer control.Delete()

	control, err = Load(V1, StaticPath(name))
	if err != nil {
		t.Fatal(err)
	}
	cmd := startProcess(t)
	if err := control.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}

	shares = uint64(200)
	if err := control.Update(&specs.LinuxResources{
		CPU: &specs.LinuxCPU{
			Shares: &shares,
		},
	}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, NewCpu("/sys/fs/cgroup").Path(name)+"/cpu.shares"); got != "200" {
		t.Errorf("cpu.shares = %s after Update, want 200", got)
	}

	if err := control.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st := control.State(); st != Frozen {
		t.Errorf("State after Freeze = %q", st)
	}
	if err := control.Thaw(); err != nil {
		t.Fatal(err)
	}

	recursive := true
	processes, err := control.Processes(Devices, recursive)
	if err != nil || len(processes) != 1 || processes[0].Pid != cmd.Process.Pid {
		t.Errorf("Processes(Devices) = %+v, %v", processes, err)
	}

	stats, err := control.Stat()
	if err != nil {
		t.Fatalf("Stat() without handlers: %v", err)
	}
	if stats.Memory == nil || stats.CPU == nil || stats.Pids == nil || stats.Pids.Current < 1 { // pids counts threads
		t.Errorf("Stat: %+v", stats)
	}
	if _, err := control.Stat(IgnoreNotExist); err != nil {
		t.Fatal(err)
	}

	resources := &specs.LinuxResources{}
	subCgroup, err := control.New("child", resources)
	if err != nil {
		t.Fatal(err)
	}
	destination := subCgroup
	if err := control.MoveTo(destination); err != nil {
		t.Fatal(err)
	}
	if p, err := subCgroup.Processes(Memory, false); err != nil || len(p) != 1 {
		t.Errorf("after MoveTo the child has %+v, %v", p, err)
	}

	var efds []uintptr
	event := MemoryThresholdEvent(50*1024*1024, false)
	efd, err := control.RegisterMemoryEvent(event)
	if err != nil {
		t.Fatal(err)
	}
	efds = append(efds, efd)
	event = MemoryPressureEvent(MediumPressure, DefaultMode)
	efd, err = control.RegisterMemoryEvent(event)
	if err != nil {
		t.Fatal(err)
	}
	efds = append(efds, efd)
	efd, err = control.OOMEventFD()
	if err != nil {
		t.Fatal(err)
	}
	efds = append(efds, efd)
	event = OOMEvent()
	efd, err = control.RegisterMemoryEvent(event)
	if err != nil {
		t.Fatal(err)
	}
	efds = append(efds, efd)
	for _, fd := range efds {
		unix.Close(int(fd))
	}

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	if control.State() != Deleted {
		t.Errorf("State after Delete = %q", control.State())
	}
	if _, err := Load(V1, StaticPath(name)); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load after Delete: %v", err)
	}
}
