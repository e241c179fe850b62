package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func pidsLimit(v int64) *specs.LinuxResources {
	return &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &v}}
}

func TestPidsMaxValue(t *testing.T) {
	for limit, want := range map[int64]string{-1: "max", 0: "0", 1: "1", 4194304: "4194304"} {
		if got, err := pidsMaxValue(limit); err != nil || got != want {
			t.Errorf("pidsMaxValue(%d) = %q, %v; want %q", limit, got, err, want)
		}
	}
	for _, limit := range []int64{-2, -1 << 63} {
		if _, err := pidsMaxValue(limit); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("pidsMaxValue(%d): err %v, want ErrInvalidValue", limit, err)
		}
	}
}

func TestPidsUpdateFixture(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"pids/c/pids.max": "max\n"})
	c := NewPids(root)
	file := filepath.Join(root, "pids/c/pids.max")
	for _, step := range []struct {
		res  *specs.LinuxResources
		want string
	}{
		{pidsLimit(10), "10"},
		{nil, "10"},
		{&specs.LinuxResources{}, "10"},
		{&specs.LinuxResources{Pids: &specs.LinuxPids{}}, "10"},
		{pidsLimit(0), "0"},
		{pidsLimit(-1), "max"},
	} {
		if err := c.Update("/c", step.res); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, file); got != step.want {
			t.Errorf("after Update(%+v): pids.max = %q, want %q", step.res, got, step.want)
		}
	}
	if err := c.Update("/c", pidsLimit(-5)); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "-5") {
		t.Errorf("Update(-5): %v", err)
	}
	if got := readTestFile(t, file); got != "max" {
		t.Errorf("a refused update changed pids.max to %q", got)
	}
}

func TestPidsStatFixture(t *testing.T) {
	root := fixtureRoot(t, map[string]string{
		"pids/new/pids.current": "3\n", "pids/new/pids.max": "max\n", "pids/new/pids.peak": "8\n",
		"pids/new/pids.events":  "max 2\n",
		"pids/old/pids.current": "3\n", "pids/old/pids.max": "64\n",
		"pids/nocurrent/pids.max": "64\n",
		"pids/bad/pids.current":   "3\n", "pids/bad/pids.max": "\xff\xff\n",
		"pids/badev/pids.current": "3\n", "pids/badev/pids.max": "5\n", "pids/badev/pids.events": "max\n",
	})
	c := NewPids(root)
	var m Metrics
	if err := c.Stat("/new", &m); err != nil {
		t.Fatal(err)
	}
	if *m.Pids != (PidsStat{Current: 3, Limit: 0, Peak: 8, Events: 2}) {
		t.Errorf("new kernel: %+v", *m.Pids)
	}
	m = Metrics{}
	if err := c.Stat("/old", &m); err != nil {
		t.Fatal(err)
	}
	if *m.Pids != (PidsStat{Current: 3, Limit: 64}) {
		t.Errorf("old kernel (no peak, no events): %+v", *m.Pids)
	}
	if err := c.Stat("/nocurrent", &Metrics{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing pids.current: %v", err)
	}
	if err := c.Stat("/bad", &Metrics{}); !errors.Is(err, ErrInvalidFormat) {
		t.Errorf("garbage pids.max: %v", err)
	}
	if err := c.Stat("/badev", &Metrics{}); !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "pids.events") {
		t.Errorf("malformed pids.events: %v", err)
	}
}

// pidsDir returns the pids directory of a test cgroup.
func pidsDir(t *testing.T, cg Cgroup, path string) (*pidsController, string) {
	t.Helper()
	for _, s := range cg.Subsystems() {
		if p, ok := s.(*pidsController); ok {
			return p, filepath.Join(p.mount, path)
		}
	}
	t.Skip("no pids controller mounted")
	return nil, ""
}

