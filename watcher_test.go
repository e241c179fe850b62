package cgroups

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// newTestMonitor starts a monitor that is closed when the test ends (before its cgroups are
// removed, as cleanups run last-registered first).
func newTestMonitor(t testing.TB) *EventMonitor {
	t.Helper()
	m, err := NewEventMonitor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// recvEvents collects events until stop returns true for one of them (which is included) or
// timeout passes.
func recvEvents(t testing.TB, m *EventMonitor, timeout time.Duration, stop func(Event) bool) []Event {
	t.Helper()
	var got []Event
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				return got
			}
			got = append(got, ev)
			if stop != nil && stop(ev) {
				return got
			}
		case <-deadline.C:
			return got
		}
	}
}

func countKind(evs []Event, path string, kind EventKind) int {
	n := 0
	for _, ev := range evs {
		if ev.Path == path && ev.Kind == kind {
			n++
		}
	}
	return n
}

// signalFD adds v to an eventfd's counter, as the kernel does when it signals a registration.
func signalFD(t testing.TB, fd int, v uint64) {
	t.Helper()
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], v)
	if _, err := unix.Write(fd, b[:]); err != nil {
		t.Fatalf("write eventfd %d: %v", fd, err)
	}
}

func monitorFDs(t testing.TB, m *EventMonitor, path string) []int {
	t.Helper()
	root, err := m.memoryRoot()
	if err != nil {
		t.Fatal(err)
	}
	fds, err := m.eventFDs(root, path)
	if err != nil {
		t.Fatalf("eventFDs(%s): %v", path, err)
	}
	return fds
}

// TestWatcherOOMReal: a child under a 32 MiB limit allocates 100 MiB. The child's watch gets
// exactly one OOM event, within a second, with oom_kill counted; the parent's watch gets none,
// as the kernel notifies the OOMing group and its descendants only.
func TestWatcherOOMReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	child, err := parent.New("c", memRes(specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(32 * mib)}))
	if err != nil {
		t.Fatal(err)
	}
	cpath := ppath + "/c"
	m := newTestMonitor(t)
	if err := m.Watch(parent); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(child, OOMEvent()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	startAllocator(t, child, "alloc", "100", "1")
	evs := recvEvents(t, m, 5*time.Second, func(ev Event) bool { return ev.Kind == EventOOM })
	if len(evs) == 0 {
		t.Fatal("no event within 5s")
	}
	first := evs[len(evs)-1]
	took := first.Time.Sub(start)
	t.Logf("OOM event %+v, %v after the allocator started", first, took)
	if first.Path != cpath || first.Kind != EventOOM {
		t.Fatalf("first event %+v, want an OOM of %s", first, cpath)
	}
	if took > time.Second {
		t.Errorf("OOM event %v after the allocator started, want within a second", took)
	}
	if first.Count < 1 || first.OOMKill < 1 || first.Err != nil || first.OOMKillDisable {
		t.Errorf("OOM event %+v, want Count >= 1 and OOMKill >= 1", first)
	}
	// Nothing more: no second OOM event of the child, none of the parent.
	evs = append(evs, recvEvents(t, m, time.Second, nil)...)
	if n := countKind(evs, cpath, EventOOM); n != 1 {
		t.Errorf("%d OOM events for the child, want 1: %+v", n, evs)
	}
	for _, ev := range evs {
		if ev.Path == ppath {
			t.Errorf("event for the parent, whose limit was not hit: %+v", ev)
		}
	}
}

// TestWatcherThresholdReal: usage crosses 20 MiB up, then the memory is freed: two events,
// above then below.
func TestWatcherThresholdReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	m := newTestMonitor(t)
	thr := MemoryThresholdEvent(20*mib, false)
	if err := m.Watch(cg, thr); err != nil {
		t.Fatal(err)
	}
	// The events are taken as they come: a consumer that waited for both would get one event
	// with Count 2 (and the state of the latest).
	_, wait := startAllocator(t, cg, "allocfree", "40")
	evs := recvEvents(t, m, 10*time.Second, func(ev Event) bool { return ev.Above })
	wait("freed", 10*time.Second)
	evs = append(evs, recvEvents(t, m, 5*time.Second, func(ev Event) bool { return !ev.Above })...)
	evs = append(evs, recvEvents(t, m, 300*time.Millisecond, nil)...)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (above, below): %+v", len(evs), evs)
	}
	for i, want := range []bool{true, false} {
		ev := evs[i]
		if ev.Path != path || ev.Kind != EventThreshold || ev.Event != thr || ev.Above != want || ev.Count != 1 || ev.Err != nil {
			t.Errorf("event %d = %+v, want threshold Above=%v Count=1", i, ev, want)
		}
		if want != (ev.Usage >= 20*mib) {
			t.Errorf("event %d: usage %d inconsistent with Above=%v", i, ev.Usage, ev.Above)
		}
	}
}

