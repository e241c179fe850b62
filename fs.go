package cgroups

// The file layer: the one place that touches cgroupfs. Every control file and directory is
// reached relative to a cached O_PATH fd of its hierarchy's mount point, with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS, so no path can leave the hierarchy. Where openat2 is
// missing (kernels before 5.6, some seccomp profiles), the file is opened by name and fstatfs must
// show the same filesystem magic as the root. Every fd is O_CLOEXEC and raw (no *os.File), closed
// on every path, and a value is written with exactly one write(2): the kernel applies only the
// first line of a write.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fsRoot is one hierarchy mount point (or any directory a caller injects as a root).
type fsRoot struct {
	path string

	ready atomic.Bool // fd and magic are set
	mu    sync.Mutex  // serialises opening the root
	fd    int         // O_PATH|O_DIRECTORY fd of path, or -1
	magic int64       // statfs magic of the root's filesystem
	dev   uint64      // st_dev and st_ino of the root, to notice a remount
	ino   uint64

	// poll is set only on the private roots of a StatPoller's controller copies (poller.go):
	// readFile then reads its cgroup's files from kept-open fds. Shared roots leave it nil.
	poll *pollDir
}

var (
	rootsMu sync.Mutex
	roots   = map[string]*fsRoot{}

	// openat2Missing is set once openat2 has failed with ENOSYS (or EPERM from a seccomp filter);
	// from then on the fallback is used.
	openat2Missing atomic.Bool

	// defaultFilePerm, when non-zero, makes writes create missing files with this mode. It exists
	// for tests on plain directories, as in containerd/cgroups; cgroupfs never needs it.
	defaultFilePerm os.FileMode
)

// rootFor returns the shared root for a mount point path. The fd is opened on first use and kept
// for the life of the process: one fd per hierarchy.
func rootFor(path string) *fsRoot {
	path = filepath.Clean(path)
	rootsMu.Lock()
	defer rootsMu.Unlock()
	r, ok := roots[path]
	if !ok {
		r = &fsRoot{path: path, fd: -1}
		roots[path] = r
	}
	return r
}

