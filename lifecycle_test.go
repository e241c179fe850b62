package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Fake subsystems: a caller's own Subsystem implements only some capabilities, and the core
// must find them by interface.

type fakeName struct{ name Name }

func (f *fakeName) Name() Name { return f.name }

type fakePather struct {
	fakeName
	mount string
}

func (f *fakePather) Path(p string) string { return joinPath(f.mount, p) }

type fakeCreator struct {
	fakePather
	create func(path string, r *specs.LinuxResources) error
}

func (f *fakeCreator) Create(p string, r *specs.LinuxResources) error { return f.create(p, r) }

type fakeUpdater struct {
	fakeName
	calls atomic.Int32
}

func (f *fakeUpdater) Update(string, *specs.LinuxResources) error { f.calls.Add(1); return nil }

type fakeStater struct {
	fakeName
	stat func(path string, m *Metrics) error
}

func (f *fakeStater) Stat(p string, m *Metrics) error { return f.stat(p, m) }

func hierarchyOf(subs ...Subsystem) Hierarchy {
	return func() ([]Subsystem, error) { return subs, nil }
}

// fixCpuset gives test cgroups (parents first) the root's cpus and mems where they are empty, so
// that a process can join them whatever the cpuset controller does on Create.
func fixCpuset(t testing.TB, paths ...string) {
	t.Helper()
	const base = "/sys/fs/cgroup/cpuset"
	for _, p := range paths {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			file := filepath.Join(base, p, f)
			cur, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(cur)) != "" {
				continue
			}
			if err := os.WriteFile(file, []byte(readTestFile(t, filepath.Join(base, f))), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestLifecycleNilResources(t *testing.T) {
	var got *specs.LinuxResources
	c := &fakeCreator{fakePather: fakePather{fakeName{"fake"}, t.TempDir()}, create: func(_ string, r *specs.LinuxResources) error {
		got = r
		return nil
	}}
	u := &fakeUpdater{fakeName: fakeName{"upd"}}
	cg, err := New(hierarchyOf(c, u), StaticPath("/x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Error("Create got nil resources")
	}
	if err := cg.Update(nil); err != nil || u.calls.Load() != 0 {
		t.Errorf("Update(nil) = %v with %d calls", err, u.calls.Load())
	}
	if err := cg.Update(&specs.LinuxResources{}); err != nil || u.calls.Load() != 1 {
		t.Errorf("Update = %v with %d calls", err, u.calls.Load())
	}
	child, err := cg.New("c", nil)
	if err != nil || got == nil {
		t.Errorf("child New with nil resources: %v", err)
	}
	if _, err := cg.New("../escape", nil); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("child New(../escape): %v", err)
	}
	_ = child
}

// TestLifecycleRollbackReal: a caller's Subsystem that fails in Create after the real controllers
// made their directories: New returns its error and leaves no directory it made, in any
// hierarchy, also for the intermediate directories of a nested path; a pre-existing parent stays.
func TestLifecycleRollbackReal(t *testing.T) {
	requireRoot(t)
	subs, err := V1()
	if err != nil {
		t.Fatal(err)
	}
	name := "/" + testName(t)
	t.Cleanup(func() { cleanupCgroup(t, V1, name) })
	memDir := NewMemory("/sys/fs/cgroup").Path(name)
	if err := os.Mkdir(memDir, 0o755); err != nil { // pre-existing in memory only
		t.Fatal(err)
	}
	var real []Subsystem
	var systemdMount string
	for _, s := range subs {
		if s.Name() == "systemd" {
			systemdMount = s.(pather).Path("/")
			continue
		}
		real = append(real, s)
	}
	if systemdMount == "" {
		t.Skip("no name=systemd hierarchy to host the failing subsystem")
	}
	boom := errors.New("boom")
	failing := &fakeCreator{fakePather: fakePather{fakeName{"failing"}, systemdMount}}
	failing.create = func(p string, _ *specs.LinuxResources) error {
		if _, err := mkdirAllAbs(failing.Path(p)); err != nil {
			return err
		}
		return boom
	}
	_, err = New(hierarchyOf(append(real, failing)...), StaticPath(name+"/a/b"), nil)
	if !errors.Is(err, boom) {
		t.Fatalf("New: %v, want boom", err)
	}
	for _, s := range append(real, Subsystem(failing)) {
		top := s.(pather).Path(name)
		_, statErr := os.Stat(top)
		if s.Name() == Memory {
			if statErr != nil {
				t.Errorf("memory: the pre-existing %s was removed: %v", top, statErr)
			}
			if _, err := os.Stat(top + "/a"); !os.IsNotExist(err) {
				t.Errorf("memory: %s/a left behind: %v", top, err)
			}
			continue
		}
		if !os.IsNotExist(statErr) {
			t.Errorf("%s: %s left behind: %v", s.Name(), top, statErr)
		}
	}
}

func TestLifecycleLoadReal(t *testing.T) {
	requireRoot(t)
	name := "/" + testName(t)
	t.Cleanup(func() { cleanupCgroup(t, V1, name) })
	dirs := []string{NewMemory("/sys/fs/cgroup").Path(name), NewPids("/sys/fs/cgroup").Path(name)}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cg, err := Load(V1, StaticPath(name))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range cg.Subsystems() {
		got = append(got, string(s.Name()))
	}
	if strings.Join(got, ",") != "memory,pids" {
		t.Errorf("Load kept %v, want memory,pids", got)
	}
	for _, d := range dirs {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(V1, StaticPath(name)); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load with no directory left: %v, want ErrCgroupDeleted", err)
	}
	if st := cg.State(); st != Deleted {
		t.Errorf("State of a cgroup removed behind its back = %q", st)
	}

	// PidPath of a process that has exited.
	cmd := startProcess(t)
	pid := cmd.Process.Pid
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := Load(V1, PidPath(pid)); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load(PidPath(dead)): %v, want ErrCgroupDeleted", err)
	}
}

func TestLifecycleDeleteTreeReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	if _, err := cg.New("x/a/b", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cg.New("y", nil); err != nil {
		t.Fatal(err)
	}
	subs := cg.Subsystems()
	for _, s := range subs {
		if _, err := os.Stat(s.(pather).Path(path + "/x/a/b")); err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
	}
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if _, err := os.Stat(s.(pather).Path(path)); !os.IsNotExist(err) {
			t.Errorf("%s: %s left: %v", s.Name(), s.(pather).Path(path), err)
		}
	}
	if st := cg.State(); st != Deleted {
		t.Errorf("State = %q", st)
	}
	if err := cg.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if err := cg.Add(Process{Pid: 1}); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Add after Delete: %v", err)
	}
	if _, err := cg.Stat(); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Stat after Delete: %v", err)
	}
	if _, err := cg.New("z", nil); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("New after Delete: %v", err)
	}
}

