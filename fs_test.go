package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFSRelPath(t *testing.T) {
	good := []struct{ path, file, want string }{
		{"/", "", "."},
		{"", "", "."},
		{"/a/b", "", "a/b"},
		{"a/b/", "", "a/b"},
		{"//a//b", "memory.stat", "a/b/memory.stat"},
		{"/", "cgroup.procs", "cgroup.procs"},
		{"/a/./b", "tasks", "a/b/tasks"},
		{"/a..b/..c", "x", "a..b/..c/x"}, // dots inside a name are a name
	}
	for _, c := range good {
		got, err := relPath(c.path, c.file)
		if err != nil || got != c.want {
			t.Errorf("relPath(%q, %q) = %q, %v; want %q", c.path, c.file, got, err, c.want)
		}
	}
	bad := []struct{ path, file string }{
		{"..", ""},
		{"/a/../../etc", ""},
		{"/a/..", ""},
		{"../x", "tasks"},
		{"/a\x00b", ""},
		{"/a\nb", ""},
		{"/a", "../tasks"},
		{"/a", "b/tasks"},
		{"/a", ".."},
		{"/a", "."},
		{"/a", "x\x00"},
		{"/a", "x\ny"},
	}
	for _, c := range bad {
		_, err := relPath(c.path, c.file)
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("relPath(%q, %q): %v, want ErrInvalidPath", c.path, c.file, err)
		}
	}
}

// TestFSSymlinkEscape: a symlink inside a plain-directory root that points outside must not be
// followed out of the root, for reads, writes and mkdir.
func TestFSSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "memory.limit_in_bytes"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := fixtureRoot(t, map[string]string{"cg/memory.limit_in_bytes": "1"})
	for name, target := range map[string]string{
		"evil":        outside,                                         // absolute, to a directory
		"evilrel":     "../../" + filepath.Base(outside),               // relative, climbing out
		"cg/evilfile": filepath.Join(outside, "memory.limit_in_bytes"), // a file
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			if fallback {
				setOpenat2Missing(t)
			}
			r := rootFor(dir)
			for _, c := range []struct{ path, file string }{
				{"/evil", "memory.limit_in_bytes"},
				{"/cg", "evilfile"},
			} {
				if err := r.writeFile(c.path, c.file, "42"); err == nil {
					t.Errorf("writeFile(%s, %s) through a symlink succeeded", c.path, c.file)
				}
				if data, err := r.readFile(c.path, c.file, nil); err == nil {
					t.Errorf("readFile(%s, %s) through a symlink read %q", c.path, c.file, data)
				}
			}
			if !fallback {
				// openat2 proper: the escape is refused with EXDEV whatever the target.
				err := r.writeFile("/evilrel", "memory.limit_in_bytes", "42")
				if !errors.Is(err, unix.EXDEV) || !strings.Contains(err.Error(), "(EXDEV)") {
					t.Errorf("relative escape: %v, want EXDEV", err)
				}
				if _, err := r.mkdirAll("/evil/sub"); err == nil {
					t.Error("mkdirAll through a symlink succeeded")
				}
				if _, err := os.Stat(filepath.Join(outside, "sub")); !os.IsNotExist(err) {
					t.Errorf("a directory was made outside the root: %v", err)
				}
			}
			if got := readTestFile(t, filepath.Join(outside, "memory.limit_in_bytes")); got != "orig" {
				t.Errorf("file outside the root was changed to %q", got)
			}
			// The real file inside the root still works.
			if err := r.writeFile("/cg", "memory.limit_in_bytes", "7"); err != nil {
				t.Fatal(err)
			}
			if got := readTestFile(t, filepath.Join(dir, "cg/memory.limit_in_bytes")); got != "7" {
				t.Errorf("in-root write gave %q", got)
			}
		})
	}
}

// setOpenat2Missing makes the file layer use its open+fstatfs fallback until the test ends.
func setOpenat2Missing(t *testing.T) {
	t.Helper()
	was := openat2Missing.Load()
	openat2Missing.Store(true)
	t.Cleanup(func() { openat2Missing.Store(was) })
}

