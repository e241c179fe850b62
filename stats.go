package cgroups

// Metrics is what Stat returns: the statistics of one cgroup across its controllers. It has the
// field names and JSON tags of containerd/cgroups' v1 Metrics (package stats/v1), so code and
// stored JSON written for it keep working, plus the fields containerd drops (marked "added").
// A nil sub-struct means that controller was not read: it is not active for the cgroup, or its
// error was ignored by an ErrorHandler.
type Metrics struct {
	Hugetlb          []*HugetlbStat    `json:"hugetlb,omitempty"`
	Pids             *PidsStat         `json:"pids,omitempty"`
	CPU              *CPUStat          `json:"cpu,omitempty"`
	Memory           *MemoryStat       `json:"memory,omitempty"`
	Blkio            *BlkIOStat        `json:"blkio,omitempty"`
	Rdma             *RdmaStat         `json:"rdma,omitempty"`
	Network          []*NetworkStat    `json:"network,omitempty"`
	CgroupStats      *CgroupStats      `json:"cgroup_stats,omitempty"`
	MemoryOomControl *MemoryOomControl `json:"memory_oom_control,omitempty"`
	// Cpuset is added: the cpus and memory nodes of the cgroup, configured and effective.
	Cpuset *CpusetStat `json:"cpuset,omitempty"`
}

// HugetlbStat is the usage of one huge page size (hugetlb.<size>.*).
type HugetlbStat struct {
	Usage    uint64 `json:"usage,omitempty"`
	Max      uint64 `json:"max,omitempty"`
	Failcnt  uint64 `json:"failcnt,omitempty"`
	Pagesize string `json:"pagesize,omitempty"`
	// Limit is added: hugetlb.<size>.limit_in_bytes.
	Limit uint64 `json:"limit,omitempty"`
	// The reservation counters (hugetlb.<size>.rsvd.*) are added; zero where the kernel lacks them.
	RsvdUsage   uint64 `json:"rsvd_usage,omitempty"`
	RsvdMax     uint64 `json:"rsvd_max,omitempty"`
	RsvdFailcnt uint64 `json:"rsvd_failcnt,omitempty"`
	RsvdLimit   uint64 `json:"rsvd_limit,omitempty"`
}

// PidsStat is the pids controller's count and limit. Limit is 0 for "max", as in containerd.
type PidsStat struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
	// Peak (pids.peak) and Events (the "max" count of pids.events: forks refused by the limit)
	// are added; zero where the kernel lacks the files.
	Peak   uint64 `json:"peak,omitempty"`
	Events uint64 `json:"events,omitempty"`
}

// CPUStat is the cpu and cpuacct statistics.
type CPUStat struct {
	Usage      *CPUUsage `json:"usage,omitempty"`
	Throttling *Throttle `json:"throttling,omitempty"`
}

// CPUUsage is CPU time in nanoseconds (cpuacct).
type CPUUsage struct {
	Total  uint64   `json:"total,omitempty"`
	Kernel uint64   `json:"kernel,omitempty"`
	User   uint64   `json:"user,omitempty"`
	PerCPU []uint64 `json:"per_cpu,omitempty"`
	// PerCPUKernel and PerCPUUser are added (cpuacct.usage_percpu_sys and _user).
	PerCPUKernel []uint64 `json:"per_cpu_kernel,omitempty"`
	PerCPUUser   []uint64 `json:"per_cpu_user,omitempty"`
}

// Throttle is the CFS bandwidth statistics of cpu.stat.
type Throttle struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttled_periods,omitempty"`
	ThrottledTime    uint64 `json:"throttled_time,omitempty"`
	// NrBursts and BurstTime (ns) are added (cpu.stat nr_bursts, burst_time).
	NrBursts  uint64 `json:"nr_bursts,omitempty"`
	BurstTime uint64 `json:"burst_time,omitempty"`
}