// refreshRoots replaces the cached roots whose path is now a different directory (a hierarchy
// unmounted and mounted again), so that controllers built from then on use the new mount. It runs
// only when the mount table changed. The old fd stays open: controllers built before may still use
// it, and closing it under them could hand its number to another file.
func refreshRoots() {
	rootsMu.Lock()
	defer rootsMu.Unlock()
	for p, r := range roots {
		if !r.ready.Load() {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil || st.Dev != r.dev || st.Ino != r.ino {
			roots[p] = &fsRoot{path: p, fd: -1}
		}
	}
}

// init opens the root fd on first use. A failure (the hierarchy not mounted yet, say) is not
// cached: the next call tries again.
func (r *fsRoot) init() error {
	if r.ready.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready.Load() {
		return nil
	}
	fd, err := unix.Open(r.path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &FileError{Op: "open", Path: r.path, Err: err}
	}
	var fs unix.Statfs_t
	var st unix.Stat_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return &FileError{Op: "statfs", Path: r.path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return &FileError{Op: "stat", Path: r.path, Err: err}
	}
	r.fd, r.magic, r.dev, r.ino = fd, int64(fs.Type), st.Dev, st.Ino
	r.ready.Store(true)
	return nil
}

// isCgroupfs tells whether the root is a real cgroup v1 or v2 filesystem.
func (r *fsRoot) isCgroupfs() bool {
	if r.init() != nil {
		return false
	}
	return r.magic == unix.CGROUP_SUPER_MAGIC || r.magic == unix.CGROUP2_SUPER_MAGIC
}

// join gives the absolute path of rel under the root, for messages and for the fallback open.
func (r *fsRoot) join(rel string) string {
	if rel == "" || rel == "." {
		return r.path
	}
	return r.path + "/" + rel
}

// relPath turns a cgroup path ("/a/b", "a/b", "/") and an optional file name into a clean path
// relative to the root ("a/b/memory.stat", "."). It rejects what could leave the root or break the
// kernel's one-line formats: "..", NUL and newlines. A file name must be one component.
func relPath(cgroupPath, file string) (string, error) {
	b, err := relPathBuf(nil, cgroupPath, file)
	if err != nil {
		return "", err
	}
	return string(b[:len(b)-1]), nil
}

// relPathBuf appends what relPath returns, NUL-terminated for the kernel, to buf. It allocates
// nothing for a clean cgroup path (what every Path of this package returns) and a buffer with
// room: it runs on every control-file access.
func relPathBuf(buf []byte, cgroupPath, file string) ([]byte, error) {
	if err := checkPath(cgroupPath); err != nil {
		return nil, err
	}
	if file != "" {
		if err := checkFileName(file); err != nil {
			return nil, err
		}
	}
	p := cgroupPath
	if !isCleanPath(p) {
		p = filepath.Clean("/" + p)
	}
	p = strings.TrimPrefix(p, "/")
	buf = append(buf, p...)
	switch {
	case file != "" && p != "":
		buf = append(append(buf, '/'), file...)
	case file != "":
		buf = append(buf, file...)
	case p == "":
		buf = append(buf, '.')
	}
	return append(buf, 0), nil
}

// isCleanPath tells whether p needs no cleaning: "", "/", or components separated by single
// slashes, none empty, "." or "..", with no trailing slash, after an optional leading slash.
func isCleanPath(p string) bool {
	q := strings.TrimPrefix(p, "/")
	for q != "" {
		c := q
		if i := strings.IndexByte(q, '/'); i >= 0 {
			c, q = q[:i], q[i+1:]
			if q == "" {
				return false // trailing slash
			}
		} else {
			q = ""
		}
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

func checkPath(p string) error {
	if strings.ContainsAny(p, "\x00\n") {
		return &pathError{p, "contains a NUL byte or a newline"}
	}
	// Component by component without splitting: this runs on every file access.
	for rest := p; rest != ""; {
		c := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			c, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if c == ".." {
			return &pathError{p, `contains ".."`}
		}
	}
	return nil
}

func checkFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00\n") {
		return &pathError{name, "is not a single file name"}
	}
	return nil
}

type pathError struct{ path, why string }

func (e *pathError) Error() string {
	return "cgroups: invalid cgroup path " + strconvQuote(e.path) + ": " + e.why
}
func (e *pathError) Unwrap() error { return ErrInvalidPath }

// openRel opens rel (already checked by relPath) under the root.
func (r *fsRoot) openRel(rel string, flags int) (int, error) {
	var a [256]byte
	return r.openBuf(append(append(a[:0], rel...), 0), flags)
}

// openBuf opens path (relative to the root, NUL-terminated, already checked) under the root:
// openat2 with RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS from the root fd, or the fallback. The path
// goes to the kernel as it is, so a path built on the stack costs no allocation.
func (r *fsRoot) openBuf(path []byte, flags int) (int, error) {
	if err := r.init(); err != nil {
		return -1, err
	}
	flags |= unix.O_CLOEXEC
	if !openat2Missing.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		}
		for tries := 0; ; tries++ {
			fd, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(r.fd), uintptr(unsafe.Pointer(&path[0])),
				uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
			if errno == 0 {
				return int(fd), nil
			}
			// EAGAIN: a concurrent rename raced the lookup; EINTR: a signal. Both are worth a
			// few more tries, never an unbounded loop.
			if (errno == unix.EAGAIN || errno == unix.EINTR) && tries < 16 {
				continue
			}
			if errno == unix.ENOSYS || errno == unix.EPERM && tries == 0 && !r.probeOpenat2() {
				openat2Missing.Store(true)
				break
			}
			return -1, errno
		}
	}
	return r.openFallback(string(path[:len(path)-1]), flags)
}

// probeOpenat2 tells whether openat2 works at all, so that an EPERM from a seccomp filter is told
// apart from a real permission error on one file.
func (r *fsRoot) probeOpenat2() bool {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH}
	fd, err := unix.Openat2(r.fd, ".", &how)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// openFallback opens rel without openat2: one component at a time from the root fd, never