// TestLifecycleDeleteBusyReal: Delete of a cgroup that holds a process fails at once, naming the
// path, EBUSY and the processes, and succeeds once the process is gone.
func TestLifecycleDeleteBusyReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	child, err := cg.New("busy", nil)
	if err != nil {
		t.Fatal(err)
	}
	fixCpuset(t, path, path+"/busy")
	cmd := startProcess(t)
	if err := child.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = cg.Delete()
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Delete of a cgroup with a live process succeeded")
	}
	if elapsed > 500*time.Millisecond {
		t.Errorf("Delete took %v to fail", elapsed)
	}
	msg := err.Error()
	for _, want := range []string{NewMemory("/sys/fs/cgroup").Path(path + "/busy"), "(EBUSY)", "contains 1 process"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, unix.EBUSY) {
		t.Error("error is not EBUSY")
	}
	if st := cg.State(); st == Deleted {
		t.Error("State = deleted after a failed Delete")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := cg.Delete(); err != nil {
		t.Fatalf("Delete after the process exited: %v", err)
	}
	t.Logf("busy Delete failed in %v", elapsed)
}

func TestLifecycleProcessesReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	child, err := cg.New("c1", nil)
	if err != nil {
		t.Fatal(err)
	}
	fixCpuset(t, path, path+"/c1")
	cmd := startProcess(t, "threads", "3")
	pid := cmd.Process.Pid
	if err := child.Add(Process{Pid: pid}); err != nil {
		t.Fatal(err)
	}
	waitThreads(t, pid, 4)
	for _, s := range cg.Subsystems() {
		want := s.(pather).Path(path + "/c1")
		procs, err := cg.Processes(s.Name(), true)
		if err != nil || len(procs) != 1 || procs[0].Pid != pid || procs[0].Path != want || procs[0].Subsystem != s.Name() {
			t.Errorf("%s: Processes(recursive) = %+v, %v; want pid %d at %s", s.Name(), procs, err, pid, want)
		}
		if procs, err := cg.Processes(s.Name(), false); err != nil || len(procs) != 0 {
			t.Errorf("%s: Processes(not recursive) = %+v, %v", s.Name(), procs, err)
		}
		tasks, err := cg.Tasks(s.Name(), true)
		seen := map[int]bool{}
		for _, tk := range tasks {
			seen[tk.Pid] = true
			if strings.HasSuffix(tk.Path, "/") {
				t.Errorf("trailing slash in %q", tk.Path)
			}
		}
		if err != nil || len(seen) < 4 || len(seen) != len(tasks) || !seen[pid] {
			t.Errorf("%s: Tasks = %d (%d distinct), %v", s.Name(), len(tasks), len(seen), err)
		}
	}
	if _, err := cg.Processes(Name("no-such-controller"), true); err == nil {
		t.Error("Processes of a controller the cgroup is not in succeeded")
	}
}

