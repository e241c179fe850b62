package cgroups

// EventMonitor: many cgroups' memory events over one epoll loop. The faithful API
// (RegisterMemoryEvent, OOMEventFD) hands out raw eventfds and leaves the hard parts to the
// caller: the kernel signals every registration once when its cgroup is removed (13 to 36 ms after
// rmdir, indistinguishable by value from a real event), the OOM notification comes before the
// victim is killed, and a reader that falls behind must not lose counts. The monitor owns every
// fd, tells removals apart from events, and coalesces counts for a slow consumer.
//
// Ownership: all monitor state is owned by its one goroutine (the loop). Watch does the
// registration work (open, write cgroup.event_control) in the caller's goroutine and hands the
// ready fds to the loop; Unwatch and Close are requests to the loop. A request is queued under mu
// and the loop is woken through an eventfd in its epoll set (while it waits in epoll_wait) and a
// channel (while it waits to hand an event to the consumer).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	// EventOOM: the cgroup (or an ancestor whose limit it is under) ran out of memory.
	EventOOM EventKind = iota + 1
	// EventThreshold: memory (or memory+swap) usage crossed a registered threshold, in either
	// direction; Above says which side usage is on now.
	EventThreshold
	// EventPressure: memory pressure at the registered level or higher.
	EventPressure
	// EventRemoved: the cgroup was removed. It is reported once, after which the cgroup is no
	// longer watched and its fds are closed.
	EventRemoved
)