// MemoryStat is memory.stat plus the usage files. Byte counts are bytes; the pg* fields are
// event counts.
type MemoryStat struct {
	Cache                   uint64       `json:"cache,omitempty"`
	RSS                     uint64       `json:"rss,omitempty"`
	RSSHuge                 uint64       `json:"rss_huge,omitempty"`
	MappedFile              uint64       `json:"mapped_file,omitempty"`
	Dirty                   uint64       `json:"dirty,omitempty"`
	Writeback               uint64       `json:"writeback,omitempty"`
	PgPgIn                  uint64       `json:"pg_pg_in,omitempty"`
	PgPgOut                 uint64       `json:"pg_pg_out,omitempty"`
	PgFault                 uint64       `json:"pg_fault,omitempty"`
	PgMajFault              uint64       `json:"pg_maj_fault,omitempty"`
	InactiveAnon            uint64       `json:"inactive_anon,omitempty"`
	ActiveAnon              uint64       `json:"active_anon,omitempty"`
	InactiveFile            uint64       `json:"inactive_file,omitempty"`
	ActiveFile              uint64       `json:"active_file,omitempty"`
	Unevictable             uint64       `json:"unevictable,omitempty"`
	HierarchicalMemoryLimit uint64       `json:"hierarchical_memory_limit,omitempty"`
	HierarchicalSwapLimit   uint64       `json:"hierarchical_swap_limit,omitempty"`
	TotalCache              uint64       `json:"total_cache,omitempty"`
	TotalRSS                uint64       `json:"total_rss,omitempty"`
	TotalRSSHuge            uint64       `json:"total_rss_huge,omitempty"`
	TotalMappedFile         uint64       `json:"total_mapped_file,omitempty"`
	TotalDirty              uint64       `json:"total_dirty,omitempty"`
	TotalWriteback          uint64       `json:"total_writeback,omitempty"`
	TotalPgPgIn             uint64       `json:"total_pg_pg_in,omitempty"`
	TotalPgPgOut            uint64       `json:"total_pg_pg_out,omitempty"`
	TotalPgFault            uint64       `json:"total_pg_fault,omitempty"`
	TotalPgMajFault         uint64       `json:"total_pg_maj_fault,omitempty"`
	TotalInactiveAnon       uint64       `json:"total_inactive_anon,omitempty"`
	TotalActiveAnon         uint64       `json:"total_active_anon,omitempty"`
	TotalInactiveFile       uint64       `json:"total_inactive_file,omitempty"`
	TotalActiveFile         uint64       `json:"total_active_file,omitempty"`
	TotalUnevictable        uint64       `json:"total_unevictable,omitempty"`
	Usage                   *MemoryEntry `json:"usage,omitempty"`
	Swap                    *MemoryEntry `json:"swap,omitempty"`
	Kernel                  *MemoryEntry `json:"kernel,omitempty"`
	KernelTCP               *MemoryEntry `json:"kernel_tcp,omitempty"`

	// Added: memory.stat keys that containerd drops.
	Shmem                      uint64 `json:"shmem,omitempty"`
	SwapBytes                  uint64 `json:"swap_bytes,omitempty"` // memory.stat "swap"
	SwapCached                 uint64 `json:"swap_cached,omitempty"`
	WorkingsetRefaultAnon      uint64 `json:"workingset_refault_anon,omitempty"`
	WorkingsetRefaultFile      uint64 `json:"workingset_refault_file,omitempty"`
	TotalShmem                 uint64 `json:"total_shmem,omitempty"`
	TotalSwapBytes             uint64 `json:"total_swap_bytes,omitempty"` // memory.stat "total_swap"
	TotalSwapCached            uint64 `json:"total_swap_cached,omitempty"`
	TotalWorkingsetRefaultAnon uint64 `json:"total_workingset_refault_anon,omitempty"`
	TotalWorkingsetRefaultFile uint64 `json:"total_workingset_refault_file,omitempty"`
	// Extra holds every other memory.stat key this package has no field for (keys of older or
	// newer kernels), so nothing the kernel reports is lost. Nil when there is none.
	Extra map[string]uint64 `json:"extra,omitempty"`
}

// MemoryEntry is one family of memory usage files: memory.*, memory.memsw.*, memory.kmem.* or
// memory.kmem.tcp.*.
type MemoryEntry struct {
	Limit   uint64 `json:"limit,omitempty"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt,omitempty"`
}

// MemoryOomControl is memory.oom_control.
type MemoryOomControl struct {
	OomKillDisable uint64 `json:"oom_kill_disable,omitempty"`
	UnderOom       uint64 `json:"under_oom,omitempty"`
	OomKill        uint64 `json:"oom_kill,omitempty"`
}

