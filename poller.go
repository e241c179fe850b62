package cgroups

// The kept-open statistics path (DESIGN.md "Performance: where the floor is"). Opening a control
// file costs more than reading it: a Stat of a populated cgroup spends most of its ~350 µs in
// open(2) and close(2), while re-reading kept-open fds with pread at offset 0 takes ~56 µs and
// returns fresh values each time (kernel-probe.md §8). A StatPoller gets there without touching
// the controllers: it gives each of them a private copy whose file-layer root (fsRoot.poll) keeps
// the files of one cgroup open, so their unchanged Stat code reads through kept fds.

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// pollRecheckMissing is how many Stats a StatPoller lets pass before it looks again for a control
// file (or cgroup directory) that was missing. Files a kernel lacks (memsw without swap
// accounting, blkio.bfq.* without BFQ) would otherwise cost a failed open on every poll; files
// appear later only in rare cases (a scheduler module loaded, a cgroup created after the poller),
// and those are then picked up within this many polls.
const pollRecheckMissing = 64

// errPollerClosed is returned by Stat after Close.
var errPollerClosed = fmt.Errorf("cgroups: StatPoller is closed: %w", os.ErrClosed)

// StatPoller reads the statistics of one cgroup again and again with its control files kept open
// between calls, for callers who poll (node agents reading many cgroups every few seconds). Each
// Stat then costs one pread(2) per file instead of open, read and close, several times faster;
// the values are as fresh as those of Cgroup.Stat.
//
// The price is file descriptors and kernel memory, until Close: one fd per control file its
// cgroup's controllers read (about 35 for the usual v1 controllers) plus one per cgroup directory,
// and for each file the kernel keeps its read buffer (one page) besides the open-file state, about
// 4.6 KiB of unreclaimable memory per file measured here, some 160 KiB per polled cgroup. Mind
// RLIMIT_NOFILE when polling thousands of cgroups. Every fd is close-on-exec. Code that does not
// use a StatPoller is not affected: Cgroup.Stat keeps opening and closing each file.
//
// A poller follows the cgroup directories it has opened, not their names: once the cgroup is
// removed, Stat reports its files as missing (errors.Is(err, os.ErrNotExist), so IgnoreNotExist
// drops them) and releases their fds, even if a cgroup of the same name is created again; make a
// new poller for that one. A file or directory that does not exist is looked for again only every
// 64th Stat. The controllers and the cgroup path are those of the Cgroup when the poller was
// made. A StatPoller is safe for concurrent use; concurrent Stats of one poller run one at a time.
type StatPoller struct {
	mu      sync.Mutex
	orig    *cgroup    // the cgroup polled, for its deleted state
	cg      *cgroup    // the same cgroup with the controllers' poll copies
	dirs    []*pollDir // one per controller with kept files
	polls   uint64     // Stats so far, the clock of the missing-file rechecks
	recheck uint64     // pollRecheckMissing, lowered by tests
	closed  bool
}

// NewStatPoller returns a poller for cg, which must come from New, Load or Cgroup.New of this
// package. It opens nothing yet: the first Stat opens the files it reads and keeps them open.
// Controllers that are not this package's own (a caller's Subsystem with a Stat method) keep
// their own file access. Call Close when done, also after the cgroup is deleted.
func NewStatPoller(cg Cgroup) (*StatPoller, error) {
	orig, ok := cg.(*cgroup)
	if !ok {
		return nil, fmt.Errorf("cgroups: NewStatPoller needs a Cgroup made by this package, not %T: %w",
			cg, ErrInvalidValue)
	}
	orig.mu.Lock()
	defer orig.mu.Unlock()
	if orig.err != nil {
		return nil, orig.err
	}
	p := &StatPoller{orig: orig, recheck: pollRecheckMissing}
	subsystems := make([]Subsystem, 0, len(orig.subsystems))
	paths := make(map[Name]string, len(orig.subsystems))
	for _, s := range orig.subsystems {
		if _, ok := s.(stater); !ok {
			continue // Stat skips it anyway
		}
		path, err := orig.path(s.Name())
		if err != nil {
			// Each Stat asks the Path again and reports its error, as Cgroup.Stat does.
			subsystems = append(subsystems, s)
			continue
		}
		paths[s.Name()] = path
		clone, d, err := pollClone(s, path, p)
		if err != nil {
			return nil, err
		}
		if d != nil {
			p.dirs = append(p.dirs, d)
		}
		subsystems = append(subsystems, clone)
	}
	// The paths are fixed here, as the kept directories are: a Path that answers differently
	// later (PidPath of a process that moved) must not mix two cgroups in one poller's Metrics.
	// It also saves the Path's cleaning, a third of Cgroup.Stat's allocations.
	path := func(n Name) (string, error) {
		if p, ok := paths[n]; ok {
			return p, nil
		}
		return orig.path(n)
	}
	p.cg = &cgroup{path: path, subsystems: subsystems}
	return p, nil
}

