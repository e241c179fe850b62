package cgroups

// The cpu controller: shares, idle, CFS bandwidth (period, quota, burst) and RT bandwidth
// (period, runtime), and the throttling counters of cpu.stat.
//
// The bandwidth files are not independent. Every write of cfs_period_us, cfs_quota_us or
// cfs_burst_us is checked by the kernel against the other two as they are at that moment (burst
// must not exceed a finite quota; the quota/period ratio must fit the parent's and cover the
// children's), and rt_period_us and rt_runtime_us likewise (runtime <= period; the runtime/period
// ratio must fit the parent's share). Writing the files in a fixed order therefore makes some
// valid targets unreachable from some valid starts (runc#3084, #3090, #4094). Here the current
// values are read first and the writes are ordered so that no intermediate state breaks a rule the
// library can see (planBandwidth); a write the kernel still refuses with EINVAL, for a constraint
// of the parent or the children the library cannot see, is retried after the others, a bounded
// number of times.

import (
	"errors"
	"fmt"
	"math/bits"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	cpuShares      = "cpu.shares"
	cpuIdle        = "cpu.idle"
	cpuCfsPeriod   = "cpu.cfs_period_us"
	cpuCfsQuota    = "cpu.cfs_quota_us"
	cpuCfsBurst    = "cpu.cfs_burst_us"
	cpuRtPeriod    = "cpu.rt_period_us"
	cpuRtRuntime   = "cpu.rt_runtime_us"
	cpuStatFile    = "cpu.stat"
	minCPUShares   = 2      // kernel MIN_SHARES: smaller values are silently raised
	maxCPUShares   = 262144 // kernel MAX_SHARES (1<<18): larger values are silently lowered
	minCfsPeriodUs = 1000   // 1 ms: kernel min_cfs_quota_period, also the smallest quota
	maxCfsPeriodUs = 1000000
)

// cpuController is the cpu controller.
type cpuController struct {
	mountedAt
}

// NewCpu returns the cpu controller of the hierarchy mounted at root/cpu.
func NewCpu(root string) *cpuController {
	return newCpu(filepath.Join(root, string(Cpu)))
}

func newCpu(mount string) *cpuController {
	return &cpuController{mountedAt: newMountedAt(mount)}
}

// Name returns "cpu".
func (c *cpuController) Name() Name { return Cpu }