// String returns the kind's name: "oom", "threshold", "pressure" or "removed".
func (k EventKind) String() string {
	switch k {
	case EventOOM:
		return "oom"
	case EventThreshold:
		return "threshold"
	case EventPressure:
		return "pressure"
	case EventRemoved:
		return "removed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one delivery of an EventMonitor: the kernel signalled a registration Count times
// since the previous delivery for the same cgroup and MemoryEvent.
type Event struct {
	// Path is the cgroup's path in the memory hierarchy, as "/a/b".
	Path string
	// Kind says what happened.
	Kind EventKind
	// Event is the MemoryEvent value given to Watch (nil for EventRemoved), so a caller that
	// watches several thresholds or pressure levels can compare it with its own values.
	Event MemoryEvent
	// Count is the number of kernel signals coalesced into this delivery (the eventfd counters
	// read since the previous delivery); at least 1.
	Count uint64
	// Time is when the monitor read the latest of those signals and the state below.
	Time time.Time

	// OOMKill and UnderOOM are memory.oom_control's oom_kill and under_oom (EventOOM only).
	// The kernel notifies before it chooses a victim: the monitor re-reads the file for up to
	// 100 ms until oom_kill has grown, so OOMKill normally includes this OOM's kill. With
	// OOMKillDisable the group is stuck instead (UnderOOM) and the event is delivered at once.
	OOMKill        uint64
	UnderOOM       bool
	OOMKillDisable bool
	// Usage is memory.usage_in_bytes (memsw.usage_in_bytes for a swap threshold) and Above
	// whether it is at or over the threshold, both read at Time (EventThreshold only).
	Usage uint64
	Above bool

	// Err, when set, says why the state fields could not be read. It is ErrCgroupDeleted (with
	// errors.Is) for a signal that came before the cgroup's removal but was read after it: a
	// real event whose state is gone.
	Err error
}

// ErrEventMonitorClosed is returned by Watch and Unwatch after the monitor was closed or its
// context ended.
var ErrEventMonitorClosed = errors.New("cgroups: event monitor closed")

// ErrNotWatched is returned by Unwatch for a cgroup that is not watched (never was, was
// unwatched, or was removed and reported as such).
var ErrNotWatched = errors.New("cgroups: cgroup not watched")

// Tuning of the loop. They are variables so tests can shorten them.
var (
	// monitorPoll is how often the loop reads its eventfds while the consumer does not take
	// events, so counts and removals are still noticed (and coalesced) then.
	monitorPoll = 10 * time.Millisecond
	// oomSettle bounds the wait for an OOM's kill to show in oom_kill; oomRecheck is the pace of
	// the re-reads.
	oomSettle  = 100 * time.Millisecond
	oomRecheck = 2 * time.Millisecond
	// removalQuiet is how long a removed cgroup's registrations must stay silent, once each has
	// been signalled, before the removal is reported; removalGrace bounds the whole wait.
	removalQuiet = 100 * time.Millisecond
	removalGrace = 2 * time.Second
)

// EventMonitorOpt configures an EventMonitor.
type EventMonitorOpt func(*EventMonitor)

// WithEventHierarchy makes WatchPath and UnwatchPath find the memory controller in h instead of
// V1.
func WithEventHierarchy(h Hierarchy) EventMonitorOpt {
	return func(m *EventMonitor) { m.hierarchy = h }
}

// EventMonitor watches the memory events of any number of cgroups with one goroutine and one
// epoll instance, and delivers them as Events on one channel.
//
// Every fd it uses is O_CLOEXEC and owned by it: an eventfd per registration, an O_PATH fd per
// watched cgroup directory (so its state is read from the very cgroup that was registered, never
// from a new one created at the same path), the epoll fd and a wake-up eventfd. Unwatch closes one
// cgroup's fds; Close, or the end of the context given to NewEventMonitor, closes all of them and
// then the Events channel.
//
// The Events channel is unbuffered: the monitor keeps undelivered events in a queue with at most
// one entry per (cgroup, MemoryEvent), plus one removal per cgroup, and adds further signals to
// the queued entry's Count (its state fields and Time are then the latest). So a slow consumer
// never blocks the loop and never loses a count, and the queue's size is bounded by the number of
// registrations. While events wait, the loop still reads its eventfds every 10 ms.
//
// The methods are safe for concurrent use.
type EventMonitor struct {
	hierarchy Hierarchy
	events    chan Event
	kick      chan struct{} // capacity 1: wakes the loop waiting to send
	done      chan struct{} // closed when the loop has released everything
	stopCtx   func() bool

	mu      sync.Mutex
	reqs    []*monitorReq
	closing bool  // Close was called or the context ended
	stopped bool  // the loop has exited: no request will be served
	err     error // why the loop stopped on its own, if it did

	closeOnce sync.Once

	// Loop-owned from here on.
	epfd     int
	wakefd   int
	watches  map[string]*watchedCgroup // by absolute directory
	regs     map[uint64]*eventReg      // by epoll id
	nextID   uint64
	queue    []*pendingEvent
	settling []*pendingEvent  // OOMs waiting for their kill to be counted
	removing []*watchedCgroup // removed cgroups waiting for their last signals
	buf      []byte
}

// watchedCgroup is one watched cgroup directory and its registrations.
type watchedCgroup struct {
	key  string  // absolute directory path
	path string  // as reported in Event.Path
	dir  *fsRoot // rooted at an O_PATH fd of the directory
	ino  uint64  // identity of the directory, to refuse mixing two cgroups of one path
	regs []*eventReg

	removing   bool
	removedAt  time.Time // when the removal was noticed
	lastSignal time.Time
}

// eventReg is one registration: a MemoryEvent and its eventfd.
type eventReg struct {
	id        uint64
	w         *watchedCgroup
	event     MemoryEvent
	kind      EventKind
	file      string // the state file read on a signal (thresholds)
	threshold uint64
	efd       int

	lastOOMKill uint64        // oom_kill as of the last read
	unconfirmed uint64        // signals read after the cgroup was found removed
	pend        *pendingEvent // the queued, undelivered event of this registration
}

type pendingEvent struct {
	ev          Event
	reg         *eventReg // nil for a removal
	w           *watchedCgroup
	settling    bool
	settleUntil time.Time
}

type monitorOp int

const (
	opWatch monitorOp = iota
	opUnwatch
	opFDs // tests: the eventfds of a watched cgroup
)

type monitorReq struct {
	op   monitorOp
	key  string
	w    *watchedCgroup // opWatch: a prepared watch with registered fds
	fds  []int          // opFDs: the answer
	done chan error
}

// NewEventMonitor starts a monitor. It runs until Close is called or ctx ends.
func NewEventMonitor(ctx context.Context, opts ...EventMonitorOpt) (*EventMonitor, error) {
	m := &EventMonitor{
		hierarchy: V1,
		events:    make(chan Event),
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		watches:   map[string]*watchedCgroup{},
		regs:      map[uint64]*eventReg{},
		nextID:    1, // 0 is the wake-up eventfd
		buf:       make([]byte, 0, 512),
	}
	for _, o := range opts {
		o(m)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cgroups: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("cgroups: eventfd: %w", err)
	}
	if err := epollAdd(epfd, wakefd, 0); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, err
	}
	m.epfd, m.wakefd = epfd, wakefd
	if ctx != nil && ctx.Done() != nil {
		m.stopCtx = context.AfterFunc(ctx, m.requestClose)
	}
	go m.loop()
	return m, nil
}

// Events returns the channel of events. It is closed once the monitor has stopped (Close, or the
// context's end) and released its fds.
func (m *EventMonitor) Events() <-chan Event { return m.events }

// Close stops the loop, closes every fd of the monitor and the Events channel, and waits for all
// of that. Events not yet taken are dropped. It returns the error that stopped the loop, if it
// stopped on its own. Close may be called more than once.
func (m *EventMonitor) Close() error {
	m.requestClose()
	<-m.done
	if m.stopCtx != nil {
		m.stopCtx()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *EventMonitor) requestClose() {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closing = true
		m.mu.Unlock()
		m.wake()
	})
}