func TestPidsIntegrationLimits(t *testing.T) {
	cg, path := newTestCgroup(t, pidsLimit(10))
	c, dir := pidsDir(t, cg, path)
	file := filepath.Join(dir, "pids.max")
	if got := readTestFile(t, file); got != "10" {
		t.Fatalf("pids.max = %q after New with 10", got)
	}
	for _, step := range []struct {
		res  *specs.LinuxResources
		want string
	}{
		{pidsLimit(20), "20"},
		{&specs.LinuxResources{Pids: &specs.LinuxPids{}}, "20"}, // nil: leave as is
		{pidsLimit(-1), "max"}, // back to no limit
		{pidsLimit(0), "0"},    // 0 is a limit (spec v1.3.0)
		{pidsLimit(7), "7"},
	} {
		if err := cg.Update(step.res); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, file); got != step.want {
			t.Errorf("pids.max = %q, want %q", got, step.want)
		}
	}
	if err := cg.Update(pidsLimit(-2)); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Update(-2): %v", err)
	}
	if err := cg.Update(pidsLimit(1 << 40)); err == nil || !strings.Contains(err.Error(), "pids.max") {
		t.Errorf("Update beyond the kernel's maximum: %v", err)
	}
	if got := readTestFile(t, file); got != "7" {
		t.Errorf("refused updates changed pids.max to %q", got)
	}

	// Stat counts threads: a helper with 8 extra threads, moved in.
	if err := cg.Update(pidsLimit(-1)); err != nil {
		t.Fatal(err)
	}
	cmd := startProcess(t, "threads", "8")
	if err := cg.Add(Process{Pid: cmd.Process.Pid}, Pids); err != nil {
		t.Fatal(err)
	}
	var st *PidsStat
	deadline := time.Now().Add(5 * time.Second)
	for {
		var m Metrics
		if err := c.Stat(path, &m); err != nil {
			t.Fatal(err)
		}
		st = m.Pids
		tasks := strings.Count(readTestFile(t, filepath.Join(dir, "tasks"))+"\n", "\n")
		if st.Current >= 9 && int(st.Current) == tasks || time.Now().After(deadline) {
			t.Logf("pids.current %d, tasks %d, peak %d", st.Current, tasks, st.Peak)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Current < 9 || st.Limit != 0 || st.Events != 0 {
		t.Errorf("Stat with a 9+ thread process and no limit: %+v", *st)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.peak")); err == nil && st.Peak < st.Current {
		t.Errorf("pids.peak %d below pids.current %d", st.Peak, st.Current)
	}
}

// startStoppedInCgroup starts the test helper stopped at its first instruction (ptrace stops a
// traced child at exec), moves it into cg's pids cgroup and only then lets it run, so that
// everything it creates is charged to the cgroup. Migration ignores pids.max; thread creation
// does not.
func startStoppedInCgroup(t *testing.T, cg Cgroup, args ...string) *exec.Cmd {
	t.Helper()
	// ptrace requests must come from the tracing thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command(helperPath, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || !ws.Stopped() {
		t.Fatalf("helper did not stop at exec: %v (status %v)", err, ws)
	}
	if err := cg.Add(Process{Pid: pid}, Pids); err != nil {
		t.Fatal(err)
	}
	if err := syscall.PtraceDetach(pid); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestPidsIntegrationLimitBlocksThreads puts a helper that wants 8 threads into a cgroup with
// pids.max 4: the kernel refuses the clones (EAGAIN), the Go runtime of the helper dies of it,
// and pids.events counts the refusals.
func TestPidsIntegrationLimitBlocksThreads(t *testing.T) {
	cg, path := newTestCgroup(t, pidsLimit(4))
	c, _ := pidsDir(t, cg, path)
	cmd := startStoppedInCgroup(t, cg, "threads", "8")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Success() {
			t.Errorf("helper ended with %v, want a failure from thread creation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the helper created its threads under pids.max=4 (still running after 10 s)")
	}
	var m Metrics
	if err := c.Stat(path, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the refused clones: %+v", *m.Pids)
	if m.Pids.Limit != 4 || m.Pids.Current != 0 {
		t.Errorf("Stat: %+v, want limit 4 and no tasks left", *m.Pids)
	}
	if _, err := os.Stat(filepath.Join(c.mount, path, "pids.events")); err == nil && m.Pids.Events == 0 {
		t.Errorf("pids.events counted no refused fork: %+v", *m.Pids)
	}
	if _, err := os.Stat(filepath.Join(c.mount, path, "pids.peak")); err == nil && (m.Pids.Peak == 0 || m.Pids.Peak > 4) {
		t.Errorf("pids.peak %d, want 1..4", m.Pids.Peak)
	}
}