// following a symlink (cgroupfs has none, so a symlink can only be an attempt to leave the root),
// and the file must be on a filesystem of the root's kind. O_TRUNC is applied only after that
// check, so a file elsewhere is never truncated; cgroupfs ignores it anyway.
func (r *fsRoot) openFallback(rel string, flags int) (int, error) {
	dfd := r.fd
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		f := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = (flags &^ unix.O_TRUNC) | unix.O_NOFOLLOW
		}
		fd, err := openatRetry(dfd, name, f)
		if dfd != r.fd {
			unix.Close(dfd)
		}
		if err != nil {
			return -1, err
		}
		dfd = fd
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(dfd, &st); err != nil {
		unix.Close(dfd)
		return -1, err
	}
	if int64(st.Type) != r.magic {
		unix.Close(dfd)
		return -1, ErrNotCgroupfs
	}
	if flags&unix.O_TRUNC != 0 && !r.isCgroupfs() {
		if err := unix.Ftruncate(dfd, 0); err != nil {
			unix.Close(dfd)
			return -1, err
		}
	}
	return dfd, nil
}

func openatRetry(dfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// readFile reads the whole of cgroupPath/file into buf (reusing its capacity) with one open, reads
// to EOF and one close; on a StatPoller's root, with pread from a kept fd instead.
func (r *fsRoot) readFile(cgroupPath, file string, buf []byte) ([]byte, error) {
	if r.poll != nil {
		return r.poll.readFile(cgroupPath, file, buf)
	}
	var a [256]byte
	path, err := relPathBuf(a[:0], cgroupPath, file)
	if err != nil {
		return nil, err
	}
	fd, err := r.openBuf(path, unix.O_RDONLY)
	if err != nil {
		return nil, &FileError{Op: "open", Path: r.join(string(path[:len(path)-1])), Err: err}
	}
	data, err := readAll(fd, buf[:0])
	unix.Close(fd)
	if err != nil {
		return nil, &FileError{Op: "read", Path: r.join(string(path[:len(path)-1])), Err: err}
	}
	return data, nil
}

// shortReadEOF is the size under which a short read is taken as the end of a file (see readAll).
const shortReadEOF = 2048

// readAll reads a whole file from offset 0 into buf (reusing its capacity) with pread, so it also
// re-reads a kept-open fd, whose seq_file content is generated afresh. EINTR is retried a bounded
// number of times.
func readAll(fd int, buf []byte) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for intr := 0; ; {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		// pread from the offset read so far: the same as read(2) on a fresh fd, and what a kept
		// fd (StatPoller) needs to get the current values again without a seek.
		n, err := unix.Pread(fd, buf[len(buf):cap(buf)], int64(len(buf)))
		if err == unix.EINTR && intr < 16 {
			intr++
			continue
		}
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		// A short read of less than half a page is the end of the file, which saves the read(2)
		// that would return 0 (on a seq_file that second read costs as much as the first: the
		// kernel generates the content again to find the offset). cgroupfs files are seq_files:
		// a read copies records into a page-sized kernel buffer until the caller's buffer is full
		// or the records end, and stops early only when the next record does not fit that kernel
		// buffer, which with records of a few bytes (cgroup.procs) means more than half a page
		// was returned. Regular files read short only at the end.
		if len(buf) < cap(buf) && n < shortReadEOF {
			return buf, nil
		}
	}
}

// writeFile writes value to cgroupPath/file with one open and one write(2). A value must be one
// line: the kernel would apply only the first.
func (r *fsRoot) writeFile(cgroupPath, file, value string) error {
	var a [256]byte
	path, err := relPathBuf(a[:0], cgroupPath, file)
	if err != nil {
		return err
	}
	rel := func() string { return string(path[:len(path)-1]) } // for errors only
	if i := strings.IndexByte(value, '\n'); i >= 0 && i != len(value)-1 {
		return &FileError{Op: "write", Path: r.join(rel()), Value: value,
			Err: errors.Join(ErrInvalidValue, errors.New("value has more than one line"))}
	}
	fd, err := r.openBuf(path, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil && defaultFilePerm != 0 && err == unix.ENOENT {
		fd, err = r.createRel(rel())
	}
	if err != nil {
		return &FileError{Op: "write", Path: r.join(rel()), Value: value, Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &FileError{Op: "write", Path: r.join(rel()), Value: value, Err: err}
	}
	return nil
}

// createRel creates a missing plain file, for tests on fixture trees (defaultFilePerm).
func (r *fsRoot) createRel(rel string) (int, error) {
	dir, base := filepath.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	dfd, err := r.openRel(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dfd)
	return unix.Openat(dfd, base, unix.O_WRONLY|unix.O_TRUNC|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW,
		uint32(defaultFilePerm.Perm()))
}

// exists tells whether the cgroup directory exists.
func (r *fsRoot) exists(cgroupPath string) (bool, error) {
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return false, err
	}
	fd, err := r.openRel(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		unix.Close(fd)
		return true, nil
	}
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return false, nil
	}
	return false, &FileError{Op: "open", Path: r.join(rel), Err: err}
}

