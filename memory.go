package cgroups

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The families of memory usage files, in the order of containerd's IgnoreModules names and of
// the MemoryStat entries they fill (Usage, Swap, Kernel, KernelTCP).
const (
	memPlain = iota
	memSwap
	memKmem
	memKmemTCP
	memFamilies
)

// memModules are the IgnoreModules names of the families.
var memModules = [memFamilies]string{"", "memsw", "kmem", "kmem.tcp"}

// memEntryFiles are the usage, peak, failcnt and limit files of each family, spelled out once so
// that Stat builds no file name.
var memEntryFiles = [memFamilies][4]string{
	{"memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt", "memory.limit_in_bytes"},
	{"memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt", "memory.memsw.limit_in_bytes"},
	{"memory.kmem.usage_in_bytes", "memory.kmem.max_usage_in_bytes", "memory.kmem.failcnt", "memory.kmem.limit_in_bytes"},
	{"memory.kmem.tcp.usage_in_bytes", "memory.kmem.tcp.max_usage_in_bytes", "memory.kmem.tcp.failcnt", "memory.kmem.tcp.limit_in_bytes"},
}

const (
	memLimitFile    = "memory.limit_in_bytes"
	memswLimitFile  = "memory.memsw.limit_in_bytes"
	memUsageFile    = "memory.usage_in_bytes"
	memMaxUsageFile = "memory.max_usage_in_bytes"
)

// memUnlimitedFloor is where "unlimited" starts when a limit is read back: the kernel shows -1 as
// the largest page-aligned int64 (9223372036854771712 with 4 KiB pages, a little less with
// bigger pages), so any value above 2^62 is taken as unlimited.
const memUnlimitedFloor = 1 << 62

// memoryController is the memory controller.
type memoryController struct {
	mountedAt
	// ignored are the usage file families (memPlain...) that Stat does not read.
	ignored [memFamilies]bool
}

// NewMemory returns the memory controller of the hierarchy mounted at root/memory. The options
// are IgnoreModules and OptionalSwap.
func NewMemory(root string, options ...func(*memoryController)) *memoryController {
	c := newMemory(filepath.Join(root, string(Memory)))
	for _, o := range options {
		o(c)
	}
	return c
}

func newMemory(mount string) *memoryController {
	return &memoryController{mountedAt: newMountedAt(mount)}
}

// IgnoreModules makes Stat skip families of memory usage files: "" (memory.*), "memsw"
// (memory.memsw.*), "kmem" (memory.kmem.*) and "kmem.tcp" (memory.kmem.tcp.*). The entries of
// skipped families stay zero. Unknown names are ignored, as in containerd/cgroups.
//
// Stat already leaves the memsw, kmem and kmem.tcp entries zero when the kernel lacks their
// files, so this option is only needed to save the reads.
func IgnoreModules(names ...string) func(*memoryController) {
	return func(c *memoryController) {
		for _, n := range names {
			for i, m := range memModules {
				if n == m {
					c.ignored[i] = true
				}
			}
		}
	}
}

// OptionalSwap makes Stat skip the memsw family when the hierarchy's root has no
// memory.memsw.usage_in_bytes (a kernel without swap accounting). It looks once, when the
// controller is made.
func OptionalSwap() func(*memoryController) {
	return func(c *memoryController) {
		b := getBuf()
		data, err := c.fs.readFile("/", "memory.memsw.usage_in_bytes", *b)
		putBuf(b, data)
		if errors.Is(err, unix.ENOENT) {
			c.ignored[memSwap] = true
		}
	}
}

// Name returns "memory".
func (c *memoryController) Name() Name { return Memory }

