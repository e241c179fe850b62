package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These assignments are the exported API of containerd/cgroups v1.1.0's root package, name by
// name and signature by signature (research/containerd-cgroups.md §1). If one changes, this file
// stops compiling: a program written for containerd/cgroups must build with the import path
// changed (and v1.Metrics renamed to Metrics).
var (
	_ func(Hierarchy, Path, *specs.LinuxResources, ...InitOpts) (Cgroup, error) = New
	_ func(Hierarchy, Path, ...InitOpts) (Cgroup, error)                        = Load

	_ Hierarchy                       = V1
	_ Hierarchy                       = Systemd
	_ func(Hierarchy, Name) Hierarchy = SingleSubsystem
	_ func() []Name                   = Subsystems

	_ Path                      = RootPath
	_ func(string) Path         = StaticPath
	_ func(string) Path         = NestedPath
	_ func(int) Path            = PidPath
	_ func(string, string) Path = Slice

	_ InitCheck = AllowAny
	_ InitCheck = RequireDevices
	_ InitOpts  = func(*InitConfig) error { return nil }
	_           = InitConfig{InitCheck: AllowAny}

	_ ErrorHandler                                                 = IgnoreNotExist
	_ func() CGMode                                                = Mode
	_ func() bool                                                  = RunningInUserNS
	_ func(string) (map[string]string, error)                      = ParseCgroupFile
	_ func(string) (map[string]string, string, error)              = ParseCgroupFileUnified
	_ func(uint64, bool) MemoryEvent                               = MemoryThresholdEvent
	_ func() MemoryEvent                                           = OOMEvent
	_ func(MemoryPressureLevel, EventNotificationMode) MemoryEvent = MemoryPressureEvent

	_ = []Name{Devices, Hugetlb, Freezer, Pids, NetCLS, NetPrio, PerfEvent, Cpuset, Cpu, Cpuacct,
		Memory, Blkio, Rdma, SystemdDbus}
	_ = []State{Unknown, Thawed, Frozen, Freezing, Deleted}
	_ = []CGMode{Unavailable, Legacy, Hybrid, Unified}
	_ = []MemoryPressureLevel{LowPressure, MediumPressure, CriticalPressure}
	_ = []EventNotificationMode{DefaultMode, LocalMode, HierarchyMode}
	_ = []error{ErrInvalidPid, ErrMountPointNotExist, ErrInvalidFormat, ErrFreezerNotSupported,
		ErrMemoryNotSupported, ErrCgroupDeleted, ErrNoCgroupMountDestination, ErrIgnoreSubsystem,
		ErrDevicesRequired, ErrControllerNotActive}

	_             = Process{Subsystem: Cpu, Pid: 1, Path: "/"}
	_             = Task{Subsystem: Cpu, Pid: 1, Path: "/"}
	_ MemoryEvent = OOMEvent()
)

// The Cgroup interface, method by method.
var _ interface {
	New(string, *specs.LinuxResources) (Cgroup, error)
	Add(Process, ...Name) error
	AddProc(uint64, ...Name) error
	AddTask(Process, ...Name) error
	Delete() error
	MoveTo(Cgroup) error
	Stat(...ErrorHandler) (*Metrics, error)
	Update(resources *specs.LinuxResources) error
	Processes(Name, bool) ([]Process, error)
	Tasks(Name, bool) ([]Task, error)
	Freeze() error
	Thaw() error
	OOMEventFD() (uintptr, error)
	RegisterMemoryEvent(MemoryEvent) (uintptr, error)
	State() State
	Subsystems() []Subsystem
} = Cgroup(nil)

type (
	pathCreateUpdateStat interface {
		Name() Name
		Path(string) string
		Create(string, *specs.LinuxResources) error
		Update(string, *specs.LinuxResources) error
		Stat(string, *Metrics) error
	}
	pathCreateUpdate interface {
		Name() Name
		Path(string) string
		Create(string, *specs.LinuxResources) error
		Update(string, *specs.LinuxResources) error
	}
	pathStat interface {
		Name() Name
		Path(string) string
		Stat(string, *Metrics) error
	}
	pathOnly interface {
		Name() Name
		Path(string) string
	}
)

// The controller constructors and the method sets containerd's controllers have (some have more
// here: hugetlb and net_prio gained Update, cpuset Stat).
var (
	_ pathCreateUpdateStat = NewBlkio("/sys/fs/cgroup", ProcRoot("/proc"))
	_ pathCreateUpdateStat = NewCpu("/sys/fs/cgroup")
	_ pathStat             = NewCpuacct("/sys/fs/cgroup")
	_ pathCreateUpdate     = NewCpuset("/sys/fs/cgroup")
	_ pathCreateUpdate     = NewDevices("/sys/fs/cgroup")
	_ interface {
		pathOnly
		Freeze(string) error
		Thaw(string) error
	} = NewFreezer("/sys/fs/cgroup")
	_ pathCreateUpdateStat                     = NewMemory("/sys/fs/cgroup", IgnoreModules("kmem"), OptionalSwap())
	_ pathOnly                                 = NewNamed("/sys/fs/cgroup", "systemd")
	_ pathCreateUpdate                         = NewNetCls("/sys/fs/cgroup")
	_ pathCreateUpdate                         = NewNetPrio("/sys/fs/cgroup")
	_ pathOnly                                 = NewPerfEvent("/sys/fs/cgroup")
	_ *PerfEventController                     = NewPerfEvent("/sys/fs/cgroup")
	_ pathCreateUpdateStat                     = NewPids("/sys/fs/cgroup")
	_ pathCreateUpdateStat                     = NewRdma("/sys/fs/cgroup")
	_ func(string) (*hugetlbController, error) = NewHugetlb
	_ func(string) (*SystemdController, error) = NewSystemd
)

var _ interface {
	Name() Name
	Create(string, *specs.LinuxResources) error
	Delete(string) error
} = (*SystemdController)(nil)

var _ pathCreateUpdateStat = (*hugetlbController)(nil)