// pollRoot returns a root for the controller of mount whose control files of cgroupPath are kept
// open by the poller. Everything else on that root (other cgroups' files, writes) goes to the
// hierarchy's shared root fd, which the copy borrows: it stays open for the life of the process.
func pollRoot(m mountedAt, cgroupPath string, p *StatPoller) (*fsRoot, *pollDir, error) {
	base := m.fs
	if err := base.init(); err != nil {
		return nil, nil, err
	}
	rel, err := relPath(cgroupPath, "")
	if err != nil {
		return nil, nil, err
	}
	d := &pollDir{p: p, base: base, cgPath: cgroupPath, rel: rel, files: map[string]*pollFile{}}
	r := &fsRoot{path: base.path, fd: base.fd, magic: base.magic, dev: base.dev, ino: base.ino, poll: d}
	r.ready.Store(true)
	return r, d, nil
}

// pollClone returns a copy of controller s whose reads of cgroupPath's files go through kept fds,
// with the pollDir holding them; s itself is returned, with no pollDir, for a controller that
// cannot be rebound (a caller's own). The copy comes from the controller's withFS (fsRebinder):
// a fresh value, not a struct copy, so that no lock or sync.Once of the original is copied; its
// caches (blkio's mode and device names, cpuset's prefix) are filled again on first use.
// TestPollerClonesEveryStater fails when a controller with a Stat lacks withFS.
func pollClone(s Subsystem, cgroupPath string, p *StatPoller) (Subsystem, *pollDir, error) {
	rb, ok := s.(fsRebinder)
	if !ok {
		return s, nil, nil // a caller's own controller: its Stat reads as it always does
	}
	m := rb.files()
	fs, d, err := pollRoot(m, cgroupPath, p)
	if err != nil {
		return nil, nil, err
	}
	return rb.withFS(fs), d, nil
}

// Stat returns the statistics of the cgroup, as Cgroup.Stat does (same Metrics, same handlers,
// the same ErrCgroupDeleted once the Cgroup was deleted), reading the kept-open files. After
// Close it returns an error that wraps os.ErrClosed.
func (p *StatPoller) Stat(handlers ...ErrorHandler) (*Metrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPollerClosed
	}
	p.orig.mu.Lock()
	err := p.orig.err
	p.orig.mu.Unlock()
	if err != nil {
		p.closeFiles() // the directories are gone: their fds only hold kernel memory
		return nil, err
	}
	p.polls++
	return p.cg.Stat(handlers...)
}

// Close closes every file the poller opened. Later Stats fail; Close again does nothing.
func (p *StatPoller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.closeFiles()
}