// Create creates the cgroup and applies resources.Memory to it, as Update does.
func (c *memoryController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update applies resources.Memory; nil changes nothing. Every value is checked before the first
// write, and only the fields that are set are written:
//
//   - Limit, Swap (memory+swap, memory.memsw.limit_in_bytes), Reservation (the soft limit) and
//     KernelTCP take -1 (unlimited) or a byte count. Limit and Swap are written in the order
//     that keeps memsw >= limit at every step, whatever the current values, and if the second of
//     the two writes fails the first is undone. Swap 0 means "not set", as in runc. When only
//     Limit is set, memsw follows it where that is the only way to keep the pair valid: Limit -1
//     sets memsw to -1 too, and a memsw that equals the current limit (no swap allowed) is moved
//     with it; a memsw above the current limit (some swap allowed) is left alone, and a Limit
//     above it is refused with an error asking for Swap. A Limit below what the cgroup uses fails
//     with the kernel's EBUSY, and the error says the usage and the peak.
//   - CheckBeforeUpdate true: a Limit below the current usage is refused before anything is
//     written (the kernel would otherwise first reclaim, then fail with EBUSY).
//   - Kernel is not written: the kernel memory limit has had no effect since Linux 5.4 and newer
//     kernels refuse or lack the file; runc ignores it for the same reason.
//   - Swappiness must be 0 to 100, the range of the runtime spec and runc, although the kernel
//     also takes 101 to 200. The value math.MaxUint64 (Docker's -1) means "inherit" and is not
//     written.
//   - DisableOOMKiller writes 1 when true and 0 when false (containerd/cgroups wrote nothing for
//     false, so the OOM killer could never be enabled again).
//   - UseHierarchy is written as asked, first of all. Kernels since 5.16 only have hierarchical
//     accounting: true is a no-op there and false fails with an error that says so.
func (c *memoryController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.Memory == nil {
		return nil
	}
	m := resources.Memory
	if err := checkMemory(m); err != nil {
		return err
	}
	if m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && m.Limit != nil && *m.Limit != -1 {
		usage, err := c.fs.readUint(path, memUsageFile)
		if err != nil {
			return err
		}
		if uint64(*m.Limit) < usage {
			return fmt.Errorf("cgroups: memory limit %d is below the current usage %d of %s (CheckBeforeUpdate): %w",
				*m.Limit, usage, c.fs.join(mustRel(path, memUsageFile)), ErrInvalidValue)
		}
	}
	if m.UseHierarchy != nil {
		v := "0"
		if *m.UseHierarchy {
			v = "1"
		}
		if err := c.fs.writeFile(path, "memory.use_hierarchy", v); err != nil {
			if !*m.UseHierarchy && errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("cgroups: UseHierarchy false: this kernel only has hierarchical memory accounting: %w", err)
			}
			return err
		}
	}
	if err := c.setLimits(path, m); err != nil {
		return err
	}
	if m.Reservation != nil {
		if err := c.fs.writeFile(path, "memory.soft_limit_in_bytes", strconv.FormatInt(*m.Reservation, 10)); err != nil {
			return err
		}
	}
	if m.KernelTCP != nil {
		if err := c.fs.writeFile(path, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(*m.KernelTCP, 10)); err != nil {
			return err
		}
	}
	if m.DisableOOMKiller != nil {
		v := "0"
		if *m.DisableOOMKiller {
			v = "1"
		}
		if err := c.fs.writeFile(path, "memory.oom_control", v); err != nil {
			return err
		}
	}
	if m.Swappiness != nil && *m.Swappiness != math.MaxUint64 {
		if err := c.fs.writeFile(path, "memory.swappiness", strconv.FormatUint(*m.Swappiness, 10)); err != nil {
			return err
		}
	}
	return nil
}