// wake interrupts the loop wherever it waits.
func (m *EventMonitor) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	m.mu.Lock()
	if !m.stopped { // after the loop's end the fd number may belong to another file
		// EAGAIN means the counter is already huge: the loop is woken anyway.
		_, _ = unix.Write(m.wakefd, one[:])
	}
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Watch registers events (OOMEvent() if none is given) on cg's memory cgroup. Watching a cgroup
// that is already watched adds the events to it. The registrations, and the cgroup's removal, are
// then reported on Events until Unwatch, Close, or the removal's report.
func (m *EventMonitor) Watch(cg Cgroup, events ...MemoryEvent) error {
	root, path, err := memoryTarget(cg, true)
	if err != nil {
		return err
	}
	return m.watch(root, path, events)
}

// WatchPath is Watch for the cgroup at path in the memory hierarchy ("/a/b"), found in V1 or
// the hierarchy of WithEventHierarchy.
func (m *EventMonitor) WatchPath(path string, events ...MemoryEvent) error {
	root, err := m.memoryRoot()
	if err != nil {
		return err
	}
	return m.watch(root, path, events)
}

// Unwatch stops watching cg's memory cgroup and closes its fds. Once it returns, no event of the
// cgroup is delivered any more, queued ones included.
func (m *EventMonitor) Unwatch(cg Cgroup) error {
	root, path, err := memoryTarget(cg, false)
	if err != nil {
		return err
	}
	return m.unwatch(root, path)
}

// UnwatchPath is Unwatch for the cgroup at path in the memory hierarchy.
func (m *EventMonitor) UnwatchPath(path string) error {
	root, err := m.memoryRoot()
	if err != nil {
		return err
	}
	return m.unwatch(root, path)
}