func waitThreads(t *testing.T, pid, n int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if len(ents) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("process %d never had %d threads", pid, n)
}

// TestLifecycleListProcessesVanished: a child that disappears between readdir and read is skipped;
// the cgroup itself missing is an error.
func TestLifecycleListProcessesVanished(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{
		"cg/cgroup.procs":     "1\n",
		"cg/a/cgroup.procs":   "2\n",
		"cg/a/b/cgroup.procs": "3\n",
		"cg/c/d/cgroup.procs": "4\n", // c has no cgroup.procs: it "vanished" after readdir
	})
	procs, err := listProcesses(filepath.Join(dir, "cg"), Pids, cgroupProcs, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, p := range procs {
		got[p.Pid] = p.Path
	}
	want := map[int]string{1: dir + "/cg", 2: dir + "/cg/a", 3: dir + "/cg/a/b"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := listProcesses(filepath.Join(dir, "gone"), Pids, cgroupProcs, true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: %v", err)
	}
}

// countingCgroup is a destination that counts Add calls per pid.
type countingCgroup struct {
	Cgroup
	adds map[int]int
}

func (c *countingCgroup) Add(p Process, _ ...Name) error { c.adds[p.Pid]++; return nil }

// TestLifecycleMoveToOnce: MoveTo adds each process once, however many controllers list it.
func TestLifecycleMoveToOnce(t *testing.T) {
	files := map[string]string{}
	var subs []Subsystem
	for _, n := range []string{"a", "b", "c"} {
		files[n+"/src/cgroup.procs"] = "10\n11\n"
		files[n+"/src/child/cgroup.procs"] = "12\n"
	}
	dir := fixtureRoot(t, files)
	for _, n := range []string{"a", "b", "c"} {
		subs = append(subs, &fakePather{fakeName{Name(n)}, filepath.Join(dir, n)})
	}
	src, err := Load(hierarchyOf(subs...), StaticPath("/src"))
	if err != nil {
		t.Fatal(err)
	}
	dst := &countingCgroup{adds: map[int]int{}}
	if err := src.MoveTo(dst); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dst.adds) != "map[10:1 11:1 12:1]" {
		t.Errorf("Add calls per pid: %v", dst.adds)
	}
}