// checkMemory validates every value of m before anything is written.
func checkMemory(m *specs.LinuxMemory) error {
	for _, v := range []struct {
		name string
		p    *int64
	}{{"Limit", m.Limit}, {"Reservation", m.Reservation}, {"Swap", m.Swap}, {"KernelTCP", m.KernelTCP}} {
		if v.p != nil && *v.p < -1 {
			return fmt.Errorf("%w: memory %s %d: must be -1 (unlimited) or a byte count", ErrInvalidValue, v.name, *v.p)
		}
	}
	if s := m.Swappiness; s != nil && *s > 100 && *s != math.MaxUint64 {
		return fmt.Errorf("%w: memory Swappiness %d: must be 0 to 100", ErrInvalidValue, *s)
	}
	if m.Limit != nil && m.Swap != nil && *m.Swap != 0 {
		l, s := memBytes(*m.Limit), memBytes(*m.Swap)
		if s < l {
			return fmt.Errorf("%w: memory Swap (memory+swap) %d is below Limit %d", ErrInvalidValue, *m.Swap, *m.Limit)
		}
	}
	return nil
}

// memBytes maps a spec value to a comparable byte count, -1 (unlimited) to the largest.
func memBytes(v int64) uint64 {
	if v == -1 {
		return math.MaxUint64
	}
	return uint64(v)
}

// memCurrent maps a limit read from the kernel to a comparable byte count.
func memCurrent(v uint64) uint64 {
	if v >= memUnlimitedFloor {
		return math.MaxUint64
	}
	return v
}

func mustRel(path, file string) string {
	rel, err := relPath(path, file)
	if err != nil {
		return file
	}
	return rel
}

// setLimits writes memory.limit_in_bytes and memory.memsw.limit_in_bytes. The kernel refuses any
// state with memsw < limit (EINVAL), so the order is chosen from the current memsw: the limit
// goes first when it fits under the current memsw, else memsw is raised first. Both orders keep
// the pair valid at every step.
func (c *memoryController) setLimits(path string, m *specs.LinuxMemory) error {
	var swap *int64
	if m.Swap != nil && *m.Swap != 0 {
		swap = m.Swap
	}
	if m.Limit == nil && swap == nil {
		return nil
	}
	curSwapRaw, err := c.fs.readUint(path, memswLimitFile)
	haveSwap := err == nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if !haveSwap {
		// No swap accounting: there is no memsw to keep in step. An unlimited Swap asks for
		// nothing the kernel does not already do; any other value cannot be honoured.
		if swap != nil && *swap != -1 {
			return fmt.Errorf("cgroups: memory Swap %d: the kernel has no swap accounting (%s): %w", *swap, memswLimitFile, err)
		}
		if m.Limit != nil {
			return c.writeLimit(path, memLimitFile, *m.Limit)
		}
		return nil
	}
	curLimitRaw, err := c.fs.readUint(path, memLimitFile)
	if err != nil {
		return err
	}
	curLimit, curSwap := memCurrent(curLimitRaw), memCurrent(curSwapRaw)

	if m.Limit == nil {
		if memBytes(*swap) < curLimit {
			return fmt.Errorf("cgroups: memory Swap (memory+swap) %d is below the current limit %d of %s: %w",
				*swap, curLimitRaw, c.fs.join(mustRel(path, memLimitFile)), ErrInvalidValue)
		}
		return c.writeLimit(path, memswLimitFile, *swap)
	}
	limit := *m.Limit
	if swap == nil {
		switch {
		case limit == -1:
			swap = &limit // an unlimited memory with a limited memory+swap is invalid
		case curSwap == math.MaxUint64:
			return c.writeLimit(path, memLimitFile, limit)
		case curSwap == curLimit:
			swap = &limit // no swap allowed: keep it so
		case memBytes(limit) > curSwap:
			return fmt.Errorf("cgroups: memory Limit %d is above the current memory+swap limit %d of %s; set Swap too: %w",
				limit, curSwapRaw, c.fs.join(mustRel(path, memswLimitFile)), ErrInvalidValue)
		default:
			return c.writeLimit(path, memLimitFile, limit)
		}
	}
	first, second := memLimitFile, memswLimitFile
	firstV, secondV := limit, *swap
	firstOld := curLimitRaw
	if memBytes(limit) > curSwap {
		first, second = second, first
		firstV, secondV = secondV, firstV
		firstOld = curSwapRaw
	}
	if err := c.writeLimit(path, first, firstV); err != nil {
		return err
	}
	if err := c.writeLimit(path, second, secondV); err != nil {
		// Undo the first write: the old pair was valid, and so is the old value of the first
		// file beside the unchanged second one.
		if uerr := c.fs.writeFile(path, first, oldLimitString(firstOld)); uerr != nil {
			return fmt.Errorf("%w (and restoring %s failed: %v)", err, first, uerr)
		}
		return err
	}
	return nil
}