// BlkIOStat is the blkio statistics. The eight containerd fields hold the CFQ files where the
// kernel has them; on kernels without CFQ (5.0 and later) IoServiceBytesRecursive and
// IoServicedRecursive hold the BFQ counters when BFQ saw IO, else the throttle counters, so they
// are never empty just because CFQ is gone (containerd/cgroups#78). The added fields always hold
// the throttle and BFQ files as they are.
type BlkIOStat struct {
	IoServiceBytesRecursive []*BlkIOEntry `json:"io_service_bytes_recursive,omitempty"`
	IoServicedRecursive     []*BlkIOEntry `json:"io_serviced_recursive,omitempty"`
	IoQueuedRecursive       []*BlkIOEntry `json:"io_queued_recursive,omitempty"`
	IoServiceTimeRecursive  []*BlkIOEntry `json:"io_service_time_recursive,omitempty"`
	IoWaitTimeRecursive     []*BlkIOEntry `json:"io_wait_time_recursive,omitempty"`
	IoMergedRecursive       []*BlkIOEntry `json:"io_merged_recursive,omitempty"`
	IoTimeRecursive         []*BlkIOEntry `json:"io_time_recursive,omitempty"`
	SectorsRecursive        []*BlkIOEntry `json:"sectors_recursive,omitempty"`

	// Added.
	ThrottleIoServiceBytesRecursive []*BlkIOEntry `json:"throttle_io_service_bytes_recursive,omitempty"`
	ThrottleIoServicedRecursive     []*BlkIOEntry `json:"throttle_io_serviced_recursive,omitempty"`
	BFQIoServiceBytesRecursive      []*BlkIOEntry `json:"bfq_io_service_bytes_recursive,omitempty"`
	BFQIoServicedRecursive          []*BlkIOEntry `json:"bfq_io_serviced_recursive,omitempty"`
}

// BlkIOEntry is one line of a blkio statistics file.
type BlkIOEntry struct {
	Op     string `json:"op,omitempty"`
	Device string `json:"device,omitempty"`
	Major  uint64 `json:"major,omitempty"`
	Minor  uint64 `json:"minor,omitempty"`
	Value  uint64 `json:"value,omitempty"`
}

// RdmaStat is rdma.current and rdma.max.
type RdmaStat struct {
	Current []*RdmaEntry `json:"current,omitempty"`
	Limit   []*RdmaEntry `json:"limit,omitempty"`
}

// RdmaEntry is one device of an rdma file. "max" reads as math.MaxUint32.
type RdmaEntry struct {
	Device     string `json:"device,omitempty"`
	HcaHandles uint32 `json:"hca_handles,omitempty"`
	HcaObjects uint32 `json:"hca_objects,omitempty"`
}

// NetworkStat is kept for compatibility with containerd's Metrics; cgroup v1 has no network
// statistics, so this package never fills it.
type NetworkStat struct {
	Name      string `json:"name,omitempty"`
	RxBytes   uint64 `json:"rx_bytes,omitempty"`
	RxPackets uint64 `json:"rx_packets,omitempty"`
	RxErrors  uint64 `json:"rx_errors,omitempty"`
	RxDropped uint64 `json:"rx_dropped,omitempty"`
	TxBytes   uint64 `json:"tx_bytes,omitempty"`
	TxPackets uint64 `json:"tx_packets,omitempty"`
	TxErrors  uint64 `json:"tx_errors,omitempty"`
	TxDropped uint64 `json:"tx_dropped,omitempty"`
}

// CgroupStats is kept for compatibility with containerd's Metrics (taskstats counts); this
// package never fills it.
type CgroupStats struct {
	NrSleeping        uint64 `json:"nr_sleeping,omitempty"`
	NrRunning         uint64 `json:"nr_running,omitempty"`
	NrStopped         uint64 `json:"nr_stopped,omitempty"`
	NrUninterruptible uint64 `json:"nr_uninterruptible,omitempty"`
	NrIoWait          uint64 `json:"nr_io_wait,omitempty"`
}

// CpusetStat is added: the cpuset of the cgroup as the kernel lists it ("0-3,8").
type CpusetStat struct {
	Cpus           string `json:"cpus,omitempty"`
	Mems           string `json:"mems,omitempty"`
	EffectiveCpus  string `json:"effective_cpus,omitempty"`
	EffectiveMems  string `json:"effective_mems,omitempty"`
	MemoryPressure uint64 `json:"memory_pressure,omitempty"`
}
