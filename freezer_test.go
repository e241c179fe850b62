package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// --- fixture tests ---

func TestFreezerStateFixture(t *testing.T) {
	for _, tc := range []struct {
		state, self string
		want        State
	}{
		{"THAWED\n", "0\n", Thawed},
		{"FROZEN\n", "1\n", Frozen},
		{"FROZEN\n", "0\n", Thawed}, // frozen only because an ancestor is
		{"FREEZING\n", "1\n", Freezing},
		{"FREEZING\n", "0\n", Thawed},
	} {
		root := fixtureRoot(t, map[string]string{
			"freezer/cg/freezer.state":         tc.state,
			"freezer/cg/freezer.self_freezing": tc.self,
		})
		got, err := NewFreezer(root).FreezerState("/cg")
		if err != nil || got != tc.want {
			t.Errorf("state %q self %q: got %q, %v; want %q", tc.state, tc.self, got, err, tc.want)
		}
	}
	root := fixtureRoot(t, map[string]string{"freezer/cg/freezer.state": "MELTING\n", "freezer/cg/freezer.self_freezing": "0\n"})
	if _, err := NewFreezer(root).FreezerState("/cg"); !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "MELTING") {
		t.Errorf("unknown state: %v, want ErrInvalidFormat naming it", err)
	}
	if _, err := NewFreezer(root).FreezerState("/gone"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: %v, want os.ErrNotExist", err)
	}
	// A kernel without freezer.self_freezing: freezer.state is trusted.
	root = fixtureRoot(t, map[string]string{"freezer/cg/freezer.state": "FROZEN\n"})
	if got, err := NewFreezer(root).FreezerState("/cg"); err != nil || got != Frozen {
		t.Errorf("without self_freezing: %q, %v; want frozen", got, err)
	}
}

// setFreezerBounds shrinks the freeze bounds for one test.
func setFreezerBounds(t *testing.T, timeout time.Duration, tries, thawEvery int) {
	oldT, oldN, oldE, oldP := freezeTimeout, freezeMaxTries, freezeThawEvery, freezeThawPause
	freezeTimeout, freezeMaxTries, freezeThawEvery, freezeThawPause = timeout, tries, thawEvery, time.Millisecond
	t.Cleanup(func() {
		freezeTimeout, freezeMaxTries, freezeThawEvery, freezeThawPause = oldT, oldN, oldE, oldP
	})
}

// stuckFreezer is a fixture freezer whose freezer.state reads FREEZING after every FROZEN write,
// like a cgroup whose tasks never all freeze.
func stuckFreezer(t *testing.T) (c *freezerController, stateFile string, writes *[]string) {
	root := fixtureRoot(t, map[string]string{
		"freezer/cg/freezer.state":           "THAWED\n",
		"freezer/cg/freezer.self_freezing":   "0\n",
		"freezer/cg/freezer.parent_freezing": "0\n",
	})
	c = NewFreezer(root)
	stateFile = filepath.Join(root, "freezer/cg/freezer.state")
	writes = new([]string)
	c.afterWrite = func(_, value string) {
		*writes = append(*writes, value)
		if value == freezerFrozen {
			if err := os.WriteFile(stateFile, []byte("FREEZING\n"), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c, stateFile, writes
}

func TestFreezerFreezeGivesUpThawed(t *testing.T) {
	setFreezerBounds(t, time.Minute, 120, 50)
	c, stateFile, writes := stuckFreezer(t)
	start := time.Now()
	err := c.Freeze("/cg")
	if !errors.Is(err, ErrFreezeTimeout) || !strings.Contains(err.Error(), "FREEZING") || !strings.Contains(err.Error(), "120 tries") {
		t.Fatalf("Freeze: %v, want ErrFreezeTimeout saying FREEZING after 120 tries", err)
	}
	if got := readTestFile(t, stateFile); got != freezerThawed {
		t.Errorf("freezer.state after giving up = %q, want THAWED", got)
	}
	frozen, thawed := 0, 0
	for _, w := range *writes {
		switch w {
		case freezerFrozen:
			frozen++
		case freezerThawed:
			thawed++
		}
	}
	// 120 FROZEN writes, a thaw before tries 50 and 100, and the final thaw.
	if frozen != 120 || thawed != 3 || (*writes)[len(*writes)-1] != freezerThawed {
		t.Errorf("writes: %d FROZEN, %d THAWED, last %q; want 120, 3, THAWED", frozen, thawed, (*writes)[len(*writes)-1])
	}
	t.Logf("gave up after %v", time.Since(start))
}

func TestFreezerFreezeTimeoutBound(t *testing.T) {
	setFreezerBounds(t, 150*time.Millisecond, 1_000_000, 50)
	c, stateFile, _ := stuckFreezer(t)
	start := time.Now()
	err := c.Freeze("/cg")
	took := time.Since(start)
	if !errors.Is(err, ErrFreezeTimeout) {
		t.Fatalf("Freeze: %v, want ErrFreezeTimeout", err)
	}
	if took > 2*time.Second {
		t.Errorf("Freeze took %v with a 150 ms bound", took)
	}
	if got := readTestFile(t, stateFile); got != freezerThawed {
		t.Errorf("freezer.state = %q, want THAWED", got)
	}
}

func TestFreezerFreezeWriteErrorIsNotTimeout(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"freezer/cg/.keep": ""})
	err := NewFreezer(root).Freeze("/cg")
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrFreezeTimeout) {
		t.Errorf("Freeze without freezer.state: %v, want the ENOENT, not a timeout", err)
	}
}