// closeFiles closes the kept fds; p.mu is held.
func (p *StatPoller) closeFiles() error {
	var errs []error
	for _, d := range p.dirs {
		if err := d.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openFiles counts the fds the poller holds, for tests.
func (p *StatPoller) openFiles() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, d := range p.dirs {
		if d.dir != nil {
			n++
		}
		for _, f := range d.files {
			if f.fd >= 0 {
				n++
			}
		}
	}
	return n
}

// pollDir keeps the control files of one cgroup directory in one hierarchy open. It is used only
// by its poller's controller copies, inside StatPoller.Stat, so the poller's mutex guards it.
type pollDir struct {
	p      *StatPoller
	base   *fsRoot // the hierarchy's shared root
	cgPath string  // the cgroup path the controller is given; only its files are kept open
	rel    string  // cgPath relative to the root, as relPath gives it

	dir        *fsRoot // the cgroup directory as a root (an O_PATH fd), nil until opened
	dirErr     error   // why the directory could not be opened, while it is missing
	dirRetryAt uint64  // poll at which a missing directory is looked for again

	// gone is set once the directory was removed: a poller follows the cgroup it opened, not
	// its name, so nothing is opened again and every file reads as missing.
	gone bool

	files map[string]*pollFile // by file name
}

// pollFile is one control file: open, or missing since a poll.
type pollFile struct {
	fd      int   // -1 when not open
	missErr error // the error returned while the file is missing (built once: no allocation)
	retryAt uint64
}

// readFile is fsRoot.readFile for a poll root: the cgroup's own files are read with pread from a
// kept fd, anything else through the shared root as usual.
func (d *pollDir) readFile(cgroupPath, file string, buf []byte) ([]byte, error) {
	if cgroupPath != d.cgPath {
		return d.base.readFile(cgroupPath, file, buf)
	}
	f := d.files[file]
	if f == nil {
		if checkFileName(file) != nil { // the shared path reports it
			return d.base.readFile(cgroupPath, file, buf)
		}
		f = &pollFile{fd: -1}
		d.files[file] = f
	}
	if f.fd < 0 {
		if d.gone {
			if f.missErr == nil {
				f.missErr = &FileError{Op: "open", Path: d.base.join(d.fileRel(file)), Err: errCgroupGone}
			}
			return nil, f.missErr
		}
		if f.missErr != nil && d.p.polls < f.retryAt {
			return nil, f.missErr
		}
		if err := d.open(file, f); err != nil {
			return nil, err
		}
	}
	data, err := readAll(f.fd, buf[:0])
	if err == nil {
		if len(data) == 0 {
			// A seq_file whose output was empty is stuck: its record index has moved past the
			// end while its position is still 0, so a later pread or lseek to 0 does not start
			// it over and it reads empty for ever (measured here on cgroup.procs). Only an fd
			// whose last read returned bytes is kept; an empty file is opened afresh each time.
			unix.Close(f.fd)
			f.fd = -1
		}
		return data, nil
	}
	// Whatever went wrong, the next poll starts from a fresh open rather than trusting this fd.
	unix.Close(f.fd)
	f.fd = -1
	if err == unix.ENODEV || err == unix.ENOENT {
		// The file was removed: with its cgroup, or alone (a module's files go when it is
		// unloaded). If the cgroup is gone, every fd of it is released now, not only those the
		// controller got to read before it stopped at this error.
		if d.dirGone() {
			d.close()
			d.gone = true
		}
		err = errCgroupGone
	}
	return nil, &FileError{Op: "read", Path: d.base.join(d.fileRel(file)), Err: err}
}

// dirGone tells whether the kept cgroup directory was removed: cgroup.procs, which every cgroup
// has, can no longer be looked up beneath it (on a fixture tree: the directory has no links).
func (d *pollDir) dirGone() bool {
	if !d.base.isCgroupfs() {
		// A fixture tree has no cgroup.procs to look for: a removed directory has no links.
		var st unix.Stat_t
		return unix.Fstat(d.dir.fd, &st) == nil && st.Nlink == 0
	}
	fd, err := d.dir.openRel(cgroupProcs, unix.O_PATH)
	if err != nil {
		return isMissingErrno(err)
	}
	unix.Close(fd)
	return false
}

// open opens a control file beneath the cgroup directory, opening the directory first, both
// through the file layer's safe path (openat2 RESOLVE_BENEATH, or the checked fallback). A
// missing file or directory is remembered until the poll given by the recheck interval.
func (d *pollDir) open(file string, f *pollFile) error {
	if d.dir == nil {
		if d.dirErr != nil && d.p.polls < d.dirRetryAt {
			return d.missing(f, file, unix.ENOENT)
		}
		dfd, err := d.base.openRel(d.rel, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			if isMissingErrno(err) {
				d.dirErr, d.dirRetryAt = err, d.p.polls+d.p.recheck
				return d.missing(f, file, err)
			}
			return &FileError{Op: "open", Path: d.base.join(d.rel), Err: err}
		}
		d.dirErr = nil
		d.dir = &fsRoot{path: d.base.join(d.rel), fd: dfd, magic: d.base.magic}
		d.dir.ready.Store(true)
	}
	fd, err := d.dir.openRel(file, unix.O_RDONLY)
	if err != nil {
		if isMissingErrno(err) {
			// The file may be missing because its cgroup went away (an empty file is opened
			// afresh each Stat, so it may be the first to notice): then release the
			// directory's fds now, as a failed read does.
			if d.dirGone() {
				d.close()
				d.gone = true
				err = errCgroupGone
			}
			return d.missing(f, file, err)
		}
		return &FileError{Op: "open", Path: d.base.join(d.fileRel(file)), Err: err}
	}
	f.fd, f.missErr = fd, nil
	return nil
}

// missing records that file is not there and returns the error to report until the recheck.
func (d *pollDir) missing(f *pollFile, file string, errno error) error {
	if errno == unix.ENODEV {
		errno = errCgroupGone
	}
	f.missErr = &FileError{Op: "open", Path: d.base.join(d.fileRel(file)), Err: errno}
	f.retryAt = d.p.polls + d.p.recheck
	return f.missErr
}

func (d *pollDir) fileRel(file string) string {
	if d.rel == "." {
		return file
	}
	return d.rel + "/" + file
}

// close closes the kept fds; the files are opened again on the next Stat, unless the poller is
// closed.
func (d *pollDir) close() error {
	var errs []error
	for _, f := range d.files {
		if f.fd >= 0 {
			if err := unix.Close(f.fd); err != nil {
				errs = append(errs, err)
			}
			f.fd = -1
		}
	}
	if d.dir != nil {
		if err := unix.Close(d.dir.fd); err != nil {
			errs = append(errs, err)
		}
		d.dir = nil
	}
	return errors.Join(errs...)
}

// isMissingErrno tells whether an open failed because the file or its cgroup is not there:
// ENOENT, ENOTDIR (a path component is a file) or ENODEV (the cgroup was removed under an fd).
func isMissingErrno(err error) bool {
	return err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ENODEV
}

// errCgroupGone is the error of a kept file whose cgroup was removed: the kernel answers a read
// with ENODEV. It counts as a missing file (os.ErrNotExist, unix.ENOENT), as an open of the same
// file would after the removal, so IgnoreNotExist and the controllers' optional-file checks treat
// both alike; errors.Is(err, unix.ENODEV) holds too.
var errCgroupGone error = cgroupGoneError{}

type cgroupGoneError struct{}

func (cgroupGoneError) Error() string { return "the cgroup was removed (ENODEV)" }

func (cgroupGoneError) Is(target error) bool {
	return target == os.ErrNotExist || target == unix.ENOENT || target == unix.ENODEV
}
