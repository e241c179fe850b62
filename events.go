package cgroups

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// MemoryEvent is a memory cgroup event that can be registered through cgroup.event_control.
type MemoryEvent interface {
	// Arg is the text after "<eventfd> <fd> " in the line written to cgroup.event_control.
	Arg() string
	// EventFile is the control file whose fd is registered, e.g. "memory.usage_in_bytes".
	EventFile() string
}

// MemoryPressureLevel is a memory pressure level of memory.pressure_level.
type MemoryPressureLevel string

// The memory pressure levels. A listener fires for its level and for every higher one.
const (
	LowPressure      MemoryPressureLevel = "low"
	MediumPressure   MemoryPressureLevel = "medium"
	CriticalPressure MemoryPressureLevel = "critical"
)

// EventNotificationMode is the propagation mode of a memory pressure event.
type EventNotificationMode string

// The pressure notification modes (see the package documentation for the kernel's semantics).
const (
	// DefaultMode: pressure in the cgroup or its descendants, unless a descendant's listener
	// was already signalled.
	DefaultMode EventNotificationMode = "default"
	// LocalMode: pressure in the cgroup itself only.
	LocalMode EventNotificationMode = "local"
	// HierarchyMode: pressure in the cgroup and all its descendants, always.
	HierarchyMode EventNotificationMode = "hierarchy"
)

type memoryThresholdEvent struct {
	threshold uint64
	swap      bool
}

// MemoryThresholdEvent returns the event of memory usage (or memory+swap usage, with swap)
// crossing threshold bytes, in either direction.
func MemoryThresholdEvent(threshold uint64, swap bool) MemoryEvent {
	return &memoryThresholdEvent{threshold: threshold, swap: swap}
}

func (m *memoryThresholdEvent) EventFile() string {
	if m.swap {
		return "memory.memsw.usage_in_bytes"
	}
	return "memory.usage_in_bytes"
}

func (m *memoryThresholdEvent) Arg() string {
	return strconv.FormatUint(m.threshold, 10)
}

type oomEvent struct{}

// OOMEvent returns the event of the cgroup (or an ancestor that limits it) running out of
// memory.
func OOMEvent() MemoryEvent {
	return &oomEvent{}
}

func (oom *oomEvent) EventFile() string { return "memory.oom_control" }
func (oom *oomEvent) Arg() string       { return "" }

type memoryPressureEvent struct {
	pressureLevel MemoryPressureLevel
	hierarchy     EventNotificationMode
}

// MemoryPressureEvent returns the event of memory pressure at pressureLevel or higher, propagated
// as hierarchy says.
func MemoryPressureEvent(pressureLevel MemoryPressureLevel, hierarchy EventNotificationMode) MemoryEvent {
	return &memoryPressureEvent{pressureLevel: pressureLevel, hierarchy: hierarchy}
}

func (m *memoryPressureEvent) EventFile() string { return "memory.pressure_level" }
func (m *memoryPressureEvent) Arg() string {
	return string(m.pressureLevel) + "," + string(m.hierarchy)
}

// registerMemoryEvent creates an eventfd (O_CLOEXEC) and registers it for event on the cgroup at
// cgroupPath of root, by writing "<efd> <fd> <arg>" to cgroup.event_control. The returned fd
// belongs to the caller, who must close it; on any error nothing is left open.
func registerMemoryEvent(root *fsRoot, cgroupPath string, event MemoryEvent) (uintptr, error) {
	file := event.EventFile()
	rel, err := relPath(cgroupPath, file)
	if err != nil {
		return 0, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return 0, fmt.Errorf("cgroups: eventfd: %w", err)
	}
	fd, err := root.openRel(rel, unix.O_RDONLY)
	if err != nil {
		unix.Close(efd)
		return 0, &FileError{Op: "open", Path: root.join(rel), Err: err}
	}
	line := fmt.Sprintf("%d %d %s", efd, fd, event.Arg())
	err = root.writeFile(cgroupPath, "cgroup.event_control", line)
	// The kernel keeps its own reference to the event file: ours can go at once.
	unix.Close(fd)
	if err != nil {
		unix.Close(efd)
		return 0, err
	}
	return uintptr(efd), nil
}
