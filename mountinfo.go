package cgroups

// Mount discovery: each v1 controller's own mount point, read from /proc/self/mountinfo once per
// process. The table is revalidated cheaply: the kernel marks an open mountinfo fd with POLLPRI
// when the mount table of the namespace changes, so a zero-timeout poll(2) tells whether to parse
// again.

import (
	"bytes"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// cgroupMount is one cgroup v1 mount.
type cgroupMount struct {
	Mountpoint   string   // where it is mounted, e.g. /sys/fs/cgroup/cpu,cpuacct
	Root         string   // the hierarchy path mounted there: "/" normally, "/.." in a cgroup namespace
	Subsystems   []string // controllers and named hierarchies ("cpu", "cpuacct", "name=systemd")
	SuperMagicV2 bool     // a cgroup2 mount (Subsystems is empty)
}

// parseMountinfo returns the cgroup (v1) and cgroup2 mounts of a mountinfo file. Lines are
// "id parent maj:min root mountpoint options [optional...] - fstype source superoptions".
func parseMountinfo(data []byte) ([]cgroupMount, error) {
	var mounts []cgroupMount
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(line) == 0 {
			continue
		}
		sep := bytes.Index(line, []byte(" - "))
		if sep < 0 {
			return nil, &mountinfoError{n, line}
		}
		post := line[sep+3:]
		fstype, post := nextField(post)
		if string(fstype) != "cgroup" && string(fstype) != "cgroup2" {
			continue
		}
		_, post = nextField(post) // source
		superOpts, _ := nextField(post)
		pre := line[:sep]
		var f [5][]byte
		for i := range f {
			f[i], pre = nextField(pre)
		}
		if len(f[4]) == 0 {
			return nil, &mountinfoError{n, line}
		}
		m := cgroupMount{Root: unescapeMount(f[3]), Mountpoint: unescapeMount(f[4])}
		if string(fstype) == "cgroup2" {
			m.SuperMagicV2 = true
		} else {
			for _, o := range strings.Split(string(superOpts), ",") {
				if isControllerOption(o) {
					m.Subsystems = append(m.Subsystems, o)
				}
			}
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

type mountinfoError struct {
	line int
	text []byte
}

func (e *mountinfoError) Error() string {
	return "mountinfo: bad entry " + strconvQuote(string(e.text)) + " (line " + itoa(e.line) + ")"
}
func (e *mountinfoError) Unwrap() error { return ErrInvalidFormat }

// isControllerOption tells a controller or "name=" option from a mount option such as "rw",
// "xattr", "noprefix" or "clone_children".
func isControllerOption(o string) bool {
	if strings.HasPrefix(o, "name=") {
		return len(o) > len("name=")
	}
	switch o {
	case "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "none", "":
		return false
	}
	return !strings.Contains(o, "=")
}

// unescapeMount undoes the octal escapes mountinfo uses for space, tab, newline and backslash.
func unescapeMount(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]) {
			out = append(out, (b[i+1]-'0')<<6|(b[i+2]-'0')<<3|(b[i+3]-'0'))
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// mountTable caches the parsed mountinfo of this process.
type mountTable struct {
	mu     sync.Mutex
	path   string
	fd     int
	mounts []cgroupMount
	buf    []byte
	parses int // how many times mountinfo was read and parsed; tests check the cache with it
}

var selfMounts = &mountTable{path: "/proc/self/mountinfo", fd: -1}

// get returns the cgroup mounts, parsing mountinfo again only when the kernel says the mount
// table changed since the last parse.
func (t *mountTable) get() ([]cgroupMount, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fd >= 0 && !t.changed() {
		return t.mounts, nil
	}
	if t.fd < 0 {
		fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &FileError{Op: "open", Path: t.path, Err: err}
		}
		t.fd = fd
	}
	// Read from offset 0 with pread on the kept fd: the content is generated fresh each time, and
	// the poll state is re-armed by reading.
	buf := t.buf[:0]
	for off := int64(0); ; {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, 16384)...)[:len(buf)]
		}
		n, err := unix.Pread(t.fd, buf[len(buf):cap(buf)], off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(t.fd)
			t.fd = -1
			return nil, &FileError{Op: "read", Path: t.path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
		off += int64(n)
	}
	t.buf = buf
	t.parses++
	mounts, err := parseMountinfo(buf)
	if err != nil {
		// The poll that said "changed" has consumed the kernel's notification: drop the fd so
		// that the next call reads again instead of returning the stale table.
		unix.Close(t.fd)
		t.fd = -1
		return nil, err
	}
	if t.mounts != nil {
		refreshRoots()
	}
	t.mounts = mounts
	return mounts, nil
}

// changed polls the kept mountinfo fd: POLLPRI (or POLLERR) means the mount table changed.
func (t *mountTable) changed() bool {
	fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLPRI}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
	}
}

// findMount returns the mount of a controller or named hierarchy ("cpu", "name=systemd"). When the
// same hierarchy is mounted more than once (bind mounts, nested container mounts), the mount of
// the hierarchy's root ("/") wins over a mount of a subtree, and the first listed otherwise.
func findMount(mounts []cgroupMount, subsystem string) (cgroupMount, bool) {
	var found cgroupMount
	ok := false
	for _, m := range mounts {
		for _, s := range m.Subsystems {
			if s != subsystem {
				continue
			}
			if !ok || (found.Root != "/" && m.Root == "/") {
				found, ok = m, true
			}
		}
	}
	return found, ok
}