func TestLifecycleMoveToReal(t *testing.T) {
	src, srcPath := newTestCgroup(t, nil)
	dst, dstPath := newTestCgroup(t, nil)
	if _, err := src.New("child", nil); err != nil {
		t.Fatal(err)
	}
	fixCpuset(t, srcPath, srcPath+"/child", dstPath)
	childCg, err := Load(V1, StaticPath(srcPath+"/child"))
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := startProcess(t), startProcess(t)
	if err := src.Add(Process{Pid: p1.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if err := childCg.Add(Process{Pid: p2.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if err := src.MoveTo(dst); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{p1.Process.Pid, p2.Process.Pid} {
		paths, err := ParseCgroupFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range dst.Subsystems() {
			key := string(s.Name())
			if key == "systemd" {
				key = "name=systemd"
			}
			if paths[key] != dstPath {
				t.Errorf("pid %d in %s: %q, want %q", pid, key, paths[key], dstPath)
			}
		}
	}
}

// inotifyCounter counts the writes (IN_CLOSE_WRITE) to files.
func inotifyCounter(t *testing.T, files ...string) func() map[string]int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	wds := map[int32]string{}
	for _, f := range files {
		wd, err := unix.InotifyAddWatch(fd, f, unix.IN_CLOSE_WRITE)
		if err != nil {
			t.Fatal(err)
		}
		wds[int32(wd)] = f
	}
	return func() map[string]int {
		counts := map[string]int{}
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil || n <= 0 {
				return counts
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				wd := int32(buf[off]) | int32(buf[off+1])<<8 | int32(buf[off+2])<<16 | int32(buf[off+3])<<24
				l := int(buf[off+12]) | int(buf[off+13])<<8 | int(buf[off+14])<<16 | int(buf[off+15])<<24
				counts[wds[wd]]++
				off += unix.SizeofInotifyEvent + l
			}
		}
	}
}

// TestLifecycleAddFilterDedupe: Add writes once per directory (co-mounted controllers share one)
// and only to the named controllers.
func TestLifecycleAddFilterDedupe(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{
		"cpu,cpuacct/x/cgroup.procs": "", "memory/x/cgroup.procs": "", "pids/x/cgroup.procs": "", "pids/x/tasks": "",
	})
	co := filepath.Join(dir, "cpu,cpuacct")
	subs := []Subsystem{
		&fakePather{fakeName{Cpu}, co}, &fakePather{fakeName{Cpuacct}, co},
		&fakePather{fakeName{Memory}, filepath.Join(dir, "memory")}, &fakePather{fakeName{Pids}, filepath.Join(dir, "pids")},
		&fakeName{"nopath"},
	}
	cg, err := Load(hierarchyOf(subs...), StaticPath("/x"))
	if err != nil {
		t.Fatal(err)
	}
	coFile, memFile, pidsFile := co+"/x/cgroup.procs", dir+"/memory/x/cgroup.procs", dir+"/pids/x/cgroup.procs"
	count := inotifyCounter(t, coFile, memFile, pidsFile, dir+"/pids/x/tasks")
	if err := cg.Add(Process{Pid: 4242}); err != nil {
		t.Fatal(err)
	}
	if got := count(); got[coFile] != 1 || got[memFile] != 1 || got[pidsFile] != 1 {
		t.Errorf("writes after Add: %v, want one per directory", got)
	}
	if err := cg.Add(Process{Pid: 4243}, Memory); err != nil {
		t.Fatal(err)
	}
	if got := count(); len(got) != 1 || got[memFile] != 1 {
		t.Errorf("writes after Add(memory): %v", got)
	}
	if readTestFile(t, memFile) != "4243" {
		t.Errorf("memory cgroup.procs = %q", readTestFile(t, memFile))
	}
	if err := cg.AddTask(Process{Pid: 7}, Pids); err != nil {
		t.Fatal(err)
	}
	if got := count(); len(got) != 1 || got[dir+"/pids/x/tasks"] != 1 {
		t.Errorf("writes after AddTask(pids): %v", got)
	}
	for _, p := range []Process{{Pid: 0}, {Pid: -1}} {
		if err := cg.Add(p); !errors.Is(err, ErrInvalidPid) {
			t.Errorf("Add(%d): %v", p.Pid, err)
		}
	}
	if err := cg.AddProc(1 << 40); !errors.Is(err, ErrInvalidPid) {
		t.Errorf("AddProc(huge): %v", err)
	}
}

// TestLifecycleAddEINVALBounded: the kernel refuses a SCHED_FIFO task in a cpu cgroup with no RT
// runtime (EINVAL, kernel-probe.md §2.2); Add retries EINVAL a bounded number of times and says so.
func TestLifecycleAddEINVALBounded(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	cpu := NewCpu("/sys/fs/cgroup")
	if _, err := os.Stat(cpu.Path(path) + "/cpu.rt_runtime_us"); err != nil {
		t.Skipf("no RT group scheduling in this kernel (CONFIG_RT_GROUP_SCHED): %v", err)
	}
	if readTestFile(t, cpu.Path(path)+"/cpu.rt_runtime_us") != "0" {
		t.Skip("cpu.rt_runtime_us is not 0 in a new cgroup")
	}
	cmd := startProcess(t)
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 1 /* SCHED_FIFO */, Priority: 1}
	if err := unix.SchedSetAttr(cmd.Process.Pid, &attr, 0); err != nil {
		t.Skipf("cannot make the helper SCHED_FIFO: %v", err)
	}
	start := time.Now()
	err := cg.Add(Process{Pid: cmd.Process.Pid}, Cpu)
	elapsed := time.Since(start)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Add of an RT task: %v, want EINVAL", err)
	}
	if elapsed < 50*time.Millisecond || elapsed > time.Second {
		t.Errorf("EINVAL retries took %v: want a few, bounded", elapsed)
	}
	if !strings.Contains(err.Error(), cpu.Path(path)+"/cgroup.procs") || !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error does not name the file and pid: %v", err)
	}
	t.Logf("bounded EINVAL retry: %v", elapsed)
}