func TestFreezerThawUnderFrozenParentFixture(t *testing.T) {
	root := fixtureRoot(t, map[string]string{
		"freezer/cg/freezer.state":           "FROZEN\n",
		"freezer/cg/freezer.self_freezing":   "0\n",
		"freezer/cg/freezer.parent_freezing": "1\n",
	})
	c := NewFreezer(root)
	stateFile := filepath.Join(root, "freezer/cg/freezer.state")
	n := 0
	c.afterWrite = func(_, value string) {
		n++
		// The kernel keeps a child under a frozen parent FROZEN.
		if err := os.WriteFile(stateFile, []byte("FROZEN\n"), 0); err != nil {
			t.Fatal(err)
		}
	}
	err := c.Thaw("/cg")
	if !errors.Is(err, ErrFreezeTimeout) || !strings.Contains(err.Error(), "ancestor") || n != 1 {
		t.Errorf("Thaw: %v after %d writes; want one write and an error naming the frozen ancestor", err, n)
	}
	// Not because of a parent: bounded retries, then an error.
	if err := os.WriteFile(filepath.Join(root, "freezer/cg/freezer.parent_freezing"), []byte("0\n"), 0); err != nil {
		t.Fatal(err)
	}
	n = 0
	err = c.Thaw("/cg")
	if !errors.Is(err, ErrFreezeTimeout) || n > thawMaxTries {
		t.Errorf("Thaw: %v after %d writes; want ErrFreezeTimeout after at most %d", err, n, thawMaxTries)
	}
}

// --- real kernel ---

func freezerDir(t testing.TB, path string) string {
	t.Helper()
	subs, err := V1()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.Name() == Freezer {
			return s.(pather).Path(path)
		}
	}
	t.Skip("no freezer hierarchy")
	return ""
}

// thawOnCleanup thaws the given freezer cgroups (in order) when the test ends, before the
// processes started earlier are killed: a frozen task cannot die, and waiting for it would hang.
func thawOnCleanup(t *testing.T, dirs ...string) {
	t.Cleanup(func() {
		for _, d := range dirs {
			_ = os.WriteFile(filepath.Join(d, freezerStateFile), []byte(freezerThawed), 0)
		}
	})
}

// procState returns the state letter of /proc/<pid>/stat.
func procState(t testing.TB, pid int) byte {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		t.Fatalf("bad /proc/%d/stat: %q", pid, b)
	}
	return b[i+2]
}

// waitProcState polls until the process's state is one of states, for at most a second.
func waitProcState(t testing.TB, pid int, states string) byte {
	t.Helper()
	var s byte
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s = procState(t, pid); strings.IndexByte(states, s) >= 0 {
			break
		}
	}
	return s
}