// oldLimitString gives the value to write back for a limit read from the kernel.
func oldLimitString(v uint64) string {
	if v >= memUnlimitedFloor {
		return "-1"
	}
	return strconv.FormatUint(v, 10)
}

// writeLimit writes one limit file. The kernel answers EBUSY when the limit is below what the
// cgroup uses and cannot be reclaimed; the error then says the usage and the peak.
func (c *memoryController) writeLimit(path, file string, v int64) error {
	err := c.fs.writeFile(path, file, strconv.FormatInt(v, 10))
	if err == nil || !errors.Is(err, unix.EBUSY) {
		return err
	}
	usageFile, maxFile := memUsageFile, memMaxUsageFile
	if file == memswLimitFile {
		usageFile, maxFile = "memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes"
	}
	usage, uerr := c.fs.readUint(path, usageFile)
	peak, perr := c.fs.readUint(path, maxFile)
	if uerr != nil || perr != nil {
		return fmt.Errorf("cgroups: limit %d is below the cgroup's memory usage: %w", v, err)
	}
	return fmt.Errorf("cgroups: limit %d is below the cgroup's memory usage (%s %d, %s %d): %w",
		v, usageFile, usage, maxFile, peak, err)
}

// Stat reads memory.stat (every key), memory.oom_control and the usage, peak, failcnt and limit
// of each family of usage files into stats.Memory and stats.MemoryOomControl. The four entries
// are always allocated; the memsw, kmem and kmem.tcp files a kernel lacks (no swap accounting,
// kmem files removed in newer kernels) leave their fields zero instead of failing, and so does a
// missing memory.oom_control (deprecated upstream), which leaves MemoryOomControl nil.
func (c *memoryController) Stat(path string, stats *Metrics) error {
	b := getBuf()
	data, err := c.fs.readFile(path, "memory.stat", *b)
	if err != nil {
		putBuf(b, nil)
		return err
	}
	m := &MemoryStat{
		Usage:     &MemoryEntry{},
		Swap:      &MemoryEntry{},
		Kernel:    &MemoryEntry{},
		KernelTCP: &MemoryEntry{},
	}
	err = forEachKeyValue(data, func(key []byte, v uint64) { m.set(key, v) })
	if err != nil {
		putBuf(b, data)
		return &FileError{Op: "parse", Path: c.fs.join(mustRel(path, "memory.stat")), Err: err}
	}

	data, err = c.fs.readFile(path, "memory.oom_control", data)
	switch {
	case err == nil:
		oom := &MemoryOomControl{}
		perr := forEachKeyValue(data, func(key []byte, v uint64) {
			switch string(key) {
			case "oom_kill_disable":
				oom.OomKillDisable = v
			case "under_oom":
				oom.UnderOom = v
			case "oom_kill":
				oom.OomKill = v
			}
		})
		if perr != nil {
			putBuf(b, data)
			return &FileError{Op: "parse", Path: c.fs.join(mustRel(path, "memory.oom_control")), Err: perr}
		}
		stats.MemoryOomControl = oom
	case errors.Is(err, unix.ENOENT):
	default:
		putBuf(b, nil)
		return err
	}
	putBuf(b, data)

	entries := [memFamilies]*MemoryEntry{m.Usage, m.Swap, m.Kernel, m.KernelTCP}
	for fam, e := range entries {
		if c.ignored[fam] {
			continue
		}
		fields := [4]*uint64{&e.Usage, &e.Max, &e.Failcnt, &e.Limit}
		for i, file := range memEntryFiles[fam] {
			v, err := c.fs.readUint(path, file)
			if err != nil {
				if fam != memPlain && errors.Is(err, unix.ENOENT) {
					continue
				}
				return err
			}
			*fields[i] = v
		}
	}
	stats.Memory = m
	return nil
}

