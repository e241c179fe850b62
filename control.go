package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	cgroupProcs = "cgroup.procs"
	cgroupTasks = "tasks"
)

// Process is a process (or, from Tasks, a thread) in a cgroup.
type Process struct {
	// Subsystem is the name of the subsystem that the process / task is in.
	Subsystem Name
	// Pid is the process id of the process / task.
	Pid int
	// Path is the full path of the subsystem and location that the process / task is in,
	// without a trailing slash.
	Path string
}

// Task is a thread in a cgroup.
type Task = Process

// Cgroup handles interactions with the individual groups to perform actions on them as them main
// interface that this library exposes.
type Cgroup interface {
	// New creates a new cgroup under the calling cgroup.
	New(string, *specs.LinuxResources) (Cgroup, error)
	// Add adds a process to the cgroup (cgroup.procs), in all its controllers or in the named ones.
	Add(Process, ...Name) error
	// AddProc adds the process with the given id to the cgroup (cgroup.procs).
	AddProc(uint64, ...Name) error
	// AddTask adds a thread to the cgroup (tasks).
	AddTask(Process, ...Name) error
	// Delete removes the cgroup as a whole, child cgroups first.
	Delete() error
	// MoveTo moves all the processes under the calling cgroup to the provided one.
	// Subsystems are moved one at a time.
	MoveTo(Cgroup) error
	// Stat returns the current metrics for the cgroup.
	Stat(...ErrorHandler) (*Metrics, error)
	// Update updates the cgroup with the new resource values provided.
	// Be prepared to handle EBUSY when trying to update a cgroup with
	// live processes and other operations like Stats being performed at the
	// same time.
	Update(resources *specs.LinuxResources) error
	// Processes returns all the processes in a select subsystem for the cgroup.
	Processes(Name, bool) ([]Process, error)
	// Tasks returns all the tasks in a select subsystem for the cgroup.
	Tasks(Name, bool) ([]Task, error)
	// Freeze freezes or pauses all processes inside the cgroup.
	Freeze() error
	// Thaw thaw or resumes all processes inside the cgroup.
	Thaw() error
	// OOMEventFD returns the memory subsystem's event fd for OOM events.
	OOMEventFD() (uintptr, error)
	// RegisterMemoryEvent returns the memory subsystems event fd for whatever memory event was
	// registered for. Can alternatively register for the oom event with this method.
	RegisterMemoryEvent(MemoryEvent) (uintptr, error)
	// State returns the cgroups current state.
	State() State
	// Subsystems returns all the subsystems in the cgroup.
	Subsystems() []Subsystem
}