// Create makes the cgroup directory (and missing parents) and applies resources.CPU to it.
func (c *cpuController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update applies every field of resources.CPU that is set (non-nil). Values are checked before
// anything is written: shares 2..262144, idle 0 or 1, period 1000..1000000 µs, quota -1 (any
// negative value) or at least 1000 µs, burst at most the quota, RT period above 0 and RT runtime
// -1 (any negative value) or at most the RT period. Shares are read back, so a value the kernel
// changed is reported rather than silently kept.
//
// Burst and idle need Linux 5.14 and 5.15. On an older kernel a burst of 0 or an idle of 0 (the
// kernels' behaviour anyway) is accepted without a write, while a non-zero value is an error
// that wraps os.ErrNotExist: the caller asked for something the kernel cannot do. The same holds
// for RT bandwidth on a kernel without CONFIG_RT_GROUP_SCHED: a runtime of 0 with no period is
// accepted, anything else is an error.
//
// Idle and shares: the kernel refuses cpu.shares while cpu.idle is 1 (the weight of an idle
// group is fixed at its minimum) and resets the shares to 1024 when idle is cleared. So Idle 0 is
// written before Shares, which then survive; with Idle 1, Shares are not written (they could
// not take effect, and would be lost when idle is cleared); Shares alone on an idle cgroup fail
// with an error that says so.
//
// Then the CFS bandwidth and the RT bandwidth are written, each in an order computed from the
// current values (see planBandwidth).
func (c *cpuController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.CPU == nil {
		return nil
	}
	cpu := resources.CPU
	if err := c.checkCPU(path, cpu); err != nil {
		return err
	}
	idle := cpu.Idle != nil && *cpu.Idle != 0
	if cpu.Idle != nil && !idle {
		if err := c.writeIdle(path, 0); err != nil {
			return err
		}
	}
	if cpu.Shares != nil && !idle {
		if err := c.writeShares(path, *cpu.Shares); err != nil {
			return err
		}
	}
	if err := c.updateCFS(path, cpu); err != nil {
		return err
	}
	if idle {
		if err := c.writeIdle(path, *cpu.Idle); err != nil {
			return err
		}
	}
	return c.updateRT(path, cpu)
}

// file gives the absolute path of a control file, for messages.
func (c *cpuController) file(path, name string) string {
	return filepath.Join(c.Path(path), name)
}

func invalidCPU(file string, v any, why string) error {
	return fmt.Errorf("%w: %v for %s: %s", ErrInvalidValue, v, file, why)
}

// checkCPU validates each value on its own, before anything is written.
func (c *cpuController) checkCPU(path string, cpu *specs.LinuxCPU) error {
	if s := cpu.Shares; s != nil && (*s < minCPUShares || *s > maxCPUShares) {
		return invalidCPU(c.file(path, cpuShares), *s, "cpu shares must be 2 to 262144 (the kernel would change it)")
	}
	if i := cpu.Idle; i != nil && *i != 0 && *i != 1 {
		return invalidCPU(c.file(path, cpuIdle), *i, "cpu idle must be 0 or 1")
	}
	if p := cpu.Period; p != nil && (*p < minCfsPeriodUs || *p > maxCfsPeriodUs) {
		return invalidCPU(c.file(path, cpuCfsPeriod), *p, "the CFS period must be 1000 to 1000000 µs")
	}
	if q := cpu.Quota; q != nil && *q >= 0 && *q < minCfsPeriodUs {
		return invalidCPU(c.file(path, cpuCfsQuota), *q, "the CFS quota must be -1 (unlimited) or at least 1000 µs")
	}
	if b := cpu.Burst; b != nil && *b > 1<<62 {
		return invalidCPU(c.file(path, cpuCfsBurst), *b, "the CFS burst is too large")
	}
	if p := cpu.RealtimePeriod; p != nil && (*p == 0 || *p > 1<<62) {
		return invalidCPU(c.file(path, cpuRtPeriod), *p, "the RT period must be above 0 µs")
	}
	return nil
}

func (c *cpuController) writeIdle(path string, v int64) error {
	err := c.fs.writeFile(path, cpuIdle, strconv.FormatInt(v, 10))
	if err != nil && isNotExist(err) {
		if v == 0 {
			return nil // no cpu.idle (before Linux 5.15): never idle, as asked
		}
		return fmt.Errorf("cgroups: cpu idle %d requested but the kernel has no cpu.idle (Linux 5.15 or later): %w", v, err)
	}
	return err
}

func (c *cpuController) writeShares(path string, v uint64) error {
	if err := c.fs.writeFile(path, cpuShares, strconv.FormatUint(v, 10)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			if idle, ierr := c.readInt(path, cpuIdle); ierr == nil && idle != 0 {
				return fmt.Errorf("%w (cpu.idle is %d: shares cannot be set on an idle cgroup; set Idle to 0 with them)", err, idle)
			}
		}
		return err
	}
	got, err := c.fs.readUint(path, cpuShares)
	if err != nil {
		return err
	}
	if got != v {
		return fmt.Errorf("%w: wrote %d to %s but the kernel set %d", ErrInvalidValue, v, c.file(path, cpuShares), got)
	}
	return nil
}

// readInt reads a file holding one signed value (cfs_quota_us and rt_runtime_us are -1 when
// unlimited, which readUint would turn into 0).
func (c *cpuController) readInt(path, file string) (int64, error) {
	b := getBuf()
	data, err := c.fs.readFile(path, file, *b)
	if err != nil {
		putBuf(b, nil)
		return 0, err
	}
	v, err := parseInt(data)
	putBuf(b, data)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: c.file(path, file), Err: err}
	}
	return v, nil
}

// The fields of a bandwidth state, as indices into bwFiles.
const (
	bwPeriod = iota
	bwRuntime
	bwBurst
)

// bwState is the bandwidth of one scheduling class: CFS (period, quota, burst) or RT (period,
// runtime; burst unused). A negative runtime means unlimited (-1 in the files).
type bwState struct {
	period  uint64
	runtime int64
	burst   uint64
}

func (s bwState) get(f int) string {
	switch f {
	case bwPeriod:
		return strconv.FormatUint(s.period, 10)
	case bwRuntime:
		return strconv.FormatInt(s.runtime, 10)
	default:
		return strconv.FormatUint(s.burst, 10)
	}
}

func (s bwState) with(f int, from bwState) bwState {
	switch f {
	case bwPeriod:
		s.period = from.period
	case bwRuntime:
		s.runtime = from.runtime
	default:
		s.burst = from.burst
	}
	return s
}

func (s bwState) differs(f int, o bwState) bool {
	return s.get(f) != o.get(f)
}

// ownValid tells whether a state keeps the rules between a cgroup's own files: for CFS, burst <=
// quota when the quota is finite; for RT, runtime <= period when the runtime is finite.
func (s bwState) ownValid(rt bool) bool {
	if s.runtime < 0 {
		return true
	}
	if rt {
		return uint64(s.runtime) <= s.period
	}
	return s.burst <= uint64(s.runtime)
}