// mkdir creates one cgroup directory; its parent must exist. It returns os.ErrExist (wrapped)
// when the directory is already there.
func (r *fsRoot) mkdir(cgroupPath string) error {
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return err
	}
	if rel == "." {
		return &FileError{Op: "mkdir", Path: r.path, Err: unix.EEXIST}
	}
	if err := r.atParent(rel, func(dfd int, name string) error {
		return unix.Mkdirat(dfd, name, 0o755)
	}); err != nil {
		return &FileError{Op: "mkdir", Path: r.join(rel), Err: err}
	}
	return nil
}

// atParent calls op with a directory fd and the name of rel in it. On cgroupfs that is the root
// fd and rel itself: a cgroup filesystem holds no symlinks and rel has no "..", so the kernel's
// walk cannot leave the root, and one syscall does. On any other root (a fixture tree) the parent
// is opened beneath the root first, so a symlink in the tree cannot redirect the operation.
func (r *fsRoot) atParent(rel string, op func(dfd int, name string) error) error {
	if err := r.init(); err != nil {
		return err
	}
	if r.isCgroupfs() {
		for {
			err := op(r.fd, rel)
			if err != unix.EINTR {
				return err
			}
		}
	}
	parent, base := filepath.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	if parent == "" {
		parent = "."
	}
	dfd, err := r.openRel(parent, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	for {
		err := op(dfd, base)
		if err != unix.EINTR {
			return err
		}
	}
}

// mkdirAll creates the cgroup directory and its missing parents. It returns the topmost
// directory it created, relative to the root ("" if none), so a failed New can remove exactly
// what it made. The common case, a new leaf under an existing parent, is one mkdir(2).
func (r *fsRoot) mkdirAll(cgroupPath string) (created string, err error) {
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", r.init()
	}
	err = r.mkdir(rel)
	switch {
	case err == nil:
		return rel, nil
	case errors.Is(err, os.ErrExist):
		return "", nil
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	// A parent is missing: find the deepest one that exists, then create downwards.
	parts := strings.Split(rel, "/")
	i := len(parts) - 1
	for ; i > 0; i-- {
		ok, err := r.exists(strings.Join(parts[:i], "/"))
		if err != nil {
			return "", err
		}
		if ok {
			break
		}
	}
	for j := i + 1; j <= len(parts); j++ {
		p := strings.Join(parts[:j], "/")
		if err := r.mkdir(p); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue // someone else made it meanwhile: not ours to remove
			}
			return created, err
		}
		if created == "" {
			created = p
		}
	}
	return created, nil
}

// rmdir removes one cgroup directory without child cgroups. On a root that is not cgroupfs (a
// fixture or mock tree) it first unlinks the directory's plain files, which on cgroupfs are
// control files that go with the directory.
func (r *fsRoot) rmdir(cgroupPath string) error {
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return err
	}
	if rel == "." {
		return &FileError{Op: "rmdir", Path: r.path, Err: unix.EBUSY}
	}
	if err := r.removePlainFiles(rel); err != nil {
		return err
	}
	if err := r.atParent(rel, func(dfd int, name string) error {
		return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
	}); err != nil {
		return &FileError{Op: "rmdir", Path: r.join(rel), Err: err}
	}
	return nil
}

// subdirs lists the child cgroups (directories) of a cgroup.
func (r *fsRoot) subdirs(cgroupPath string) ([]string, error) {
	return r.entries(cgroupPath, unix.DT_DIR)
}

// entries lists the names of the entries of type typ (DT_DIR, DT_REG) in a cgroup directory.
func (r *fsRoot) entries(cgroupPath string, typ byte) ([]string, error) {
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return nil, err
	}
	fd, err := r.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, &FileError{Op: "readdir", Path: r.join(rel), Err: err}
	}
	defer unix.Close(fd)
	b := getBuf()
	defer putBuf(b, nil)
	buf := (*b)[:cap(*b)]
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &FileError{Op: "readdir", Path: r.join(rel), Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		names = appendDirents(names, buf[:n], typ)
	}
}

