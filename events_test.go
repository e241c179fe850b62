package cgroups

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// waitEvent waits up to timeout for the eventfd to become readable and returns its counter, or
// 0 if it did not fire.
func waitEvent(t *testing.T, efd uintptr, timeout time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond))
		if err == unix.EINTR && time.Now().Before(deadline) {
			continue
		}
		if err != nil {
			t.Fatalf("poll eventfd %d: %v", efd, err)
		}
		if n == 0 {
			return 0
		}
		var b [8]byte
		if _, err := unix.Read(int(efd), b[:]); err != nil {
			t.Fatalf("read eventfd %d: %v", efd, err)
		}
		return binary.NativeEndian.Uint64(b[:])
	}
}

// closeEventFD closes an eventfd when the test ends, before its cgroup is removed.
func closeEventFD(t *testing.T, efd uintptr) {
	t.Cleanup(func() {
		if err := unix.Close(int(efd)); err != nil {
			t.Errorf("close eventfd %d: %v", efd, err)
		}
	})
}

func TestMemoryEventOOMReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(32 * mib)}))
	dir := memTestDir(t, cg, path)
	efd, err := cg.OOMEventFD()
	if err != nil {
		t.Fatal(err)
	}
	closeEventFD(t, efd)
	if v := waitEvent(t, efd, 0); v != 0 {
		t.Fatalf("OOM eventfd fired (%d) before any allocation", v)
	}
	startAllocator(t, cg, "alloc", "100", "1")
	start := time.Now()
	v := waitEvent(t, efd, 5*time.Second)
	if v == 0 {
		t.Fatalf("no OOM event within 5s; memory.oom_control:\n%s",
			readTestFile(t, filepath.Join(dir, "memory.oom_control")))
	}
	t.Logf("OOM event after %v, counter %d", time.Since(start), v)
	// The kill is counted once the victim is chosen, a little after the notification.
	var oom *MemoryOomControl
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var m Metrics
		if err := NewMemory(filepath.Dir(filepath.Dir(dir))).Stat(path, &m); err != nil {
			t.Fatal(err)
		}
		if oom = m.MemoryOomControl; oom != nil && oom.OomKill >= 1 {
			break
		}
	}
	if oom == nil || oom.OomKill < 1 || oom.OomKillDisable != 0 {
		t.Errorf("MemoryOomControl = %+v, want oom_kill >= 1", oom)
	}
}

func TestMemoryEventThresholdReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	dir := memTestDir(t, cg, path)
	efd, err := cg.RegisterMemoryEvent(MemoryThresholdEvent(20*mib, false))
	if err != nil {
		t.Fatal(err)
	}
	closeEventFD(t, efd)
	swfd, err := cg.RegisterMemoryEvent(MemoryThresholdEvent(20*mib, true))
	if err != nil {
		t.Fatal(err)
	}
	closeEventFD(t, swfd)
	if v := waitEvent(t, efd, 0); v != 0 {
		t.Fatalf("threshold fired (%d) with an empty cgroup", v)
	}
	startAllocator(t, cg, "alloc", "40", "2")
	if v := waitEvent(t, efd, 5*time.Second); v == 0 {
		t.Fatal("no threshold event within 5s")
	}
	// The event comes after the crossing: the peak is already past the threshold.
	if peak := readMemFile(t, dir, "memory.max_usage_in_bytes"); peak < 20*mib {
		t.Errorf("event fired at a peak of %d bytes, below the 20 MiB threshold", peak)
	}
	if v := waitEvent(t, swfd, 5*time.Second); v == 0 {
		t.Error("no memory+swap threshold event within 5s")
	}
}

func TestMemoryEventPressureReal(t *testing.T) {
	cg, _ := newTestCgroup(t, nil)
	for _, level := range []MemoryPressureLevel{LowPressure, MediumPressure, CriticalPressure} {
		for _, mode := range []EventNotificationMode{DefaultMode, LocalMode, HierarchyMode} {
			efd, err := cg.RegisterMemoryEvent(MemoryPressureEvent(level, mode))
			if err != nil {
				t.Errorf("pressure %s,%s: %v", level, mode, err)
				continue
			}
			closeEventFD(t, efd)
		}
	}
	before := openFDs(t)
	_, err := cg.RegisterMemoryEvent(MemoryPressureEvent("high", DefaultMode))
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "cgroup.event_control") {
		t.Errorf("level high: %v, want EINVAL naming cgroup.event_control", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds open after a refused registration, %d before", after, before)
	}
}