// ratio returns the share of a CPU the state grants, as runtime/period, and false when it is
// not bounded by this cgroup. For CFS an unlimited quota inherits the parent's bound, so it fits
// whatever the parent and the children allow; an unlimited RT runtime counts as a whole CPU, as
// the kernel counts it.
func (s bwState) ratio(rt bool) (num, den uint64, ok bool) {
	if s.runtime < 0 {
		if rt {
			return 1, 1, true
		}
		return 0, 0, false
	}
	return uint64(s.runtime), s.period, true
}

// ratioLess tells whether a/b < c/d, exactly (128-bit products).
func ratioLess(a, b, c, d uint64) bool {
	h1, l1 := bits.Mul64(a, d)
	h2, l2 := bits.Mul64(c, b)
	return h1 < h2 || h1 == h2 && l1 < l2
}

// planBandwidth orders the writes (fields of bwPeriod, bwRuntime, bwBurst that differ) that take
// a cgroup from cur to want, so that no intermediate state breaks a rule. Both cur and want must
// keep the own-file rules. The preferred order keeps every intermediate's runtime/period ratio
// between the start's and the target's: those are known to fit the parent (the parent allows at
// least the larger) and the children (they need at most the smaller). Where no order does that
// (the period and the runtime change in opposite senses), it takes an order whose intermediate
// ratios stay at or below the larger of the two, which can only fail for a parent cgroup whose
// children hold ratios above the intermediate; the caller's EINVAL retry covers that case. An
// order that keeps the own-file rules always exists (burst goes first when the new burst fits
// the old quota, else after the new quota; see TestCPUPlanBandwidth).
func planBandwidth(cur, want bwState, rt bool) []int {
	var fields []int
	for _, f := range []int{bwPeriod, bwRuntime, bwBurst} {
		if cur.differs(f, want) {
			fields = append(fields, f)
		}
	}
	if len(fields) < 2 {
		return fields
	}
	// The ratio bounds from the two endpoints.
	var lo, hi [2]uint64
	bounded := false
	for _, s := range []bwState{cur, want} {
		n, d, ok := s.ratio(rt)
		if !ok {
			continue
		}
		if !bounded {
			lo, hi, bounded = [2]uint64{n, d}, [2]uint64{n, d}, true
			continue
		}
		if ratioLess(n, d, lo[0], lo[1]) {
			lo = [2]uint64{n, d}
		}
		if ratioLess(hi[0], hi[1], n, d) {
			hi = [2]uint64{n, d}
		}
	}
	fits := func(s bwState, strict bool) bool {
		if !s.ownValid(rt) {
			return false
		}
		n, d, ok := s.ratio(rt)
		if !ok || !bounded {
			return true
		}
		if ratioLess(hi[0], hi[1], n, d) {
			return false
		}
		return !strict || !ratioLess(n, d, lo[0], lo[1])
	}
	perms := permutations(fields)
	for _, strict := range []bool{true, false} {
		for _, order := range perms {
			s, ok := cur, true
			for _, f := range order[:len(order)-1] {
				if s = s.with(f, want); !fits(s, strict) {
					ok = false
					break
				}
			}
			if ok {
				return order
			}
		}
	}
	return fields // unreachable for valid cur and want; the EINVAL retry has the last word
}

// permutations lists the orders of up to three fields, the given order first.
func permutations(f []int) [][]int {
	if len(f) <= 1 {
		return [][]int{f}
	}
	var out [][]int
	for i := range f {
		rest := make([]int, 0, len(f)-1)
		rest = append(rest, f[:i]...)
		rest = append(rest, f[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]int{f[i]}, p...))
		}
	}
	return out
}

// writeBandwidth writes the planned fields in order. A write refused with EINVAL (a constraint of
// the parent or the children that the plan could not see) is put back and tried again after the
// others, for as long as a pass makes progress: every pass either shrinks the pending writes or
// returns, so there are at most len(order) passes.
func (c *cpuController) writeBandwidth(path string, files [3]string, want bwState, order []int) error {
	pending := order
	for len(pending) > 0 {
		var failed []int
		var firstErr error
		for _, f := range pending {
			err := c.fs.writeFile(path, files[f], want.get(f))
			if err == nil {
				continue
			}
			if !errors.Is(err, unix.EINVAL) {
				return err
			}
			if firstErr == nil {
				firstErr = err
			}
			failed = append(failed, f)
		}
		if len(failed) == len(pending) {
			return firstErr // no progress: the kernel refuses the target itself
		}
		pending = failed
	}
	return nil
}

var (
	cfsFiles = [3]string{cpuCfsPeriod, cpuCfsQuota, cpuCfsBurst}
	rtFiles  = [3]string{cpuRtPeriod, cpuRtRuntime, ""}
)