// memoryTarget finds the memory controller's root and cgroup path of cg. Unless live, a deleted
// cgroup still names its path, so that it can be unwatched.
func memoryTarget(cg Cgroup, live bool) (*fsRoot, string, error) {
	c, ok := cg.(*cgroup)
	if !ok || c == nil {
		return nil, "", fmt.Errorf("%w: %T is not a Cgroup of this package", ErrInvalidValue, cg)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if live && c.err != nil {
		return nil, "", c.err
	}
	for _, s := range c.subsystems {
		mc, ok := s.(*memoryController)
		if !ok {
			continue
		}
		p, err := c.path(Memory)
		if err != nil {
			return nil, "", err
		}
		return mc.fs, p, nil
	}
	return nil, "", ErrMemoryNotSupported
}

func (m *EventMonitor) memoryRoot() (*fsRoot, error) {
	subsystems, err := m.hierarchy()
	if err != nil {
		return nil, err
	}
	for _, s := range subsystems {
		if mc, ok := s.(*memoryController); ok {
			return mc.fs, nil
		}
	}
	return nil, ErrMemoryNotSupported
}

// classify returns the kind of a MemoryEvent, the state file read on its signal and, for a
// threshold, the threshold in bytes.
func classify(e MemoryEvent) (EventKind, string, uint64, error) {
	if e == nil {
		return 0, "", 0, fmt.Errorf("%w: nil MemoryEvent", ErrInvalidValue)
	}
	switch f := e.EventFile(); f {
	case "memory.oom_control":
		return EventOOM, f, 0, nil
	case "memory.usage_in_bytes", "memory.memsw.usage_in_bytes":
		v, err := parseUint([]byte(e.Arg()))
		if err != nil || strings.TrimSpace(e.Arg()) == "" {
			return 0, "", 0, fmt.Errorf("%w: threshold %q of %s: want a number of bytes", ErrInvalidValue, e.Arg(), f)
		}
		return EventThreshold, f, v, nil
	case "memory.pressure_level":
		return EventPressure, f, 0, nil
	default:
		return 0, "", 0, fmt.Errorf("%w: %q is not a memory event file", ErrInvalidValue, f)
	}
}

// watch registers the events in the caller's goroutine, then hands them to the loop.
func (m *EventMonitor) watch(root *fsRoot, path string, events []MemoryEvent) (err error) {
	if len(events) == 0 {
		events = []MemoryEvent{OOMEvent()}
	}
	rel, err := relPath(path, "")
	if err != nil {
		return err
	}
	w := &watchedCgroup{key: root.join(rel), path: "/" + strings.TrimPrefix(rel, ".")}
	if rel == "." {
		w.path = "/"
	}
	for _, e := range events {
		kind, file, thr, err := classify(e)
		if err != nil {
			return err
		}
		w.regs = append(w.regs, &eventReg{w: w, event: e, kind: kind, file: file, threshold: thr, efd: -1})
	}
	if m.isClosing() {
		return ErrEventMonitorClosed
	}
	if err := root.init(); err != nil {
		return err
	}
	dfd, err := root.openRel(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return &FileError{Op: "open", Path: w.key, Err: err}
	}
	w.dir = &fsRoot{path: w.key, fd: dfd, magic: root.magic}
	w.dir.ready.Store(true)
	defer func() {
		if err != nil {
			releaseWatch(w)
		}
	}()
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return &FileError{Op: "stat", Path: w.key, Err: err}
	}
	w.ino = st.Ino
	buf := make([]byte, 0, 256)
	for _, r := range w.regs {
		if r.kind == EventOOM {
			// The baseline, so the first OOM's kill is recognised by oom_kill growing.
			data, err := w.dir.readFile("/", "memory.oom_control", buf)
			if err != nil {
				return err
			}
			r.lastOOMKill = parseOOMControl(data).oomKill
		}
		efd, err := registerMemoryEvent(w.dir, "/", r.event)
		if err != nil {
			return err
		}
		r.efd = int(efd)
		if err := unix.SetNonblock(r.efd, true); err != nil {
			return fmt.Errorf("cgroups: eventfd of %s: set O_NONBLOCK: %w", w.key, err)
		}
	}
	req := &monitorReq{op: opWatch, key: w.key, w: w}
	return m.submit(req)
}