func TestMemoryEventFDCloexecNoLeakReal(t *testing.T) {
	cg, _ := newTestCgroup(t, nil)
	before := openFDs(t)
	var fds []uintptr
	for _, e := range []MemoryEvent{OOMEvent(), MemoryThresholdEvent(mib, false),
		MemoryPressureEvent(CriticalPressure, LocalMode)} {
		efd, err := cg.RegisterMemoryEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, efd)
		if f := fdFlags(t, int(efd)); f&unix.O_CLOEXEC == 0 {
			t.Errorf("eventfd for %s: flags %o lack O_CLOEXEC", e.EventFile(), f)
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", efd)); err != nil || link != "anon_inode:[eventfd]" {
			t.Errorf("fd %d is %q (%v), want an eventfd", efd, link, err)
		}
	}
	// One fd per registration: the event file's fd is closed at once.
	if n := openFDs(t); n != before+len(fds) {
		t.Errorf("%d fds open with %d registrations, %d before", n, len(fds), before)
	}
	for _, fd := range fds {
		if err := unix.Close(int(fd)); err != nil {
			t.Fatal(err)
		}
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d fds open after closing the eventfds, %d before", after, before)
	}
}

// badEvent is a caller's MemoryEvent on a file the kernel does not take as an event source.
type badEvent struct{ file string }

func (b badEvent) Arg() string       { return "" }
func (b badEvent) EventFile() string { return b.file }

type memEventCase struct {
	name    string
	c       *memoryController
	path    string
	event   MemoryEvent
	want    error
	mention string
}

func TestMemoryEventErrorsNoLeak(t *testing.T) {
	fixture := fixtureRoot(t, map[string]string{
		"memory/cg/cgroup.event_control":  "",
		"memory/nectl/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
	})
	cases := []memEventCase{
		{"event file missing", NewMemory(fixture), "/cg", OOMEvent(), os.ErrNotExist, "memory.oom_control"},
		{"memsw file missing", NewMemory(fixture), "/cg", MemoryThresholdEvent(mib, true), os.ErrNotExist, "memory.memsw.usage_in_bytes"},
		{"event_control missing", NewMemory(fixture), "/nectl", OOMEvent(), os.ErrNotExist, "cgroup.event_control"},
		{"nil event", NewMemory(fixture), "/cg", nil, ErrInvalidValue, "nil"},
		{"path escapes", NewMemory(fixture), "/../cg", OOMEvent(), ErrInvalidPath, ".."},
	}
	if os.Geteuid() == 0 {
		if _, err := V1(); err == nil {
			cg, path := newTestCgroup(t, nil)
			real := NewMemory(filepath.Dir(filepath.Dir(memTestDir(t, cg, path))))
			cases = append(cases,
				memEventCase{"no such cgroup", real, path + "/nope", OOMEvent(), os.ErrNotExist, "nope/memory.oom_control"},
				memEventCase{"not an event source", real, path, badEvent{"memory.stat"}, unix.EINVAL, "cgroup.event_control"})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The hierarchy's root fd is opened once per process, on first use: not a leak.
			if err := tc.c.fs.init(); err != nil {
				t.Fatal(err)
			}
			before := openFDs(t)
			efd, err := tc.c.RegisterMemoryEvent(tc.path, tc.event)
			if err == nil {
				unix.Close(int(efd))
				t.Fatal("registered")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.mention)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d fds open after a failed registration, %d before", after, before)
			}
		})
	}
}

// TestMemoryEventOnRemovalReal documents the kernel's behaviour a listener must expect: the
// eventfd fires once when the cgroup is removed, with no OOM at all.
func TestMemoryEventOnRemovalReal(t *testing.T) {
	cg, _ := newTestCgroup(t, nil)
	child, err := cg.New("child", nil)
	if err != nil {
		t.Fatal(err)
	}
	efd, err := child.OOMEventFD()
	if err != nil {
		t.Fatal(err)
	}
	closeEventFD(t, efd)
	if err := child.Delete(); err != nil {
		t.Fatal(err)
	}
	if v := waitEvent(t, efd, 5*time.Second); v != 1 {
		t.Errorf("eventfd after rmdir: counter %d, want 1", v)
	}
}
