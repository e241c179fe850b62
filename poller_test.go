package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pollerFixture is a pids hierarchy on a plain directory with one cgroup /a, loaded as a Cgroup.
func pollerFixture(t *testing.T) (string, Cgroup) {
	t.Helper()
	root := fixtureRoot(t, map[string]string{
		"pids/a/pids.current": "1\n",
		"pids/a/pids.max":     "max\n",
		"pids/a/pids.events":  "max 0\n",
	})
	mount := filepath.Join(root, "pids")
	cg, err := Load(func() ([]Subsystem, error) { return []Subsystem{newPids(mount)}, nil }, StaticPath("/a"))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(mount, "a"), cg
}

func writeFixture(t *testing.T, path, content string) {
	t.Helper()
	// os.WriteFile truncates the same inode, so a kept fd sees the new content.
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPollerFixtureFreshAndMissing: kept files give new values on every Stat; a file missing at
// first is looked for again only at the recheck poll; Close releases every fd and ends Stat.
func TestPollerFixtureFreshAndMissing(t *testing.T) {
	dir, cg := pollerFixture(t)
	p, err := NewStatPoller(cg)
	if err != nil {
		t.Fatal(err)
	}
	fds := openFDs(t) // NewStatPoller opens nothing
	p.recheck = 3
	stat := func(wantCurrent, wantPeak uint64) {
		t.Helper()
		m, err := p.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if m.Pids.Current != wantCurrent || m.Pids.Peak != wantPeak {
			t.Fatalf("poll %d: current %d peak %d, want %d and %d", p.polls, m.Pids.Current, m.Pids.Peak,
				wantCurrent, wantPeak)
		}
	}
	stat(1, 0) // poll 1: pids.peak missing, looked for again at poll 4
	if n := p.openFiles(); n != 4 {
		t.Errorf("%d fds kept after the first Stat, want 4 (directory, current, max, events)", n)
	}
	if n := openFDs(t); n != fds+4 {
		t.Errorf("process has %d fds, want %d", n, fds+4)
	}
	writeFixture(t, filepath.Join(dir, "pids.current"), "5\n")
	writeFixture(t, filepath.Join(dir, "pids.peak"), "9\n")
	stat(5, 0) // poll 2: fresh current, peak still remembered as missing
	writeFixture(t, filepath.Join(dir, "pids.current"), "12\n")
	stat(12, 0) // poll 3
	stat(12, 9) // poll 4: recheck finds pids.peak
	if n := p.openFiles(); n != 5 {
		t.Errorf("%d fds kept, want 5", n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("process has %d fds after Close, want %d", n, fds)
	}
	if _, err := p.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Stat after Close: %v, want os.ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestPollerFixtureMissingDir: a cgroup directory missing from a hierarchy reads as missing
// (IgnoreNotExist drops it) and is looked for again at the recheck.
func TestPollerFixtureMissingDir(t *testing.T) {
	dir, cg := pollerFixture(t)
	p, err := NewStatPoller(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.recheck = 2
	tmp := dir + ".away"
	if err := os.Rename(dir, tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stat(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat without the directory: %v, want os.ErrNotExist", err)
	}
	if m, err := p.Stat(IgnoreNotExist); err != nil || m.Pids != nil {
		t.Fatalf("Stat(IgnoreNotExist) without the directory: %v, %+v", err, m.Pids)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	m, err := p.Stat() // poll 3: the recheck
	if err != nil || m.Pids == nil || m.Pids.Current != 1 {
		t.Fatalf("Stat once the directory is back: %v, %+v", err, m)
	}
}

// TestPollerFixtureOtherPaths: a read of another cgroup's file through a poll root is not kept.
func TestPollerFixtureOtherPaths(t *testing.T) {
	_, cg := pollerFixture(t)
	p, err := NewStatPoller(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d := p.dirs[0]
	if _, err := d.readFile("/", "pids.max", nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root read: %v, want the fixture root's missing file", err)
	}
	if _, err := d.readFile("/a/../..", "pids.max", nil); !errors.Is(err, ErrInvalidPath) {
		t.Errorf(`read of "/a/../..": %v, want ErrInvalidPath`, err)
	}
	if len(d.files) != 0 {
		t.Errorf("reads outside the cgroup were kept: %d entries", len(d.files))
	}
}

// TestPollerNotOurCgroup: a Cgroup of another implementation is refused with a clear error.
func TestPollerNotOurCgroup(t *testing.T) {
	_, err := NewStatPoller(struct{ Cgroup }{})
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "NewStatPoller") {
		t.Errorf("NewStatPoller(foreign Cgroup): %v", err)
	}
}

// TestPollerClonesEveryStater: every controller of V1 that has a Stat gets a poll copy (so adding
// a controller with a Stat but without withFS fails here), and the copy keeps the options.
func TestPollerClonesEveryStater(t *testing.T) {
	mountDir := t.TempDir()
	p := &StatPoller{recheck: pollRecheckMissing}
	for _, c := range v1Controllers {
		if err := os.MkdirAll(filepath.Join(mountDir, c.name), 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := c.build(filepath.Join(mountDir, c.name))
		if c.name == "hugetlb" && err != nil {
			s, err = newHugetlbSysfs(filepath.Join(mountDir, c.name), t.TempDir())
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, ok := s.(stater); !ok {
			continue
		}
		clone, d, err := pollClone(s, "/x", p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d == nil || clone == s || reflect.TypeOf(clone) != reflect.TypeOf(s) {
			t.Errorf("%s: no poll copy (%T, pollDir %v)", c.name, clone, d)
			continue
		}
		fs := reflect.ValueOf(clone).Elem().FieldByName("mountedAt").FieldByName("fs")
		if fs.Pointer() == reflect.ValueOf(s).Elem().FieldByName("mountedAt").FieldByName("fs").Pointer() {
			t.Errorf("%s: the copy shares the hierarchy root", c.name)
		}
		if clone.(pather).Path("/x") != s.(pather).Path("/x") {
			t.Errorf("%s: the copy has another mount", c.name)
		}
	}
	mem := NewMemory(mountDir, IgnoreModules("kmem"))
	clone, _, err := pollClone(mem, "/x", p)
	if err != nil {
		t.Fatal(err)
	}
	if clone.(*memoryController).ignored != mem.ignored {
		t.Error("memory copy lost IgnoreModules")
	}
	blk := NewBlkio(mountDir, ProcRoot("/elsewhere"))
	if clone, _, _ := pollClone(blk, "/x", p); clone.(*blkioController).procRoot != "/elsewhere" {
		t.Error("blkio copy lost ProcRoot")
	}
}

// TestPollerPreadAllLarge: a file longer than the buffer and than shortReadEOF is read whole.
func TestPollerPreadAllLarge(t *testing.T) {
	want := strings.Repeat("0123456789abcde\n", 1000) // 16000 bytes
	dir := fixtureRoot(t, map[string]string{"f": want})
	fd, err := unix.Open(filepath.Join(dir, "f"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, c := range []int{0, 100, 4096, 64 << 10} {
		for i := 0; i < 2; i++ { // twice: the second pread starts at 0 again
			got, err := readAll(fd, make([]byte, 0, c))
			if err != nil || string(got) != want {
				t.Fatalf("buffer %d, pass %d: %d bytes, %v", c, i, len(got), err)
			}
		}
	}
}

// pollerReal creates a real test cgroup (cpuset filled so processes can join) and its poller.
func pollerReal(t *testing.T) (Cgroup, string, *StatPoller) {
	t.Helper()
	cg, path := newTestCgroup(t, nil)
	fixCpuset(t, path)
	p, err := NewStatPoller(cg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return cg, path, p
}

// TestPollerRealValuesChange: the kept fds give fresh values: pids.current grows as helpers join,
// memory usage grows while a helper allocates inside the cgroup.
func TestPollerRealValuesChange(t *testing.T) {
	cg, _, p := pollerReal(t)
	m, err := p.Stat(IgnoreNotExist)
	if err != nil {
		t.Fatal(err)
	}
	if m.Pids.Current != 0 {
		t.Fatalf("empty cgroup: pids.current %d", m.Pids.Current)
	}
	kept := p.openFiles()
	var last uint64
	for i := 0; i < 2; i++ {
		if err := cg.Add(Process{Pid: startProcess(t).Process.Pid}); err != nil {
			t.Fatal(err)
		}
		if m, err = p.Stat(IgnoreNotExist); err != nil {
			t.Fatal(err)
		}
		if m.Pids.Current <= last {
			t.Fatalf("helper %d joined: pids.current %d, was %d", i+1, m.Pids.Current, last)
		}
		last = m.Pids.Current
	}

	cmd := startProcess(t, "alloc", "40", "20") // 1 MiB per 20 ms, mostly after it joined
	if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if m, err = p.Stat(IgnoreNotExist); err != nil {
		t.Fatal(err)
	}
	first := m.Memory.Usage.Usage
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m, err = p.Stat(IgnoreNotExist); err != nil {
			t.Fatal(err)
		}
		if m.Memory.Usage.Usage >= first+16<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory usage stayed at %d from %d while the helper allocated", m.Memory.Usage.Usage, first)
		}
	}
	if m.Memory.Usage.Max < m.Memory.Usage.Usage || m.Memory.RSS == 0 {
		t.Errorf("memory entries not fresh: %+v, rss %d", m.Memory.Usage, m.Memory.RSS)
	}
	if n := p.openFiles(); n != kept {
		t.Errorf("%d fds after the polls, %d after the first: files are reopened", n, kept)
	}
	t.Logf("%d fds kept; memory usage %d -> %d", kept, first, m.Memory.Usage.Usage)
}

// TestPollerRealMatchesStat: on an idle cgroup the poller's Metrics equal Cgroup.Stat's, polled
// twice (the second time from kept fds), and the poller allocates no more than Cgroup.Stat.
func TestPollerRealMatchesStat(t *testing.T) {
	cg, _, p := pollerReal(t)
	for i := 0; i < 2; i++ {
		want, werr := cg.Stat(IgnoreNotExist)
		got, gerr := p.Stat(IgnoreNotExist)
		if werr != nil || gerr != nil {
			t.Fatalf("Stat: %v; poller: %v", werr, gerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("poll %d differs:\npoller %+v\nStat   %+v", i+1, got, want)
		}
	}
	statAllocs := testing.AllocsPerRun(50, func() { cg.Stat(IgnoreNotExist) })
	pollAllocs := testing.AllocsPerRun(50, func() { p.Stat(IgnoreNotExist) })
	if pollAllocs > statAllocs {
		t.Errorf("poller allocates %.0f per Stat, Cgroup.Stat %.0f", pollAllocs, statAllocs)
	}
	t.Logf("allocations per Stat: Cgroup.Stat %.0f, poller %.0f", statAllocs, pollAllocs)
}

// TestPollerRealEmptySeqFile: a kept seq_file that once read empty would read empty for ever (the
// kernel's record index is past the end at position 0); the poller opens such a file afresh.
func TestPollerRealEmptySeqFile(t *testing.T) {
	cg, path, p := pollerReal(t)
	var d *pollDir
	for _, x := range p.dirs {
		if x.base.path == NewPids("/sys/fs/cgroup").Path("/") {
			d = x
		}
	}
	if d == nil {
		t.Skip("no pids hierarchy")
	}
	p.mu.Lock() // pollDir's guard, as in Stat
	defer p.mu.Unlock()
	data, err := d.readFile(path, cgroupProcs, nil)
	if err != nil || len(data) != 0 {
		t.Fatalf("empty cgroup.procs: %q, %v", data, err)
	}
	pid := startProcess(t).Process.Pid
	if err := cg.Add(Process{Pid: pid}); err != nil {
		t.Fatal(err)
	}
	data, err = d.readFile(path, cgroupProcs, nil)
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(pid) {
		t.Fatalf("cgroup.procs after adding %d: %q, %v", pid, data, err)
	}
	if d.files[cgroupProcs].fd < 0 {
		t.Error("a non-empty file was not kept")
	}
	data, err = d.readFile(path, cgroupProcs, nil) // now from the kept fd
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(pid) {
		t.Fatalf("cgroup.procs from the kept fd: %q, %v", data, err)
	}
}

// TestPollerRealRemoved: once the cgroup is removed behind the Cgroup's back, Stat reports
// missing files (IgnoreNotExist drops them) and holds no fd any more; a cgroup made again under
// the same name is not picked up; Close brings the fd count back.
func TestPollerRealRemoved(t *testing.T) {
	_, path, p := pollerReal(t)
	fds := openFDs(t) // NewStatPoller opens nothing
	p.recheck = 1
	if _, err := p.Stat(); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	kept := p.openFiles()
	if n := openFDs(t); n != fds+kept || kept < 10 {
		t.Fatalf("%d fds kept, process has %d, had %d", kept, n, fds)
	}
	cleanupCgroup(t, V1, path) // rmdir in every hierarchy; the kept fds now give ENODEV
	_, err := p.Stat()
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat of the removed cgroup: %v, want os.ErrNotExist", err)
	}
	if !errors.Is(err, unix.ENODEV) {
		t.Errorf("Stat of the removed cgroup: %v, want it to say ENODEV", err)
	}
	if m, err := p.Stat(IgnoreNotExist); err != nil || m.Memory != nil || m.Pids != nil {
		t.Errorf("Stat(IgnoreNotExist) of the removed cgroup: %v, %+v", err, m)
	}
	if n := p.openFiles(); n != 0 {
		t.Errorf("%d fds still kept for the removed cgroup", n)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("process has %d fds, had %d before the poller", n, fds)
	}
	if _, err := New(V1, StaticPath(path), nil); err != nil { // removed at the end by newTestCgroup
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if m, err := p.Stat(IgnoreNotExist); err != nil || m.Pids != nil {
			t.Fatalf("the poller followed the name to the new cgroup: %v, %+v", err, m.Pids)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("process has %d fds after Close, had %d", n, fds)
	}
}

// TestPollerRealDeleted: after Cgroup.Delete (which succeeds with the files held open) the
// poller answers ErrCgroupDeleted as Cgroup.Stat does, and lets go of its fds.
func TestPollerRealDeleted(t *testing.T) {
	cg, _, p := pollerReal(t)
	if _, err := p.Stat(IgnoreNotExist); err != nil {
		t.Fatal(err)
	}
	if err := cg.Delete(); err != nil {
		t.Fatalf("Delete with the poller's fds open: %v", err)
	}
	if _, err := p.Stat(IgnoreNotExist); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Stat after Delete: %v, want ErrCgroupDeleted", err)
	}
	if n := p.openFiles(); n != 0 {
		t.Errorf("%d fds kept after Delete", n)
	}
	if _, err := NewStatPoller(cg); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("NewStatPoller of a deleted cgroup: %v", err)
	}
}

// TestPollerRealConcurrent (for -race): pollers of two cgroups, Stats of one poller from several
// goroutines, Cgroup.Stat beside them, and a Close in the middle; every fd is back at the end.
func TestPollerRealConcurrent(t *testing.T) {
	cgA, _, pa := pollerReal(t)
	_, _, pb := pollerReal(t)
	if err := cgA.Add(Process{Pid: startProcess(t).Process.Pid}); err != nil {
		t.Fatal(err)
	}
	fds := openFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, p := range []*StatPoller{pa, pa, pb, pb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				m, err := p.Stat(IgnoreNotExist)
				if errors.Is(err, os.ErrClosed) {
					return
				}
				if err != nil || m.Memory == nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			if _, err := cgA.Stat(IgnoreNotExist); err != nil {
				errs <- err
			}
		}
	}()
	time.Sleep(5 * time.Millisecond)
	if err := pb.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Stat: %v", err)
	}
	if err := pa.Close(); err != nil {
		t.Error(err)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("process has %d fds, had %d", n, fds)
	}
}

// TestPollerRealCloexec: the kept file and directory fds are close-on-exec.
func TestPollerRealCloexec(t *testing.T) {
	_, _, p := pollerReal(t)
	if _, err := p.Stat(IgnoreNotExist); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, d := range p.dirs {
		fds := []int{d.dir.fd}
		for _, f := range d.files {
			if f.fd >= 0 {
				fds = append(fds, f.fd)
			}
		}
		for _, fd := range fds {
			if fdFlags(t, fd)&unix.O_CLOEXEC == 0 {
				t.Errorf("fd %d of %s: no O_CLOEXEC", fd, d.dir.path)
			}
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d fds checked", n)
	}
}

// TestPollerFixtureSymlink: a control file that is a symlink out of the cgroup directory is not
// followed, with openat2 and with the fallback.
func TestPollerFixtureSymlink(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	writeFixture(t, outside, "42\n")
	for _, fallback := range []bool{false, true} {
		t.Run(strconv.FormatBool(fallback), func(t *testing.T) {
			if fallback {
				setOpenat2Missing(t)
			}
			dir, cg := pollerFixture(t)
			if err := os.Remove(filepath.Join(dir, "pids.current")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "pids.current")); err != nil {
				t.Fatal(err)
			}
			p, err := NewStatPoller(cg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			m, err := p.Stat()
			if err == nil {
				t.Fatalf("Stat through a symlinked pids.current succeeded: %+v", m.Pids)
			}
			if n := p.openFiles(); n != 1 {
				t.Errorf("%d fds kept, want only the directory's", n)
			}
		})
	}
}

// TestPollerRealFallback: without openat2 the poller reads the same Metrics as Cgroup.Stat, from
// close-on-exec fds.
func TestPollerRealFallback(t *testing.T) {
	setOpenat2Missing(t)
	cg, _, p := pollerReal(t)
	for i := 0; i < 2; i++ {
		want, werr := cg.Stat(IgnoreNotExist)
		got, gerr := p.Stat(IgnoreNotExist)
		if werr != nil || gerr != nil {
			t.Fatalf("Stat: %v; poller: %v", werr, gerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("poll %d differs:\npoller %+v\nStat   %+v", i+1, got, want)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.dirs {
		for name, f := range d.files {
			if f.fd >= 0 && fdFlags(t, f.fd)&unix.O_CLOEXEC == 0 {
				t.Errorf("%s/%s: no O_CLOEXEC", d.dir.path, name)
			}
		}
	}
}
