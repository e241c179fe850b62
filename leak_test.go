package cgroups

import (
	"runtime"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLeakLifecycleReal: a full cycle repeated 50 times leaves the fd and goroutine counts where
// they were after one warm-up cycle (which opens the cached hierarchy root fds).
func TestLeakLifecycleReal(t *testing.T) {
	requireRoot(t)
	shares, limit, pidsMax := uint64(512), int64(64<<20), int64(100)
	res := &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: &shares},
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pidsMax},
	}
	cycle := func() {
		path := "/" + testName(t)
		cg, err := New(V1, StaticPath(path), res)
		if err != nil {
			t.Fatal(err)
		}
		defer cleanupCgroup(t, V1, path)
		if err := cg.Update(res); err != nil {
			t.Fatal(err)
		}
		if _, err := cg.Stat(IgnoreNotExist); err != nil {
			t.Fatal(err)
		}
		fixCpuset(t, path)
		cmd := startProcess(t)
		if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
			t.Fatal(err)
		}
		if _, err := cg.Processes(Memory, true); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err := cg.Delete(); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	fds, goroutines := openFDs(t), settledGoroutines(-1)
	for i := 0; i < 50; i++ {
		cycle()
	}
	if n := openFDs(t); n != fds {
		t.Errorf("open fds: %d before, %d after 50 cycles", fds, n)
	}
	if n := settledGoroutines(goroutines); n != goroutines {
		t.Errorf("goroutines: %d before, %d after 50 cycles", goroutines, n)
	}
}

// settledGoroutines returns the goroutine count once it has come down to want (or, with want < 0,
// once it stops changing), waiting at most a second for exiting goroutines.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if (want >= 0 && m <= want) || (want < 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}