// set stores one memory.stat key. Keys without a field go to Extra, which is allocated only
// when such a key appears.
func (m *MemoryStat) set(key []byte, v uint64) {
	switch string(key) {
	case "cache":
		m.Cache = v
	case "rss":
		m.RSS = v
	case "rss_huge":
		m.RSSHuge = v
	case "shmem":
		m.Shmem = v
	case "mapped_file":
		m.MappedFile = v
	case "dirty":
		m.Dirty = v
	case "writeback":
		m.Writeback = v
	case "workingset_refault_anon":
		m.WorkingsetRefaultAnon = v
	case "workingset_refault_file":
		m.WorkingsetRefaultFile = v
	case "swap":
		m.SwapBytes = v
	case "swapcached":
		m.SwapCached = v
	case "pgpgin":
		m.PgPgIn = v
	case "pgpgout":
		m.PgPgOut = v
	case "pgfault":
		m.PgFault = v
	case "pgmajfault":
		m.PgMajFault = v
	case "inactive_anon":
		m.InactiveAnon = v
	case "active_anon":
		m.ActiveAnon = v
	case "inactive_file":
		m.InactiveFile = v
	case "active_file":
		m.ActiveFile = v
	case "unevictable":
		m.Unevictable = v
	case "hierarchical_memory_limit":
		m.HierarchicalMemoryLimit = v
	case "hierarchical_memsw_limit":
		m.HierarchicalSwapLimit = v
	case "total_cache":
		m.TotalCache = v
	case "total_rss":
		m.TotalRSS = v
	case "total_rss_huge":
		m.TotalRSSHuge = v
	case "total_shmem":
		m.TotalShmem = v
	case "total_mapped_file":
		m.TotalMappedFile = v
	case "total_dirty":
		m.TotalDirty = v
	case "total_writeback":
		m.TotalWriteback = v
	case "total_workingset_refault_anon":
		m.TotalWorkingsetRefaultAnon = v
	case "total_workingset_refault_file":
		m.TotalWorkingsetRefaultFile = v
	case "total_swap":
		m.TotalSwapBytes = v
	case "total_swapcached":
		m.TotalSwapCached = v
	case "total_pgpgin":
		m.TotalPgPgIn = v
	case "total_pgpgout":
		m.TotalPgPgOut = v
	case "total_pgfault":
		m.TotalPgFault = v
	case "total_pgmajfault":
		m.TotalPgMajFault = v
	case "total_inactive_anon":
		m.TotalInactiveAnon = v
	case "total_active_anon":
		m.TotalActiveAnon = v
	case "total_inactive_file":
		m.TotalInactiveFile = v
	case "total_active_file":
		m.TotalActiveFile = v
	case "total_unevictable":
		m.TotalUnevictable = v
	default:
		if m.Extra == nil {
			m.Extra = make(map[string]uint64)
		}
		m.Extra[string(key)] = v
	}
}

// RegisterMemoryEvent registers event on the cgroup at path and returns its eventfd (O_CLOEXEC),
// which the caller owns and must close. The kernel also signals it once when the cgroup is
// removed, so a listener should check that the cgroup still exists after each wake-up.
func (c *memoryController) RegisterMemoryEvent(path string, event MemoryEvent) (uintptr, error) {
	if event == nil {
		return 0, fmt.Errorf("%w: nil MemoryEvent", ErrInvalidValue)
	}
	return registerMemoryEvent(c.fs, path, event)
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *memoryController) withFS(fs *fsRoot) Subsystem {
	return &memoryController{mountedAt: c.withRoot(fs), ignored: c.ignored}
}