// TestWatcherPressureReal: under the OOM workload of a child, the child's critical listener
// fires; on the parent, a hierarchy-mode listener fires for the child's pressure and a local-mode
// one does not.
func TestWatcherPressureReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	child, err := parent.New("c", memRes(specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(32 * mib)}))
	if err != nil {
		t.Fatal(err)
	}
	cpath := ppath + "/c"
	m := newTestMonitor(t)
	crit := MemoryPressureEvent(CriticalPressure, DefaultMode)
	local := MemoryPressureEvent(CriticalPressure, LocalMode)
	hier := MemoryPressureEvent(LowPressure, HierarchyMode)
	if err := m.Watch(child, crit, OOMEvent()); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(parent, local, hier); err != nil {
		t.Fatal(err)
	}
	startAllocator(t, child, "alloc", "100", "1")
	evs := recvEvents(t, m, 5*time.Second, func(ev Event) bool { return ev.Kind == EventOOM })
	evs = append(evs, recvEvents(t, m, 500*time.Millisecond, nil)...)
	counts := map[MemoryEvent]uint64{}
	for _, ev := range evs {
		if ev.Kind == EventPressure {
			counts[ev.Event] += ev.Count
		}
	}
	t.Logf("signals: child critical %d, parent critical,local %d, parent low,hierarchy %d",
		counts[crit], counts[local], counts[hier])
	if counts[crit] == 0 {
		t.Errorf("no critical pressure event for the OOMing child %s", cpath)
	}
	if counts[hier] == 0 {
		t.Errorf("no hierarchy-mode event on the parent for its child's pressure")
	}
	if counts[local] != 0 {
		t.Errorf("local-mode listener on the parent fired %d times for its child's pressure", counts[local])
	}
}

// TestWatcherRemovalReal: deleting a watched cgroup yields one removal event and no OOM,
// threshold or pressure event, although the kernel signals every registration once; the
// cgroup's fds are closed.
func TestWatcherRemovalReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	m := newTestMonitor(t)
	before := openFDs(t)
	child, err := parent.New("c", nil)
	if err != nil {
		t.Fatal(err)
	}
	cpath := ppath + "/c"
	err = m.Watch(child, OOMEvent(), MemoryThresholdEvent(mib, false),
		MemoryPressureEvent(LowPressure, DefaultMode), MemoryPressureEvent(CriticalPressure, LocalMode))
	if err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before+5 {
		t.Errorf("%d fds after watching 4 events, want %d (a directory fd and 4 eventfds)", n, before+5)
	}
	if err := child.Delete(); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	evs := recvEvents(t, m, 10*time.Second, func(ev Event) bool { return ev.Kind == EventRemoved })
	t.Logf("removal reported %v after Delete", time.Since(deleted))
	evs = append(evs, recvEvents(t, m, 500*time.Millisecond, nil)...)
	if len(evs) != 1 || evs[0].Kind != EventRemoved || evs[0].Path != cpath || evs[0].Count != 1 {
		t.Fatalf("events %+v, want exactly one removal of %s", evs, cpath)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d fds after the removal, want %d", n, before)
	}
	if err := m.Unwatch(child); !errors.Is(err, ErrNotWatched) {
		t.Errorf("Unwatch after the removal: %v, want ErrNotWatched", err)
	}
}