func (m *EventMonitor) unwatch(root *fsRoot, path string) error {
	rel, err := relPath(path, "")
	if err != nil {
		return err
	}
	return m.submit(&monitorReq{op: opUnwatch, key: root.join(rel)})
}

func (m *EventMonitor) isClosing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closing || m.stopped
}

// submit queues a request for the loop and waits for its answer. The loop answers every request
// it takes, and answers ErrEventMonitorClosed to those left when it stops.
func (m *EventMonitor) submit(req *monitorReq) error {
	req.done = make(chan error, 1)
	m.mu.Lock()
	if m.closing || m.stopped {
		m.mu.Unlock()
		return ErrEventMonitorClosed
	}
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	m.wake()
	return <-req.done
}

// releaseWatch closes a watch's fds (the kernel drops a registration when its eventfd is
// closed).
func releaseWatch(w *watchedCgroup) {
	for _, r := range w.regs {
		if r.efd >= 0 {
			unix.Close(r.efd)
			r.efd = -1
		}
	}
	if w.dir != nil && w.dir.fd >= 0 {
		unix.Close(w.dir.fd)
		w.dir.fd = -1
	}
}

func epollAdd(epfd, fd int, id uint64) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("cgroups: epoll_ctl add fd %d: %w", fd, err)
	}
	return nil
}