// appendDirents appends the names of directory entries of type typ (other than . and ..).
func appendDirents(names []string, buf []byte, typ byte) []string {
	for len(buf) >= 19 {
		reclen := int(buf[16]) | int(buf[17])<<8
		if reclen == 0 || reclen > len(buf) {
			break
		}
		name := buf[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if buf[18] == typ && string(name) != "." && string(name) != ".." {
			names = append(names, string(name))
		}
		buf = buf[reclen:]
	}
	return names
}

// removePlainFiles unlinks the regular files of a directory on a root that is not cgroupfs (for
// rmdir). On cgroupfs it does nothing.
func (r *fsRoot) removePlainFiles(cgroupPath string) error {
	if r.isCgroupfs() {
		return nil
	}
	files, err := r.entries(cgroupPath, unix.DT_REG)
	if err != nil || len(files) == 0 {
		return err
	}
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return err
	}
	dfd, err := r.openRel(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return &FileError{Op: "open", Path: r.join(rel), Err: err}
	}
	defer unix.Close(dfd)
	for _, f := range files {
		if err := unix.Unlinkat(dfd, f, 0); err != nil && err != unix.ENOENT {
			return &FileError{Op: "unlink", Path: r.join(rel) + "/" + f, Err: err}
		}
	}
	return nil
}

// splitAbs finds the file-layer root for an absolute cgroup directory. Controllers give absolute
// directories (Path); the core works on those through the longest registered root that contains
// them, so every access still goes through a root fd.
func splitAbs(dir string) (*fsRoot, string) {
	dir = filepath.Clean(dir)
	rootsMu.Lock()
	var best *fsRoot
	for p, r := range roots {
		if (dir == p || strings.HasPrefix(dir, p+"/") || p == "/") && (best == nil || len(p) > len(best.path)) {
			best = r
		}
	}
	rootsMu.Unlock()
	if best == nil {
		parent := filepath.Dir(dir)
		best = rootFor(parent)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(dir, best.path), "/")
	return best, "/" + rel
}

// dirExists tells whether an absolute cgroup directory exists.
func dirExists(dir string) (bool, error) {
	root, rel := splitAbs(dir)
	return root.exists(rel)
}

// mkdirAllAbs creates an absolute cgroup directory and its missing parents, and returns the
// topmost directory it created (absolute), or "".
func mkdirAllAbs(dir string) (string, error) {
	root, rel := splitAbs(dir)
	created, err := root.mkdirAll(rel)
	if created != "" {
		created = joinPath(root.path, created)
	}
	return created, err
}

// bufPool holds read buffers for Stat and the other readers, so a Stat of a cgroup allocates no
// buffer per file.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// getBuf returns a pooled buffer; give it back with putBuf once nothing refers to its bytes.
func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns a buffer to the pool, keeping what it grew to (up to 1 MiB).
func putBuf(b *[]byte, grown []byte) {
	if cap(grown) > cap(*b) && cap(grown) <= 1<<20 {
		*b = grown[:0]
	}
	bufPool.Put(b)
}

// readUint reads a file holding one unsigned value ("max" is MaxUint64).
func (r *fsRoot) readUint(cgroupPath, file string) (uint64, error) {
	b := getBuf()
	data, err := r.readFile(cgroupPath, file, *b)
	if err != nil {
		putBuf(b, nil)
		return 0, err
	}
	v, err := parseUintMax(data)
	putBuf(b, data)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: r.join(strings.TrimPrefix(filepath.Clean("/"+cgroupPath+"/"+file), "/")), Err: err}
	}
	return v, nil
}

// releaseRootsUnder closes the cached root fds at or under dir and forgets them, so that a
// hierarchy mounted there can be unmounted (an open fd keeps a mount busy). The caller must make
// sure no controller built on those roots is in use any more.
func releaseRootsUnder(dir string) {
	rootsMu.Lock()
	defer rootsMu.Unlock()
	for p, r := range roots {
		if p != dir && !strings.HasPrefix(p, dir+"/") {
			continue
		}
		r.mu.Lock()
		if r.ready.Load() {
			unix.Close(r.fd)
			r.fd = -1
			r.ready.Store(false)
		}
		r.mu.Unlock()
		delete(roots, p)
	}
}