// TestWatcherRemovalAfterRealEventReal: a signal that was a real event, read while the cgroup
// still existed, is delivered before the removal; the removal's own signals are not.
func TestWatcherRemovalAfterRealEventReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	child, err := parent.New("c", nil)
	if err != nil {
		t.Fatal(err)
	}
	cpath := ppath + "/c"
	m := newTestMonitor(t)
	thr := MemoryThresholdEvent(mib, false)
	if err := m.Watch(child, thr); err != nil {
		t.Fatal(err)
	}
	// Signal while the cgroup exists, and do not take the event yet: it waits in the queue.
	signalFD(t, monitorFDs(t, m, cpath)[0], 1)
	time.Sleep(50 * time.Millisecond)
	if err := child.Delete(); err != nil {
		t.Fatal(err)
	}
	evs := recvEvents(t, m, 10*time.Second, func(ev Event) bool { return ev.Kind == EventRemoved })
	if len(evs) != 2 || evs[0].Kind != EventThreshold || evs[0].Count != 1 || evs[0].Err != nil ||
		evs[1].Kind != EventRemoved || evs[1].Path != cpath {
		t.Fatalf("events %+v, want the threshold event, then the removal", evs)
	}
}

// TestWatcherRealEventReadAfterRemovalReal: a signal counted after the cgroup was removed, on top
// of the kernel's one removal signal, is a real event whose state is gone: it is delivered with
// its count and ErrCgroupDeleted, then the removal.
func TestWatcherRealEventReadAfterRemovalReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	child, err := parent.New("c", nil)
	if err != nil {
		t.Fatal(err)
	}
	cpath := ppath + "/c"
	m := newTestMonitor(t)
	if err := m.Watch(child); err != nil {
		t.Fatal(err)
	}
	fd := monitorFDs(t, m, cpath)[0]
	if err := child.Delete(); err != nil {
		t.Fatal(err)
	}
	// Within the 13 ms before the kernel's own removal signal: as an OOM signalled just before
	// the rmdir but read after it would be.
	signalFD(t, fd, 1)
	evs := recvEvents(t, m, 10*time.Second, func(ev Event) bool { return ev.Kind == EventRemoved })
	evs = append(evs, recvEvents(t, m, 300*time.Millisecond, nil)...)
	if len(evs) != 2 || evs[0].Kind != EventOOM || evs[0].Count != 1 || !errors.Is(evs[0].Err, ErrCgroupDeleted) ||
		evs[1].Kind != EventRemoved || evs[1].Path != cpath {
		t.Fatalf("events %+v, want an OOM with Count 1 and ErrCgroupDeleted, then the removal", evs)
	}
}

// TestWatcherCoalescing: a consumer that does not read loses no count: signals are added to the
// one queued event of their registration, and each registration keeps its own.
func TestWatcherCoalescing(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	m := newTestMonitor(t)
	a, b := MemoryThresholdEvent(512*mib, false), MemoryPressureEvent(CriticalPressure, LocalMode)
	if err := m.Watch(cg, a, b); err != nil {
		t.Fatal(err)
	}
	fds := monitorFDs(t, m, path)
	for i := 0; i < 5; i++ {
		signalFD(t, fds[0], 1)
		signalFD(t, fds[1], 2)
		time.Sleep(15 * time.Millisecond) // longer than the poll: each is read separately
	}
	evs := recvEvents(t, m, 200*time.Millisecond, nil)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (one per registration): %+v", len(evs), evs)
	}
	if evs[0].Event != a || evs[0].Count != 5 || evs[0].Above || evs[0].Err != nil {
		t.Errorf("first event %+v, want threshold with Count 5, below 512 MiB", evs[0])
	}
	if evs[1].Event != b || evs[1].Count != 10 || evs[1].Kind != EventPressure {
		t.Errorf("second event %+v, want pressure with Count 10", evs[1])
	}
}

// TestWatcherUnwatchDropsQueued: after Unwatch returns, no event of the cgroup is delivered, not
// even one queued before; Watch again works.
func TestWatcherUnwatchDropsQueued(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	m := newTestMonitor(t)
	ev := MemoryPressureEvent(LowPressure, LocalMode)
	if err := m.Watch(cg, ev); err != nil {
		t.Fatal(err)
	}
	signalFD(t, monitorFDs(t, m, path)[0], 3)
	time.Sleep(20 * time.Millisecond)
	if err := m.Unwatch(cg); err != nil {
		t.Fatal(err)
	}
	if evs := recvEvents(t, m, 100*time.Millisecond, nil); len(evs) != 0 {
		t.Errorf("events after Unwatch: %+v", evs)
	}
	if err := m.Unwatch(cg); !errors.Is(err, ErrNotWatched) {
		t.Errorf("second Unwatch: %v, want ErrNotWatched", err)
	}
	if err := m.WatchPath(path, ev); err != nil {
		t.Fatal(err)
	}
	signalFD(t, monitorFDs(t, m, path)[0], 1)
	if evs := recvEvents(t, m, 5*time.Second, func(Event) bool { return true }); len(evs) != 1 || evs[0].Count != 1 {
		t.Errorf("events after watching again: %+v, want one with Count 1", evs)
	}
}