// updateCFS applies Period, Quota and Burst.
func (c *cpuController) updateCFS(path string, cpu *specs.LinuxCPU) error {
	if cpu.Period == nil && cpu.Quota == nil && cpu.Burst == nil {
		return nil
	}
	var cur bwState
	var err error
	if cur.period, err = c.fs.readUint(path, cpuCfsPeriod); err != nil {
		return err
	}
	if cur.runtime, err = c.readInt(path, cpuCfsQuota); err != nil {
		return err
	}
	burstMissing := false
	if cur.burst, err = c.fs.readUint(path, cpuCfsBurst); err != nil {
		if !isNotExist(err) {
			return err
		}
		burstMissing = true
	}
	want := cur
	if cpu.Period != nil {
		want.period = *cpu.Period
	}
	if cpu.Quota != nil {
		want.runtime = max(*cpu.Quota, -1)
	}
	if cpu.Burst != nil {
		if burstMissing && *cpu.Burst != 0 {
			return fmt.Errorf("cgroups: cpu burst %d requested but the kernel has no cpu.cfs_burst_us (Linux 5.14 or later): %w",
				*cpu.Burst, &FileError{Op: "write", Path: c.file(path, cpuCfsBurst),
					Value: strconv.FormatUint(*cpu.Burst, 10), Err: unix.ENOENT})
		}
		if !burstMissing {
			want.burst = *cpu.Burst
		}
	}
	if !want.ownValid(false) {
		return fmt.Errorf("%w: CFS burst %d µs (%s) is above quota %d µs (%s); lower the burst with the quota",
			ErrInvalidValue, want.burst, c.file(path, cpuCfsBurst), want.runtime, c.file(path, cpuCfsQuota))
	}
	return c.writeBandwidth(path, cfsFiles, want, planBandwidth(cur, want, false))
}

// updateRT applies RealtimePeriod and RealtimeRuntime.
func (c *cpuController) updateRT(path string, cpu *specs.LinuxCPU) error {
	if cpu.RealtimePeriod == nil && cpu.RealtimeRuntime == nil {
		return nil
	}
	var cur bwState
	var err error
	cur.period, err = c.fs.readUint(path, cpuRtPeriod)
	if err == nil {
		cur.runtime, err = c.readInt(path, cpuRtRuntime)
	}
	if err != nil {
		if isNotExist(err) && cpu.RealtimePeriod == nil && *cpu.RealtimeRuntime == 0 {
			return nil // no RT group scheduling: RT tasks get no group runtime, as asked
		}
		if isNotExist(err) {
			return fmt.Errorf("cgroups: RT bandwidth requested but the kernel has no RT group scheduling (CONFIG_RT_GROUP_SCHED): %w", err)
		}
		return err
	}
	want := cur
	if cpu.RealtimePeriod != nil {
		want.period = *cpu.RealtimePeriod
	}
	if cpu.RealtimeRuntime != nil {
		want.runtime = max(*cpu.RealtimeRuntime, -1)
	}
	if !want.ownValid(true) {
		return fmt.Errorf("%w: RT runtime %d µs (%s) is above the RT period %d µs (%s)",
			ErrInvalidValue, want.runtime, c.file(path, cpuRtRuntime), want.period, c.file(path, cpuRtPeriod))
	}
	return c.writeBandwidth(path, rtFiles, want, planBandwidth(cur, want, true))
}

// Stat reads cpu.stat into stats.CPU.Throttling, allocating what is nil. Keys this package does
// not know are skipped.
func (c *cpuController) Stat(path string, stats *Metrics) error {
	b := getBuf()
	data, err := c.fs.readFile(path, cpuStatFile, *b)
	if err != nil {
		putBuf(b, nil)
		return err
	}
	if stats.CPU == nil {
		stats.CPU = &CPUStat{}
	}
	if stats.CPU.Throttling == nil {
		stats.CPU.Throttling = &Throttle{}
	}
	t := stats.CPU.Throttling
	err = forEachKeyValue(data, func(key []byte, v uint64) {
		switch string(key) {
		case "nr_periods":
			t.Periods = v
		case "nr_throttled":
			t.ThrottledPeriods = v
		case "throttled_time":
			t.ThrottledTime = v
		case "nr_bursts":
			t.NrBursts = v
		case "burst_time":
			t.BurstTime = v
		}
	})
	putBuf(b, data)
	if err != nil {
		return &FileError{Op: "parse", Path: c.file(path, cpuStatFile), Err: err}
	}
	return nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *cpuController) withFS(fs *fsRoot) Subsystem {
	return &cpuController{mountedAt: c.withRoot(fs)}
}
