package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Name is the name of a cgroup v1 controller (subsystem), or of a named hierarchy such as
// "systemd".
type Name string

// The cgroup v1 controllers.
const (
	Devices   Name = "devices"
	Hugetlb   Name = "hugetlb"
	Freezer   Name = "freezer"
	Pids      Name = "pids"
	NetCLS    Name = "net_cls"
	NetPrio   Name = "net_prio"
	PerfEvent Name = "perf_event"
	Cpuset    Name = "cpuset"
	Cpu       Name = "cpu"
	Cpuacct   Name = "cpuacct"
	Memory    Name = "memory"
	Blkio     Name = "blkio"
	Rdma      Name = "rdma"
)

// Subsystem is one controller of a hierarchy. What else it can do is discovered through small
// optional interfaces (a path, create, update, stat, delete, freeze, memory events), so a
// caller's own Subsystem works with every operation it implements.
type Subsystem interface {
	Name() Name
}

// pather gives the directory of a cgroup path in the controller's hierarchy.
type pather interface {
	Subsystem
	Path(path string) string
}

// creator creates the cgroup and applies resources to it.
type creator interface {
	Subsystem
	Create(path string, resources *specs.LinuxResources) error
}

// updater applies resources to an existing cgroup.
type updater interface {
	Subsystem
	Update(path string, resources *specs.LinuxResources) error
}

// stater reads the controller's statistics into stats.
type stater interface {
	Subsystem
	Stat(path string, stats *Metrics) error
}

// deleter removes the cgroup itself instead of the generic recursive rmdir.
type deleter interface {
	Subsystem
	Delete(path string) error
}

// freezer freezes and thaws a cgroup.
type freezer interface {
	Subsystem
	Freeze(path string) error
	Thaw(path string) error
}

// freezeStater reports the freezer state of a cgroup itself (not of its parents).
type freezeStater interface {
	Subsystem
	FreezerState(path string) (State, error)
}

// memoryEventer registers memory events through cgroup.event_control.
type memoryEventer interface {
	Subsystem
	RegisterMemoryEvent(path string, event MemoryEvent) (uintptr, error)
}

// fsRebinder is a controller whose control files can be read through another root of the file
// layer: a StatPoller gives each one a copy whose root serves the cgroup's files from kept-open
// fds. files is promoted from mountedAt; withFS returns the copy, keeping the controller's
// options.
type fsRebinder interface {
	Subsystem
	files() mountedAt
	withFS(fs *fsRoot) Subsystem
}

// Subsystems returns the names of the cgroup v1 controllers this package knows, in the order in
// which it applies them. It is a static list: V1 tells which are mounted.
func Subsystems() []Name {
	n := []Name{Cpuset, Devices, Memory, Cpu, Cpuacct, Pids, Blkio, Hugetlb, NetCLS, NetPrio,
		PerfEvent, Freezer, Rdma}
	if RunningInUserNS() {
		n = append(n[:1], n[2:]...)
	}
	return n
}

// SingleSubsystem returns a Hierarchy with only the named subsystem of baseHierarchy.
func SingleSubsystem(baseHierarchy Hierarchy, subsystem Name) Hierarchy {
	return func() ([]Subsystem, error) {
		subsystems, err := baseHierarchy()
		if err != nil {
			return nil, err
		}
		for _, s := range subsystems {
			if s.Name() == subsystem {
				return []Subsystem{s}, nil
			}
		}
		return nil, fmt.Errorf("unable to find subsystem %s", subsystem)
	}
}

// applyRank orders subsystems for New and Update: cpuset first (a task cannot join a cpuset
// without cpus and mems), devices second (the security boundary), then the rest as given.
func applyRank(n Name) int {
	switch n {
	case Cpuset:
		return 0
	case Devices:
		return 1
	}
	return 2
}