// TestFSFallbackMagic: without openat2, a file on a filesystem of another kind than the root's
// (a mount inside the tree) is refused by its magic, before anything is truncated.
func TestFSFallbackMagic(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{"cg/tasks": "1\n"})
	setOpenat2Missing(t)
	// A root whose recorded magic differs from the file's: the check alone.
	forged := &fsRoot{path: dir, fd: -1}
	if err := forged.init(); err != nil {
		t.Fatal(err)
	}
	forged.magic++
	if err := forged.writeFile("/cg", "tasks", "5"); !errors.Is(err, ErrNotCgroupfs) {
		t.Errorf("write with a foreign magic: %v, want ErrNotCgroupfs", err)
	}
	if got := readTestFile(t, filepath.Join(dir, "cg/tasks")); got != "1" {
		t.Errorf("refused write truncated or changed the file: %q", got)
	}
	if _, err := forged.readFile("/cg", "tasks", nil); !errors.Is(err, ErrNotCgroupfs) {
		t.Errorf("read with a foreign magic: %v, want ErrNotCgroupfs", err)
	}

	// A real tmpfs mounted inside the tree, in a private mount namespace.
	if os.Geteuid() != 0 {
		return
	}
	inPrivateMountNS(t, func() {
		mnt := filepath.Join(dir, "cg", "other")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Error(err)
			return
		}
		// A filesystem of another type than the tree's (/tmp is itself a tmpfs in vmtest guests).
		fstype := "tmpfs"
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.TMPFS_MAGIC {
			fstype = "ramfs"
		}
		if err := unix.Mount("cgtest", mnt, fstype, 0, ""); err != nil {
			t.Errorf("mount %s: %v", fstype, err)
			return
		}
		if err := os.WriteFile(filepath.Join(mnt, "tasks"), []byte("9\n"), 0o644); err != nil {
			t.Error(err)
			return
		}
		r := &fsRoot{path: dir, fd: -1} // opened in this namespace, so it sees the mount
		if err := r.init(); err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(r.fd)
		if err := r.writeFile("/cg/other", "tasks", "5"); !errors.Is(err, ErrNotCgroupfs) {
			t.Errorf("write onto another fs: %v, want ErrNotCgroupfs", err)
		}
		if got := readTestFile(t, filepath.Join(mnt, "tasks")); got != "9" {
			t.Errorf("file on the other fs changed to %q", got)
		}
		if _, err := r.readFile("/cg", "tasks", nil); err != nil {
			t.Errorf("fallback read of a plain file in the root: %v", err)
		}
	})
}

func TestFSWriteOneLine(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{"cg/pids.max": "max"})
	r := rootFor(dir)
	for _, v := range []string{"1\n2", "1\n2\n", "\n5"} {
		err := r.writeFile("/cg", "pids.max", v)
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("writeFile(%q): %v, want ErrInvalidValue", v, err)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(v)) {
			t.Errorf("error %q does not name the value", err)
		}
	}
	if got := readTestFile(t, filepath.Join(dir, "cg/pids.max")); got != "max" {
		t.Errorf("refused write changed the file to %q", got)
	}
	if err := r.writeFile("/cg", "pids.max", "10\n"); err != nil {
		t.Errorf("a value with one trailing newline is one line: %v", err)
	}
	// Files are not created on cgroupfs semantics (defaultFilePerm unset).
	if err := r.writeFile("/cg", "nonexistent", "1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("write to a missing file: %v, want ErrNotExist", err)
	}
}

// TestFSRootRetry: a root that could not be opened (not there yet) is opened by a later call.
func TestFSRootRetry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	r := rootFor(dir)
	if _, err := r.readFile("/", "x", nil); err == nil {
		t.Fatal("read under a missing root succeeded")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := r.readUint("/", "x")
	if err != nil || v != 3 {
		t.Fatalf("after the root appeared: %d, %v", v, err)
	}
}

// fdFlags returns the open flags of one of this process's fds from /proc/self/fdinfo.
func fdFlags(t *testing.T, fd int) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no flags in fdinfo of fd %d: %s", fd, data)
	return 0
}

func TestFSCloexec(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{"cg/cpu.shares": "1024"})
	r := rootFor(dir)
	if _, err := r.readFile("/cg", "cpu.shares", nil); err != nil {
		t.Fatal(err)
	}
	if f := fdFlags(t, r.fd); f&unix.O_CLOEXEC == 0 {
		t.Errorf("root fd %d flags %o: no O_CLOEXEC", r.fd, f)
	}
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			if fallback {
				setOpenat2Missing(t)
			}
			fd, err := r.openRel("cg/cpu.shares", unix.O_RDONLY)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if f := fdFlags(t, fd); f&unix.O_CLOEXEC == 0 {
				t.Errorf("file fd flags %o: no O_CLOEXEC", f)
			}
		})
	}
	if _, err := selfMounts.get(); err != nil {
		t.Fatal(err)
	}
	if f := fdFlags(t, selfMounts.fd); f&unix.O_CLOEXEC == 0 {
		t.Errorf("mountinfo fd flags %o: no O_CLOEXEC", f)
	}
}

func TestFSFileErrorMessage(t *testing.T) {
	e := &FileError{Op: "write", Path: "/sys/fs/cgroup/memory/x/memory.limit_in_bytes", Value: "abc", Err: unix.EINVAL}
	want := `cgroups: write "abc" to /sys/fs/cgroup/memory/x/memory.limit_in_bytes: invalid argument (EINVAL)`
	if e.Error() != want {
		t.Errorf("got %q\nwant %q", e.Error(), want)
	}
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, unix.EINVAL) {
		t.Error("errors.Is(EINVAL) fails through wrapping")
	}
	r := &FileError{Op: "open", Path: "/p", Err: unix.ENOENT}
	if !errors.Is(fmt.Errorf("x: %w", r), os.ErrNotExist) || !strings.Contains(r.Error(), "(ENOENT)") {
		t.Errorf("open error %q: not ErrNotExist or no errno name", r)
	}
}