func TestFreezerFreezeThawReal(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{})
	dir := freezerDir(t, path)
	p := startProcess(t, "spin")
	thawOnCleanup(t, dir)
	if err := cg.Add(Process{Pid: p.Process.Pid}, Freezer); err != nil {
		t.Fatal(err)
	}
	if st := cg.State(); st != Thawed {
		t.Errorf("State before Freeze = %q, want thawed", st)
	}
	start := time.Now()
	if err := cg.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	t.Logf("Freeze of a spinning process took %v", time.Since(start))
	if st := cg.State(); st != Frozen {
		t.Errorf("State after Freeze = %q, want frozen", st)
	}
	if got := readTestFile(t, filepath.Join(dir, freezerStateFile)); got != freezerFrozen {
		t.Errorf("freezer.state = %q, want FROZEN", got)
	}
	if s := procState(t, p.Process.Pid); s != 'D' {
		t.Errorf("frozen process state %q, want D", s)
	}
	if err := cg.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if st := cg.State(); st != Thawed {
		t.Errorf("State after Thaw = %q, want thawed", st)
	}
	if s := waitProcState(t, p.Process.Pid, "RS"); s != 'R' && s != 'S' {
		t.Errorf("thawed process state %q, want R or S", s)
	}
	// Freeze and Thaw twice in a row are fine.
	for _, f := range []func() error{cg.Freeze, cg.Freeze, cg.Thaw, cg.Thaw} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFreezerParentFrozenReal(t *testing.T) {
	parent, path := newTestCgroup(t, &specs.LinuxResources{})
	child, err := parent.New("child", &specs.LinuxResources{})
	if err != nil {
		t.Fatal(err)
	}
	pdir, cdir := freezerDir(t, path), freezerDir(t, path+"/child")
	p := startProcess(t, "sleep")
	thawOnCleanup(t, pdir, cdir)
	if err := child.Add(Process{Pid: p.Process.Pid}, Freezer); err != nil {
		t.Fatal(err)
	}
	if err := parent.Freeze(); err != nil {
		t.Fatalf("parent Freeze: %v", err)
	}
	if st := parent.State(); st != Frozen {
		t.Errorf("parent State = %q, want frozen", st)
	}
	if got := readTestFile(t, filepath.Join(cdir, freezerStateFile)); got != freezerFrozen {
		t.Errorf("child freezer.state = %q, want FROZEN (through the parent)", got)
	}
	if st := child.State(); st != Thawed {
		t.Errorf("child State under a frozen parent = %q, want thawed (self_freezing 0)", st)
	}
	if s := waitProcState(t, p.Process.Pid, "D"); s != 'D' {
		t.Errorf("process in the child: state %q, want D", s)
	}

	start := time.Now()
	err = child.Thaw()
	if !errors.Is(err, ErrFreezeTimeout) || !strings.Contains(err.Error(), "ancestor") {
		t.Errorf("child Thaw under a frozen parent: %v, want an error naming the frozen ancestor", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("child Thaw took %v: it should fail at once", took)
	}
	if s := procState(t, p.Process.Pid); s != 'D' {
		t.Errorf("process state %q after the failed child Thaw, want still D", s)
	}

	// Frozen by itself too: the child stays frozen when the parent thaws.
	if err := child.Freeze(); err != nil {
		t.Fatalf("child Freeze under a frozen parent: %v", err)
	}
	if st := child.State(); st != Frozen {
		t.Errorf("child State = %q, want frozen", st)
	}
	if err := parent.Thaw(); err != nil {
		t.Fatalf("parent Thaw: %v", err)
	}
	if st, cst := parent.State(), child.State(); st != Thawed || cst != Frozen {
		t.Errorf("after parent Thaw: parent %q, child %q; want thawed, frozen", st, cst)
	}
	if err := child.Thaw(); err != nil {
		t.Fatalf("child Thaw: %v", err)
	}
	if st := child.State(); st != Thawed {
		t.Errorf("child State = %q, want thawed", st)
	}
	if s := waitProcState(t, p.Process.Pid, "S"); s != 'S' {
		t.Errorf("process state %q, want S", s)
	}
}

func TestFreezerBusyReal(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{})
	dir := freezerDir(t, path)
	var pids []int
	for _, args := range [][]string{{"threads", "50"}, {"spin"}, {"spin"}, {"spin"}} {
		p := startProcess(t, args...)
		pids = append(pids, p.Process.Pid)
	}
	thawOnCleanup(t, dir)
	for _, pid := range pids {
		if err := cg.Add(Process{Pid: pid}, Freezer); err != nil {
			t.Fatal(err)
		}
	}
	// The 50 threads start after the process joined: they are in the cgroup once they exist.
	var tasks []Task
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if tasks, err = cg.Tasks(Freezer, false); err != nil {
			t.Fatal(err)
		}
		if len(tasks) > 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d tasks in the cgroup, want more than 50", len(tasks))
		}
	}
	for round := 0; round < 5; round++ {
		start := time.Now()
		if err := cg.Freeze(); err != nil {
			t.Fatalf("round %d: Freeze: %v", round, err)
		}
		took := time.Since(start)
		if st := cg.State(); st != Frozen {
			t.Errorf("round %d: State = %q, want frozen", round, st)
		}
		for _, pid := range pids {
			if s := procState(t, pid); s != 'D' {
				t.Errorf("round %d: pid %d state %q, want D", round, pid, s)
			}
		}
		if err := cg.Thaw(); err != nil {
			t.Fatalf("round %d: Thaw: %v", round, err)
		}
		if st := cg.State(); st != Thawed {
			t.Errorf("round %d: State = %q, want thawed", round, st)
		}
		t.Logf("round %d: froze %d tasks in %v", round, len(tasks), took)
	}
}