// TestWatcherOOMKillDisabledReal: with the OOM killer disabled, the OOM event is delivered at
// once with under_oom set, and the group resumes when the limit is raised.
func TestWatcherOOMKillDisabledReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(32 * mib),
		DisableOOMKiller: boolp(true)}))
	m := newTestMonitor(t)
	if err := m.Watch(cg); err != nil {
		t.Fatal(err)
	}
	// 100 MiB: the first few may be charged to the helper's first cgroup before it is moved.
	_, wait := startAllocator(t, cg, "alloc", "100", "1")
	evs := recvEvents(t, m, 5*time.Second, func(ev Event) bool { return ev.Kind == EventOOM })
	if len(evs) != 1 || evs[0].Path != path || !evs[0].UnderOOM || !evs[0].OOMKillDisable || evs[0].OOMKill != 0 {
		t.Fatalf("events %+v, want one OOM with UnderOOM and no kill", evs)
	}
	if err := cg.Update(memRes(specs.LinuxMemory{Limit: i64(256 * mib), Swap: i64(256 * mib)})); err != nil {
		t.Fatal(err)
	}
	wait("done", 10*time.Second)
}

// TestWatcherErrors: bad events and paths are refused without leaking an fd; a closed monitor
// refuses everything and its channel is closed.
func TestWatcherErrors(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	m, err := NewEventMonitor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	for name, events := range map[string][]MemoryEvent{
		"nil":            {nil},
		"not an event":   {badEvent{file: "memory.stat"}},
		"bad threshold":  {thresholdArg("20M")},
		"bad level":      {OOMEvent(), MemoryPressureEvent("high", DefaultMode)},
		"bad level last": {MemoryThresholdEvent(mib, false), MemoryPressureEvent(LowPressure, "bogus")},
	} {
		if err := m.Watch(cg, events...); err == nil {
			t.Errorf("%s: Watch succeeded", name)
		}
	}
	if err := m.WatchPath(path + "/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: %v, want ErrNotExist", err)
	}
	if err := m.WatchPath("../x"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("bad path: %v, want ErrInvalidPath", err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d fds after refused watches, %d before", n, before)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-m.Events(); ok {
		t.Error("Events not closed after Close")
	}
	if err := m.Watch(cg); !errors.Is(err, ErrEventMonitorClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
	if err := m.Unwatch(cg); !errors.Is(err, ErrEventMonitorClosed) {
		t.Errorf("Unwatch after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type thresholdArg string

func (a thresholdArg) Arg() string       { return string(a) }
func (a thresholdArg) EventFile() string { return "memory.usage_in_bytes" }

// TestWatcherContextEnd: the context's end closes the monitor and its channel.
func TestWatcherContextEnd(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cg, _ := newTestCgroup(t, nil)
	before := openFDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := NewEventMonitor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(cg); err != nil {
		t.Fatal(err)
	}
	cancel()
	if evs := recvEvents(t, m, 5*time.Second, nil); len(evs) != 0 {
		t.Errorf("events: %+v", evs)
	}
	// Events is closed only after the loop released every fd.
	if n := openFDs(t); n != before {
		t.Errorf("%d fds after the context ended, %d before", n, before)
	}
	if err := m.Watch(cg); !errors.Is(err, ErrEventMonitorClosed) {
		t.Errorf("Watch after the context ended: %v", err)
	}
	_ = m.Close()
}

// TestWatcherLeaksReal: 1000 watch/unwatch cycles, from several goroutines at once, and 100
// monitors opened and closed leave the fd and goroutine counts unchanged.
func TestWatcherLeaksReal(t *testing.T) {
	cgs := make([]Cgroup, 4)
	for i := range cgs {
		cgs[i], _ = newTestCgroup(t, nil)
	}
	ignore := goleak.IgnoreCurrent()
	fds := openFDs(t)
	goroutines := runtime.NumGoroutine()

	m, err := NewEventMonitor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(cgs))
	for _, cg := range cgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				// A threshold's registration and removal each wait for an RCU grace period in
				// the kernel: every tenth cycle has one, the others an OOM listener only.
				events := []MemoryEvent{OOMEvent()}
				if i%10 == 0 {
					events = append(events, MemoryThresholdEvent(64*mib, false))
				}
				if err := m.Watch(cg, events...); err != nil {
					errs <- err
					return
				}
				if err := m.Unwatch(cg); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		m, err := NewEventMonitor(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Watch(cgs[i%len(cgs)]); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := openFDs(t); n != fds {
		t.Errorf("open fds: %d before, %d after", fds, n)
	}
	if n := settledGoroutines(goroutines); n != goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, n)
	}
	goleak.VerifyNone(t, ignore)
}

// TestWatcherConcurrentReal: many goroutines watch and unwatch distinct cgroups while events
// flow; every watched cgroup's simulated signal is delivered.
func TestWatcherConcurrentReal(t *testing.T) {
	parent, ppath := newTestCgroup(t, nil)
	m := newTestMonitor(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c, err := parent.New(fmt.Sprint("c", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if err := m.Watch(c, MemoryPressureEvent(LowPressure, LocalMode)); err != nil {
					errs <- err
					return
				}
				if err := m.Unwatch(c); err != nil {
					errs <- err
					return
				}
			}
			errs <- m.Watch(c, MemoryPressureEvent(LowPressure, LocalMode))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		signalFD(t, monitorFDs(t, m, fmt.Sprintf("%s/c%d", ppath, i))[0], 1)
	}
	seen := map[string]bool{}
	recvEvents(t, m, 10*time.Second, func(ev Event) bool { seen[ev.Path] = true; return len(seen) == n })
	if len(seen) != n {
		t.Errorf("events of %d cgroups, want %d: %v", len(seen), n, seen)
	}
}

// BenchmarkWatcherLatency measures the time from a registration's eventfd becoming readable (a
// write to it, as the kernel's signal) to the event being received from the channel, including
// the read of the cgroup's state. The OOM case has the OOM killer disabled so that the event is
// not held back waiting for a kill.
func BenchmarkWatcherLatency(b *testing.B) {
	for _, tc := range []struct {
		name  string
		res   *specs.LinuxResources
		event MemoryEvent
	}{
		{"threshold", nil, MemoryThresholdEvent(512*mib, false)},
		{"pressure", nil, MemoryPressureEvent(LowPressure, LocalMode)},
		{"oom", memRes(specs.LinuxMemory{DisableOOMKiller: boolp(true)}), OOMEvent()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cg, path := newTestCgroup(b, tc.res)
			m := newTestMonitor(b)
			if err := m.Watch(cg, tc.event); err != nil {
				b.Fatal(err)
			}
			fd := monitorFDs(b, m, path)[0]
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				signalFD(b, fd, 1)
				ev := <-m.Events()
				total += time.Since(start)
				if ev.Count != 1 || ev.Err != nil {
					b.Fatalf("event %+v", ev)
				}
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/event")
		})
	}
}

// BenchmarkWatcher1000Cgroups measures what watching 1000 cgroups (an OOM registration each)
// costs one monitor: goroutines, heap and fds.
func BenchmarkWatcher1000Cgroups(b *testing.B) {
	_, path := newTestCgroup(b, nil)
	root, err := (&EventMonitor{hierarchy: V1}).memoryRoot()
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	for i := 0; i < n; i++ {
		if err := os.Mkdir(filepath.Join(root.path, path, fmt.Sprint("c", i)), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var goroutines, heap, fds float64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		runtime.GC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		g0, f0 := runtime.NumGoroutine(), openFDs(b)
		m, err := NewEventMonitor(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if err := m.WatchPath(fmt.Sprintf("%s/c%d", path, i), OOMEvent()); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		goroutines += float64(runtime.NumGoroutine() - g0)
		heap += float64(int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc))
		fds += float64(openFDs(b) - f0)
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(goroutines/float64(b.N), "goroutines/1000cg")
	b.ReportMetric(heap/float64(b.N), "heap-bytes/1000cg")
	b.ReportMetric(fds/float64(b.N), "fds/1000cg")
}