func epollID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// loop is the monitor's one goroutine.
func (m *EventMonitor) loop() {
	defer m.shutdown()
	evs := make([]unix.EpollEvent, 256)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if !m.serveRequests() {
			return
		}
		now := time.Now()
		head := m.sendable()
		timeout := -1
		if head != nil {
			timeout = 0
		} else if d, ok := m.nextDeadline(now); ok {
			timeout = int((d + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.EpollWait(m.epfd, evs, timeout)
		if err != nil && err != unix.EINTR {
			m.mu.Lock()
			m.err = fmt.Errorf("cgroups: epoll_wait: %w", err)
			m.mu.Unlock()
			return
		}
		now = time.Now()
		for i := 0; i < n; i++ {
			id := epollID(&evs[i])
			if id == 0 {
				var b [8]byte
				_, _ = unix.Read(m.wakefd, b[:])
				continue
			}
			if r := m.regs[id]; r != nil {
				m.signal(r, now)
			}
		}
		m.tick(now)
		if head = m.sendable(); head == nil {
			continue
		}
		wait := monitorPoll
		if d, ok := m.nextDeadline(now); ok && d < wait {
			wait = d
		}
		timer.Reset(wait)
		select {
		case m.events <- head.ev:
			m.remove(head)
		case <-m.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// serveRequests answers the queued requests; it returns false once the monitor is closing.
func (m *EventMonitor) serveRequests() bool {
	m.mu.Lock()
	reqs, closing := m.reqs, m.closing
	m.reqs = nil
	m.mu.Unlock()
	for _, req := range reqs {
		if closing {
			m.answerClosed(req)
			continue
		}
		req.done <- m.serve(req)
	}
	return !closing
}

func (m *EventMonitor) answerClosed(req *monitorReq) {
	if req.w != nil {
		releaseWatch(req.w)
	}
	req.done <- ErrEventMonitorClosed
}

func (m *EventMonitor) serve(req *monitorReq) error {
	switch req.op {
	case opWatch:
		w := req.w
		if old := m.watches[req.key]; old != nil {
			if old.removing || old.ino != w.ino {
				releaseWatch(w)
				return fmt.Errorf("cgroups: watch %s: %w", w.key, ErrCgroupDeleted)
			}
			// Same cgroup: its registrations join the existing watch, its directory fd goes.
			unix.Close(w.dir.fd)
			w.dir.fd = -1
			for _, r := range w.regs {
				r.w = old
			}
			if err := m.addRegs(w.regs); err != nil {
				releaseWatch(&watchedCgroup{regs: w.regs})
				return err
			}
			old.regs = append(old.regs, w.regs...)
			return nil
		}
		if err := m.addRegs(w.regs); err != nil {
			releaseWatch(w)
			return err
		}
		m.watches[req.key] = w
		return nil
	case opUnwatch:
		w := m.watches[req.key]
		if w == nil {
			return fmt.Errorf("cgroups: unwatch %s: %w", req.key, ErrNotWatched)
		}
		m.drop(w)
		m.removeQueued(w)
		return nil
	case opFDs:
		w := m.watches[req.key]
		if w == nil {
			return ErrNotWatched
		}
		for _, r := range w.regs {
			req.fds = append(req.fds, r.efd)
		}
		return nil
	}
	return fmt.Errorf("cgroups: unknown monitor request %d", req.op)
}

// addRegs adds registrations to the epoll set, all or none.
func (m *EventMonitor) addRegs(regs []*eventReg) error {
	for i, r := range regs {
		r.id = m.nextID
		m.nextID++
		if err := epollAdd(m.epfd, r.efd, r.id); err != nil {
			for _, done := range regs[:i] {
				_ = unix.EpollCtl(m.epfd, unix.EPOLL_CTL_DEL, done.efd, nil)
				delete(m.regs, done.id)
			}
			return err
		}
		m.regs[r.id] = r
	}
	return nil
}

// drop forgets a watch and closes its fds. Its queued events stay queued (see removeQueued).
func (m *EventMonitor) drop(w *watchedCgroup) {
	for _, r := range w.regs {
		_ = unix.EpollCtl(m.epfd, unix.EPOLL_CTL_DEL, r.efd, nil)
		delete(m.regs, r.id)
	}
	releaseWatch(w)
	if m.watches[w.key] == w {
		delete(m.watches, w.key)
	}
	if w.removing {
		m.removing = without(m.removing, w)
	}
}

// removeQueued drops the undelivered events of a watch.
func (m *EventMonitor) removeQueued(w *watchedCgroup) {
	q := m.queue[:0]
	for _, p := range m.queue {
		if p.w != w {
			q = append(q, p)
		} else if p.reg != nil {
			p.reg.pend = nil
		}
	}
	clear(m.queue[len(q):])
	m.queue = q
	s := m.settling[:0]
	for _, p := range m.settling {
		if p.w != w {
			s = append(s, p)
		}
	}
	clear(m.settling[len(s):])
	m.settling = s
}

func without[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			copy(s[i:], s[i+1:])
			var zero T
			s[len(s)-1] = zero
			return s[:len(s)-1]
		}
	}
	return s
}

// readCounter reads and resets an eventfd's counter; 0 if it had not fired.
func readCounter(fd int) uint64 {
	var b [8]byte
	for {
		_, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0
		}
		return binary.NativeEndian.Uint64(b[:])
	}
}

// signal handles a readable registration. The counter is read first and the cgroup's existence
// checked after: the kernel's removal signal comes only after rmdir, so a cgroup that still
// exists after the read means every signal in the count was a real event.
func (m *EventMonitor) signal(r *eventReg, now time.Time) {
	n := readCounter(r.efd)
	if n == 0 {
		return
	}
	w := r.w
	if w.removing {
		r.unconfirmed += n
		w.lastSignal = now
		return
	}
	var st eventState
	gone, err := m.readState(r, &st)
	if gone {
		r.unconfirmed += n
		m.startRemoval(w, now)
		return
	}
	m.merge(r, n, now, &st, err)
}

type eventState struct {
	oomKill, usage        uint64
	underOOM, killDisable bool
}

type oomControl struct {
	oomKill               uint64
	underOOM, killDisable bool
}

func parseOOMControl(data []byte) oomControl {
	var c oomControl
	_ = forEachKeyValue(data, func(key []byte, v uint64) {
		switch string(key) {
		case "oom_kill":
			c.oomKill = v
		case "under_oom":
			c.underOOM = v != 0
		case "oom_kill_disable":
			c.killDisable = v != 0
		}
	})
	return c
}

// readState reads the registration's state beneath the kept directory fd. gone reports that the
// cgroup was removed (the file can no longer be found beneath the directory, or the kernel
// answers ENODEV); err any other failure.
func (m *EventMonitor) readState(r *eventReg, st *eventState) (gone bool, err error) {
	dir := r.w.dir
	switch r.kind {
	case EventOOM:
		data, err := dir.readFile("/", "memory.oom_control", m.buf)
		if err != nil {
			return isGone(err), err
		}
		m.buf = data[:0]
		c := parseOOMControl(data)
		st.oomKill, st.underOOM, st.killDisable = c.oomKill, c.underOOM, c.killDisable
		return false, nil
	case EventThreshold:
		v, err := dir.readUint("/", r.file)
		if err != nil {
			return isGone(err), err
		}
		st.usage = v
		return false, nil
	default:
		fd, err := dir.openRel(cgroupProcs, unix.O_PATH)
		if err != nil {
			return isMissingErrno(err), &FileError{Op: "open", Path: dir.join(cgroupProcs), Err: err}
		}
		unix.Close(fd)
		return false, nil
	}
}

func isGone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOTDIR)
}