func TestFSSubdirs(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{
		"cg/tasks": "", "cg/a/tasks": "", "cg/b/c/tasks": "", "cg/.hidden/tasks": "",
	})
	if err := os.Symlink("a", filepath.Join(dir, "cg/link")); err != nil {
		t.Fatal(err)
	}
	// Enough entries to need several getdents calls.
	for i := 0; i < 400; i++ {
		if err := os.Mkdir(filepath.Join(dir, "cg", fmt.Sprintf("child-with-a-long-name-%03d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names, err := rootFor(dir).subdirs("/cg")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	if len(names) != 403 || !seen["a"] || !seen["b"] || !seen[".hidden"] || seen["link"] || seen["tasks"] {
		t.Errorf("subdirs: %d names, a=%v b=%v .hidden=%v link=%v", len(names), seen["a"], seen["b"], seen[".hidden"], seen["link"])
	}
	if _, err := rootFor(dir).subdirs("/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("subdirs of a missing cgroup: %v", err)
	}
}

func TestFSMkdirAll(t *testing.T) {
	dir := fixtureRoot(t, map[string]string{"pre/tasks": ""})
	r := rootFor(dir)
	created, err := r.mkdirAll("/pre/a/b")
	if err != nil || created != "pre/a" {
		t.Fatalf("mkdirAll = %q, %v; want the topmost new dir pre/a", created, err)
	}
	created, err = r.mkdirAll("/pre/a/b")
	if err != nil || created != "" {
		t.Errorf("mkdirAll of an existing dir = %q, %v", created, err)
	}
	if err := r.rmdir("/pre"); !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		t.Errorf("rmdir of a non-empty plain dir: %v", err)
	}
	if err := r.rmdir("/"); !errors.Is(err, unix.EBUSY) {
		t.Errorf("rmdir of the root: %v, want EBUSY", err)
	}
}

// TestFSRealWriteError: the kernel's EINVAL for a bad value comes back naming file, value and errno.
func TestFSRealWriteError(t *testing.T) {
	_, path := newTestCgroup(t, nil)
	mem := NewMemory("/sys/fs/cgroup")
	err := mem.fs.writeFile(path, "memory.limit_in_bytes", "abc")
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("write abc: %v, want EINVAL", err)
	}
	msg := err.Error()
	for _, want := range []string{mem.Path(path) + "/memory.limit_in_bytes", `"abc"`, "(EINVAL)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if !mem.fs.isCgroupfs() {
		t.Error("memory mount is not seen as cgroupfs")
	}
	// The fallback accepts the real cgroupfs file (same magic as the root).
	setOpenat2Missing(t)
	if _, err := mem.fs.readUint(path, "memory.limit_in_bytes"); err != nil {
		t.Errorf("fallback read on cgroupfs: %v", err)
	}
}

// TestFSReadLargeSeqFile: a tasks file larger than a page is read whole. cgroupfs returns it in
// several short reads (records stop at the kernel's page-sized buffer), which readAll must not
// take for the end of the file.
func TestFSReadLargeSeqFile(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	cmd := startProcess(t, "threads", "1500")
	if err := cg.Add(Process{Pid: cmd.Process.Pid}, Pids); err != nil {
		t.Fatal(err)
	}
	tasksFile := NewPids("/sys/fs/cgroup").Path(path) + "/tasks"
	deadline := time.Now().Add(10 * time.Second)
	var want []string
	for {
		want = strings.Fields(readTestFile(t, tasksFile))
		if len(want) > 1500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(want) <= 1500 {
		t.Fatalf("helper has %d threads, want > 1500", len(want))
	}
	size := len(readTestFile(t, tasksFile))
	tasks, err := cg.Tasks(Pids, false)
	if err != nil {
		t.Fatal(err)
	}
	// The Go runtime of the helper may start a thread or two between the reads: a read cut at the
	// kernel's page would miss more than half of them.
	if len(tasks) < len(want)-5 || len(tasks) > len(want)+5 {
		t.Fatalf("Tasks listed %d threads, the %d-byte tasks file has %d", len(tasks), size, len(want))
	}
	// The same file through the file layer with a buffer bigger than the kernel's page: the first
	// read stops short at the page, well before the end.
	root, rel := splitAbs(NewPids("/sys/fs/cgroup").Path(path))
	data, err := root.readFile(rel, "tasks", make([]byte, 0, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(strings.Fields(string(data))); got < len(want)-5 || got > len(want)+5 {
		t.Fatalf("readFile with a 64 KiB buffer read %d bytes, %d threads; want %d threads", len(data), got, len(want))
	}
	t.Logf("tasks file %d bytes, %d threads", size, len(tasks))
}