// TestLifecycleStatHandlers: handlers are a chain, IgnoreNotExist sees through wrapping, many
// failing controllers and handlers never block, and the metrics that were read are kept.
func TestLifecycleStatHandlers(t *testing.T) {
	notExist := fmt.Errorf("memory: %w", &FileError{Op: "open", Path: "/x/memory.memsw.usage_in_bytes", Err: unix.ENOENT})
	other := errors.New("other")
	pids := &fakeStater{fakeName{Pids}, func(_ string, m *Metrics) error { m.Pids = &PidsStat{Current: 7}; return nil }}
	mem := &fakeStater{fakeName{Memory}, func(string, *Metrics) error { return notExist }}
	bad := &fakeStater{fakeName{Blkio}, func(string, *Metrics) error { return other }}

	cg, err := New(hierarchyOf(pids, mem), StaticPath("/x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cg.Stat(IgnoreNotExist)
	if err != nil || m.Pids == nil || m.Pids.Current != 7 {
		t.Errorf("Stat(IgnoreNotExist) = %+v, %v", m.Pids, err)
	}
	if _, err := cg.Stat(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat() without handlers: %v", err)
	}
	// Chain: h1 turns the error into another; h2 sees h1's result.
	var seen error
	h1 := func(error) error { return other }
	h2 := func(err error) error { seen = err; return err }
	if _, err := cg.Stat(h1, h2); !errors.Is(err, other) || seen != other {
		t.Errorf("chain: Stat = %v, h2 saw %v", err, seen)
	}
	// IgnoreNotExist after a handler that passes the error on.
	if _, err := cg.Stat(errPassthrough, IgnoreNotExist); err != nil {
		t.Errorf("passthrough then IgnoreNotExist: %v", err)
	}

	// The metrics of the controllers that succeeded come back with the error.
	cg2, _ := New(hierarchyOf(pids, bad), StaticPath("/x"), nil)
	m, err = cg2.Stat(IgnoreNotExist)
	if !errors.Is(err, other) || m == nil || m.Pids == nil || m.Pids.Current != 7 || !strings.Contains(err.Error(), "blkio") {
		t.Errorf("partial Stat = %+v, %v", m, err)
	}

	// Many failing controllers times many handlers (containerd's buffered-channel deadlock).
	var many []Subsystem
	for i := 0; i < 30; i++ {
		many = append(many, &fakeStater{fakeName{Name(fmt.Sprint("s", i))}, func(string, *Metrics) error { return other }})
	}
	var handlers []ErrorHandler
	for i := 0; i < 20; i++ {
		handlers = append(handlers, errPassthrough)
	}
	cg3, _ := New(hierarchyOf(many...), StaticPath("/x"), nil)
	done := make(chan error, 1)
	go func() { _, err := cg3.Stat(handlers...); done <- err }()
	select {
	case err := <-done:
		if n := strings.Count(err.Error(), "other"); n != 30 {
			t.Errorf("%d errors reported, want 30", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stat with many failing controllers and handlers did not return")
	}
}

// TestLifecycleMissingCapabilities: subsystems named like the real ones but with only Name() make
// every operation either skip them or say it is not supported, never panic.
func TestLifecycleMissingCapabilities(t *testing.T) {
	cg, err := New(hierarchyOf(&fakeName{Freezer}, &fakeName{Memory}, &fakeName{"systemd"}), StaticPath("/x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cg.Freeze(); !errors.Is(err, ErrFreezerNotSupported) {
		t.Errorf("Freeze: %v", err)
	}
	if err := cg.Thaw(); !errors.Is(err, ErrFreezerNotSupported) {
		t.Errorf("Thaw: %v", err)
	}
	if _, err := cg.OOMEventFD(); !errors.Is(err, ErrMemoryNotSupported) {
		t.Errorf("OOMEventFD: %v", err)
	}
	if _, err := cg.Processes(Freezer, true); err == nil {
		t.Error("Processes without a path succeeded")
	}
	if st := cg.State(); st != Thawed {
		t.Errorf("State = %q", st)
	}
	if _, err := cg.Stat(); err != nil {
		t.Errorf("Stat: %v", err)
	}
	if err := cg.Update(&specs.LinuxResources{}); err != nil {
		t.Errorf("Update: %v", err)
	}
	if err := cg.Add(Process{Pid: 1}); err != nil {
		t.Errorf("Add (nothing to write): %v", err)
	}
	if err := cg.MoveTo(&countingCgroup{adds: map[int]int{}}); err != nil {
		t.Errorf("MoveTo: %v", err)
	}
	if err := cg.Delete(); err != nil {
		t.Errorf("Delete: %v", err)
	}
}