// merge adds n signals of r, read at now with state st, to r's queued event (queuing one if
// there is none).
func (m *EventMonitor) merge(r *eventReg, n uint64, now time.Time, st *eventState, err error) {
	p := r.pend
	fresh := p == nil
	if fresh {
		p = &pendingEvent{reg: r, w: r.w, ev: Event{Path: r.w.path, Kind: r.kind, Event: r.event}}
		r.pend = p
		m.queue = append(m.queue, p)
	}
	p.ev.Count += n
	p.ev.Time = now
	p.ev.Err = err
	if err != nil {
		return
	}
	switch r.kind {
	case EventOOM:
		p.ev.OOMKill, p.ev.UnderOOM, p.ev.OOMKillDisable = st.oomKill, st.underOOM, st.killDisable
		if st.oomKill > r.lastOOMKill || st.killDisable {
			r.lastOOMKill = st.oomKill
		} else if fresh {
			// Notified before the kill: hold the event until oom_kill shows it (bounded).
			p.settling, p.settleUntil = true, now.Add(oomSettle)
			m.settling = append(m.settling, p)
		}
	case EventThreshold:
		p.ev.Usage, p.ev.Above = st.usage, st.usage >= r.threshold
	}
}

// startRemoval marks a watch whose cgroup was found removed. From now on every signal of its
// registrations is counted as unconfirmed: the kernel's removal signal (exactly one per
// registration) or a real event that came just before the removal but was read after it.
func (m *EventMonitor) startRemoval(w *watchedCgroup, now time.Time) {
	w.removing, w.removedAt, w.lastSignal = true, now, now
	m.removing = append(m.removing, w)
	for _, r := range w.regs {
		r.unconfirmed += readCounter(r.efd)
	}
	// An OOM confirmed before the removal stays a real OOM: deliver it with what was read.
	for _, p := range m.settling {
		if p.w == w {
			p.settling = false
		}
	}
	m.settling = m.dropSettled()
}

func (m *EventMonitor) dropSettled() []*pendingEvent {
	s := m.settling[:0]
	for _, p := range m.settling {
		if p.settling {
			s = append(s, p)
		}
	}
	clear(m.settling[len(s):])
	return s
}

// tick settles OOM events and finishes removals whose time has come.
func (m *EventMonitor) tick(now time.Time) {
	if len(m.settling) > 0 {
		var st eventState
		for _, p := range m.settling {
			gone, err := m.readState(p.reg, &st)
			switch {
			case gone || err != nil:
				p.settling = false
			case st.oomKill > p.reg.lastOOMKill || st.killDisable || !now.Before(p.settleUntil):
				p.ev.OOMKill, p.ev.UnderOOM, p.ev.OOMKillDisable = st.oomKill, st.underOOM, st.killDisable
				p.reg.lastOOMKill = st.oomKill
				p.settling = false
			}
		}
		m.settling = m.dropSettled()
	}
	for i := 0; i < len(m.removing); {
		w := m.removing[i]
		if !(allSignalled(w) && now.Sub(w.lastSignal) >= removalQuiet) && now.Sub(w.removedAt) < removalGrace {
			i++
			continue
		}
		m.finishRemoval(w, now)
	}
}

// allSignalled tells whether every registration of a removed cgroup has had at least the
// kernel's removal signal.
func allSignalled(w *watchedCgroup) bool {
	for _, r := range w.regs {
		if r.unconfirmed == 0 {
			return false
		}
	}
	return true
}

// finishRemoval reports a removed cgroup: first, per registration, the signals beyond the
// kernel's one removal signal (real events read too late to read their state), then the removal
// itself; and closes the cgroup's fds.
func (m *EventMonitor) finishRemoval(w *watchedCgroup, now time.Time) {
	for _, r := range w.regs {
		if r.unconfirmed <= 1 {
			continue
		}
		if r.pend != nil {
			// A confirmed event is still queued: it takes the count and keeps its state.
			r.pend.ev.Count += r.unconfirmed - 1
			continue
		}
		m.merge(r, r.unconfirmed-1, w.lastSignal, nil,
			fmt.Errorf("cgroups: %s: state unknown: %w", w.key, ErrCgroupDeleted))
	}
	m.queue = append(m.queue, &pendingEvent{w: w, ev: Event{Path: w.path, Kind: EventRemoved, Count: 1, Time: w.removedAt}})
	m.drop(w)
}

// sendable returns the first queued event that may be delivered.
func (m *EventMonitor) sendable() *pendingEvent {
	for _, p := range m.queue {
		if !p.settling {
			return p
		}
	}
	return nil
}

// remove takes a delivered event out of the queue.
func (m *EventMonitor) remove(p *pendingEvent) {
	m.queue = without(m.queue, p)
	if p.reg != nil && p.reg.pend == p {
		p.reg.pend = nil
	}
}

// nextDeadline returns how long until the next OOM settle re-read or removal decision.
func (m *EventMonitor) nextDeadline(now time.Time) (time.Duration, bool) {
	var d time.Duration
	ok := false
	if len(m.settling) > 0 {
		d, ok = oomRecheck, true
	}
	for _, w := range m.removing {
		t := w.removedAt.Add(removalGrace)
		if q := w.lastSignal.Add(removalQuiet); allSignalled(w) && q.Before(t) {
			t = q
		}
		left := t.Sub(now)
		if left < 0 {
			left = 0
		}
		if !ok || left < d {
			d, ok = left, true
		}
	}
	return d, ok
}

// shutdown releases everything when the loop ends, answers the requests still queued and closes
// the Events channel.
func (m *EventMonitor) shutdown() {
	for _, w := range m.watches {
		releaseWatch(w)
	}
	for _, w := range m.removing {
		releaseWatch(w)
	}
	m.watches, m.regs, m.queue, m.settling, m.removing = nil, nil, nil, nil, nil
	unix.Close(m.epfd)
	m.mu.Lock()
	m.stopped = true
	unix.Close(m.wakefd)
	reqs := m.reqs
	m.reqs = nil
	m.mu.Unlock()
	for _, req := range reqs {
		m.answerClosed(req)
	}
	close(m.events)
	close(m.done)
}

// eventFDs returns the eventfds of a watched cgroup, for tests that simulate a signal.
func (m *EventMonitor) eventFDs(root *fsRoot, path string) ([]int, error) {
	rel, err := relPath(path, "")
	if err != nil {
		return nil, err
	}
	req := &monitorReq{op: opFDs, key: root.join(rel)}
	if err := m.submit(req); err != nil {
		return nil, err
	}
	return req.fds, nil
}
