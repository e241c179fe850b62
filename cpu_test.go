package cgroups

import (
	"errors"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cpuModelValid is the kernel's rule set for a bandwidth state, written independently of the
// plan: each value in range, the own-file rule, and the ratio not above maxRatio (the parent's
// bound; nil for none).
func cpuModelValid(s bwState, rt bool, maxN, maxD uint64) bool {
	if rt {
		if s.period == 0 || s.runtime >= 0 && uint64(s.runtime) > s.period {
			return false
		}
		n, d := uint64(1), uint64(1)
		if s.runtime >= 0 {
			n, d = uint64(s.runtime), s.period
		}
		return !ratioGreater(n, d, maxN, maxD)
	}
	if s.period < 1000 || s.period > 1000000 {
		return false
	}
	if s.runtime < 0 {
		return s.runtime == -1 // unlimited: any burst, inherits the parent's bound
	}
	if s.runtime < 1000 || s.burst > uint64(s.runtime) {
		return false
	}
	return !ratioGreater(uint64(s.runtime), s.period, maxN, maxD)
}

func ratioGreater(a, b, c, d uint64) bool {
	if d == 0 { // no bound
		return false
	}
	h1, l1 := bits.Mul64(a, d)
	h2, l2 := bits.Mul64(c, b)
	return h1 > h2 || h1 == h2 && l1 > l2
}

// maxRatio is the larger finite ratio of the two endpoints: the parent allows at least that.
func maxRatio(a, b bwState, rt bool) (uint64, uint64) {
	var n, d uint64
	for _, s := range []bwState{a, b} {
		sn, sd, ok := s.ratio(rt)
		if !ok {
			continue
		}
		if d == 0 || ratioGreater(sn, sd, n, d) {
			n, d = sn, sd
		}
	}
	return n, d
}

// TestCPUPlanBandwidth checks, for every pair of valid states of a grid, that the write order
// never passes through a state the kernel refuses: own-file rules always, and a ratio never above
// what one of the endpoints already needed from the parent.
func TestCPUPlanBandwidth(t *testing.T) {
	var cfs []bwState
	for _, p := range []uint64{1000, 10000, 100000, 1000000} {
		for _, q := range []int64{-1, 1000, 2000, 50000, 100000, 2000000} {
			for _, b := range []uint64{0, 1000, 20000, 50000, 150000} {
				if s := (bwState{p, q, b}); cpuModelValid(s, false, 0, 0) {
					cfs = append(cfs, s)
				}
			}
		}
	}
	var rts []bwState
	for _, p := range []uint64{1, 1000, 500000, 1000000} {
		for _, r := range []int64{-1, 0, 1, 1000, 10000, 400000, 600000, 1000000} {
			if s := (bwState{p, r, 0}); cpuModelValid(s, true, 0, 0) {
				rts = append(rts, s)
			}
		}
	}
	pairs := 0
	for _, tc := range []struct {
		rt     bool
		states []bwState
	}{{false, cfs}, {true, rts}} {
		for _, from := range tc.states {
			for _, to := range tc.states {
				order := planBandwidth(from, to, tc.rt)
				n, d := maxRatio(from, to, tc.rt)
				s := from
				seen := map[int]bool{}
				for _, f := range order {
					if seen[f] || !from.differs(f, to) {
						t.Fatalf("rt=%v %+v -> %+v: order %v repeats a field or writes an unchanged one", tc.rt, from, to, order)
					}
					seen[f] = true
					s = s.with(f, to)
					if !cpuModelValid(s, tc.rt, n, d) {
						t.Fatalf("rt=%v %+v -> %+v: order %v passes through invalid %+v", tc.rt, from, to, order, s)
					}
				}
				if s != to {
					t.Fatalf("rt=%v %+v -> %+v: order %v ends at %+v", tc.rt, from, to, order, s)
				}
				pairs++
			}
		}
	}
	t.Logf("%d transitions checked", pairs)

	// The cases the fixed orders of containerd and runc get wrong.
	for _, tc := range []struct {
		name     string
		rt       bool
		from, to bwState
		want     []int
	}{
		{"cfs narrowing: burst before quota", false, bwState{100000, 50000, 20000}, bwState{10000, 2000, 1000},
			[]int{bwBurst, bwRuntime, bwPeriod}},
		{"cfs widening: quota before burst", false, bwState{10000, 2000, 1000}, bwState{100000, 50000, 20000},
			[]int{bwPeriod, bwRuntime, bwBurst}},
		{"cfs to unlimited: quota first", false, bwState{100000, 50000, 20000}, bwState{10000, -1, 0},
			[]int{bwRuntime, bwPeriod, bwBurst}},
		{"cfs from unlimited: period before the quota", false, bwState{10000, -1, 0}, bwState{100000, 50000, 0},
			[]int{bwPeriod, bwRuntime}},
		{"rt shrinking period: runtime first", true, bwState{1000000, 600000, 0}, bwState{500000, 200000, 0},
			[]int{bwRuntime, bwPeriod}},
		{"rt growing period: period first", true, bwState{500000, 200000, 0}, bwState{1000000, 600000, 0},
			[]int{bwPeriod, bwRuntime}},
	} {
		if got := planBandwidth(tc.from, tc.to, tc.rt); !equalInts(got, tc.want) {
			t.Errorf("%s: order %v, want %v", tc.name, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCPUStatFixture(t *testing.T) {
	root := fixtureRoot(t, map[string]string{
		"cpu/cg/cpu.stat":  "nr_periods 12\nnr_throttled 10\nthrottled_time 443323690\nnr_bursts 3\nburst_time 5000\nwait_sum 7\n",
		"cpu/bad/cpu.stat": "nr_periods x\n",
	})
	c := NewCpu(root)
	var m Metrics // nothing pre-allocated
	if err := c.Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	want := Throttle{Periods: 12, ThrottledPeriods: 10, ThrottledTime: 443323690, NrBursts: 3, BurstTime: 5000}
	if m.CPU == nil || m.CPU.Throttling == nil || *m.CPU.Throttling != want {
		t.Fatalf("throttling %+v, want %+v", m.CPU, want)
	}
	err := c.Stat("/bad", &m)
	if !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "bad/cpu.stat") {
		t.Fatalf("bad cpu.stat: %v", err)
	}
	if err := c.Stat("/missing", &m); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing cgroup: %v", err)
	}
}

// TestCPUUpdateFixture checks the values written and the checks made before any write, on a
// plain tree with the defaults of a new cgroup of a kernel without burst and idle (before 5.14).
func TestCPUUpdateFixture(t *testing.T) {
	files := map[string]string{
		"cpu/cg/cpu.shares":        "1024\n",
		"cpu/cg/cpu.cfs_period_us": "100000\n",
		"cpu/cg/cpu.cfs_quota_us":  "-1\n",
		"cpu/cg/cpu.rt_period_us":  "1000000\n",
		"cpu/cg/cpu.rt_runtime_us": "0\n",
	}
	root := fixtureRoot(t, files)
	c := NewCpu(root)
	dir := filepath.Join(root, "cpu/cg")
	err := c.Update("/cg", &specs.LinuxResources{CPU: &specs.LinuxCPU{
		Shares: u64(512), Period: u64(50000), Quota: i64(-5), Burst: u64(0), Idle: i64(0),
		RealtimePeriod: u64(500000), RealtimeRuntime: i64(10000),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"cpu.shares": "512", "cpu.cfs_period_us": "50000", "cpu.cfs_quota_us": "-1",
		"cpu.rt_period_us": "500000", "cpu.rt_runtime_us": "10000",
	} {
		if got := readTestFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	for _, f := range []string{"cpu.cfs_burst_us", "cpu.idle"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s was written on a kernel without it", f)
		}
	}
	// Non-zero burst or idle on a kernel without them: an error that says so.
	for _, cpu := range []*specs.LinuxCPU{{Burst: u64(1000)}, {Idle: i64(1)}} {
		err := c.Update("/cg", &specs.LinuxResources{CPU: cpu})
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "Linux 5.1") {
			t.Errorf("Update(%+v) = %v, want a not-exist error naming the kernel version", cpu, err)
		}
	}

	// Invalid values: refused before anything is written.
	for _, cpu := range []*specs.LinuxCPU{
		{Shares: u64(1), Quota: i64(20000)},
		{Shares: u64(262145)},
		{Idle: i64(2)},
		{Period: u64(999)},
		{Period: u64(1000001)},
		{Quota: i64(0)},
		{Quota: i64(999)},
		{RealtimePeriod: u64(0)},
		{RealtimeRuntime: i64(600000)}, // above the current RT period 500000
	} {
		err := c.Update("/cg", &specs.LinuxResources{CPU: cpu})
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), dir) {
			t.Errorf("Update(%+v) = %v, want ErrInvalidValue naming the file", cpu, err)
		}
	}
	if got := readTestFile(t, filepath.Join(dir, "cpu.cfs_quota_us")); got != "-1" {
		t.Errorf("a refused update wrote the quota: %q", got)
	}
	if err := c.Update("/cg", nil); err != nil {
		t.Errorf("nil resources: %v", err)
	}
	if err := c.Update("/cg", &specs.LinuxResources{}); err != nil {
		t.Errorf("nil CPU: %v", err)
	}
}

// cpuTestController returns the controller of the machine's V1 hierarchy.
func cpuTestSubsystem[T Subsystem](t *testing.T, name Name) T {
	t.Helper()
	subsystems, err := V1()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subsystems {
		if s.Name() == name {
			if c, ok := s.(T); ok {
				return c
			}
		}
	}
	t.Skipf("no %s controller mounted", name)
	panic("unreachable")
}

func cpuCheckFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for file, v := range want {
		if got := readTestFile(t, filepath.Join(dir, file)); got != v {
			t.Errorf("%s = %q, want %q", file, got, v)
		}
	}
}

// cpuHasRT tells whether the kernel has RT group scheduling (CONFIG_RT_GROUP_SCHED): Debian's
// kernels, as in vmtest guests, do not.
func cpuHasRT(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	c := cpuTestSubsystem[*cpuController](t, Cpu)
	_, err := os.Stat(filepath.Join(c.mount, cpuRtPeriod))
	return err == nil
}

func TestCPUCreateReal(t *testing.T) {
	hasRT := cpuHasRT(t)
	res := &specs.LinuxCPU{
		Shares: u64(512), Period: u64(50000), Quota: i64(20000), Burst: u64(5000), Idle: i64(0),
	}
	want := map[string]string{
		"cpu.shares": "512", "cpu.cfs_period_us": "50000", "cpu.cfs_quota_us": "20000",
		"cpu.cfs_burst_us": "5000", "cpu.idle": "0",
	}
	if hasRT {
		res.RealtimePeriod, res.RealtimeRuntime = u64(500000), i64(10000)
		want["cpu.rt_period_us"], want["cpu.rt_runtime_us"] = "500000", "10000"
	}
	cg, path := newTestCgroup(t, &specs.LinuxResources{CPU: res})
	c := cpuTestSubsystem[*cpuController](t, Cpu)
	dir := c.Path(path)
	cpuCheckFiles(t, dir, want)
	if !hasRT {
		// Without RT group scheduling a runtime is refused (the caller asked for something the
		// kernel cannot do), and a runtime of 0 alone is what the kernel does anyway.
		err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(10000)}})
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "CONFIG_RT_GROUP_SCHED") {
			t.Errorf("RT runtime without RT group scheduling: %v", err)
		}
		if err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(0)}}); err != nil {
			t.Errorf("RT runtime 0 without RT group scheduling: %v", err)
		}
	}

	// Idle: the kernel fixes the weight (cpu.shares reads 3) and resets the shares to 1024 when
	// idle is cleared. Shares passed with Idle 1 are not written; with Idle 0 they are written
	// after idle is cleared, so they hold.
	if err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(300), Idle: i64(1)}}); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, dir, map[string]string{"cpu.idle": "1", "cpu.shares": "3"})
	// Shares alone on an idle cgroup: the kernel refuses, and the error says why.
	err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(400)}})
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "cpu.idle is 1") {
		t.Errorf("shares on an idle cgroup: %v", err)
	}
	if err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(400), Idle: i64(0)}}); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, dir, map[string]string{"cpu.idle": "0", "cpu.shares": "400"})

	// Shares the kernel would clamp are refused and nothing changes.
	for _, v := range []uint64{0, 1, 262145} {
		err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(v)}})
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("shares %d: %v", v, err)
		}
	}
	cpuCheckFiles(t, dir, map[string]string{"cpu.shares": "400"})
	for _, v := range []uint64{2, 262144} {
		if err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(v)}}); err != nil {
			t.Errorf("shares %d: %v", v, err)
		}
	}
}

// TestCPUBandwidthReal moves CFS and RT bandwidth both ways between states that a fixed write
// order cannot connect, on the real kernel.
func TestCPUBandwidthReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	c := cpuTestSubsystem[*cpuController](t, Cpu)
	dir := c.Path(path)
	set := func(cpu *specs.LinuxCPU, want map[string]string) {
		t.Helper()
		if err := cg.Update(&specs.LinuxResources{CPU: cpu}); err != nil {
			t.Fatal(err)
		}
		cpuCheckFiles(t, dir, want)
	}
	wide := map[string]string{"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.cfs_burst_us": "20000"}
	narrow := map[string]string{"cpu.cfs_quota_us": "2000", "cpu.cfs_period_us": "10000", "cpu.cfs_burst_us": "1000"}
	set(&specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Burst: u64(20000)}, wide)

	// The fixed order (quota before burst) is refused by this kernel: the test is meaningful.
	if err := c.fs.writeFile(path, cpuCfsQuota, "2000"); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("quota 2000 under burst 20000: %v, want EINVAL", err)
	}
	for i := 0; i < 2; i++ {
		set(&specs.LinuxCPU{Quota: i64(2000), Period: u64(10000), Burst: u64(1000)}, narrow)
		set(&specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Burst: u64(20000)}, wide)
	}
	set(&specs.LinuxCPU{Quota: i64(-1), Period: u64(10000), Burst: u64(0)},
		map[string]string{"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "10000", "cpu.cfs_burst_us": "0"})
	// Burst above an unlimited quota is accepted by the kernel; then a finite quota needs it lower.
	set(&specs.LinuxCPU{Burst: u64(30000)}, map[string]string{"cpu.cfs_burst_us": "30000"})
	err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(20000)}})
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "burst 30000") {
		t.Errorf("quota under the current burst: %v", err)
	}
	set(&specs.LinuxCPU{Quota: i64(20000), Burst: u64(10000)},
		map[string]string{"cpu.cfs_quota_us": "20000", "cpu.cfs_burst_us": "10000"})

	if !cpuHasRT(t) {
		t.Log("no RT group scheduling in this kernel: the RT bandwidth moves are not tested")
		return
	}
	// RT: the default (1000000, 0) to (500000, 10000) and back, then (1000000, 600000) to
	// (500000, 200000) and back, where writing the period first is refused (600000 > 500000).
	rtA := map[string]string{"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0"}
	rtB := map[string]string{"cpu.rt_period_us": "500000", "cpu.rt_runtime_us": "10000"}
	cpuCheckFiles(t, dir, rtA)
	set(&specs.LinuxCPU{RealtimePeriod: u64(500000), RealtimeRuntime: i64(10000)}, rtB)
	set(&specs.LinuxCPU{RealtimePeriod: u64(1000000), RealtimeRuntime: i64(0)}, rtA)
	rtC := map[string]string{"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "600000"}
	rtD := map[string]string{"cpu.rt_period_us": "500000", "cpu.rt_runtime_us": "200000"}
	set(&specs.LinuxCPU{RealtimeRuntime: i64(600000)}, rtC)
	if err := c.fs.writeFile(path, cpuRtPeriod, "500000"); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("rt period 500000 under runtime 600000: %v, want EINVAL", err)
	}
	set(&specs.LinuxCPU{RealtimePeriod: u64(500000), RealtimeRuntime: i64(200000)}, rtD)
	set(&specs.LinuxCPU{RealtimePeriod: u64(1000000), RealtimeRuntime: i64(600000)}, rtC)
	// More than the root's 950000 of each second: the kernel's error names file and value.
	err = cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(960000)}})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Value != "960000" || !strings.HasSuffix(fe.Path, "cpu.rt_runtime_us") {
		t.Errorf("rt runtime above the parent's: %v", err)
	}
	set(&specs.LinuxCPU{RealtimeRuntime: i64(0)}, rtA)
}

// TestCPUStatThrottledReal runs a spinning process under a 10% quota and checks the throttling
// and usage counters the kernel reports.
func TestCPUStatThrottledReal(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(10000), Period: u64(100000)}})
	cmd := startProcess(t, "spin")
	if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(350 * time.Millisecond)
	m, err := cg.Stat()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	th, u := m.CPU.Throttling, m.CPU.Usage
	t.Logf("after %v: throttling %+v, usage total %d user %d kernel %d percpu %v", elapsed, *th, u.Total, u.User, u.Kernel, u.PerCPU)
	if th.Periods < 2 || th.ThrottledPeriods == 0 || th.ThrottledTime == 0 || th.ThrottledPeriods > th.Periods {
		t.Errorf("throttling %+v: want periods >= 2 and some throttled", *th)
	}
	// At 10% of one CPU, 350 ms of spinning uses about 35 ms; allow for the first period and the
	// start of the process, but not for an unthrottled run.
	if u.Total == 0 || u.Total > uint64(elapsed/4) {
		t.Errorf("usage %d ns over %v: want above 0 and well under a quarter of it", u.Total, elapsed)
	}
	var sum uint64
	for _, v := range u.PerCPU {
		sum += v
	}
	if sum == 0 || sum > u.Total+uint64(20*time.Millisecond) || sum+uint64(20*time.Millisecond) < u.Total {
		t.Errorf("per-CPU sum %d far from total %d", sum, u.Total)
	}
	if len(u.PerCPUUser) != len(u.PerCPU) || len(u.PerCPUKernel) != len(u.PerCPU) || u.User+u.Kernel == 0 {
		t.Errorf("user/kernel split: %+v", *u)
	}

	// The controllers' Stat on an empty Metrics allocates what it fills.
	var direct Metrics
	if err := cpuTestSubsystem[*cpuController](t, Cpu).Stat(path, &direct); err != nil {
		t.Fatal(err)
	}
	if err := cpuTestSubsystem[*cpuacctController](t, Cpuacct).Stat(path, &direct); err != nil {
		t.Fatal(err)
	}
	if direct.CPU.Throttling.Periods < th.Periods || direct.CPU.Usage.Total < u.Total {
		t.Errorf("second read went backwards: %+v %+v", *direct.CPU.Throttling, *direct.CPU.Usage)
	}
}

// TestCPUBandwidthHierarchyReal changes the period of a cgroup whose child holds a quota: with
// the ratio kept, one of the two intermediate states is below the child's ratio, which v1 refuses
// (EINVAL), so the refused write must be retried after the other.
func TestCPUBandwidthHierarchyReal(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}})
	c := cpuTestSubsystem[*cpuController](t, Cpu)
	if _, err := cg.New("child", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(40000), Period: u64(100000)}}); err != nil {
		t.Fatal(err)
	}
	// Without the retry: the quota alone, down to 5% while the child has 40%, is refused.
	if err := c.fs.writeFile(path, cpuCfsQuota, "5000"); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("parent quota under the child's ratio: %v, want EINVAL", err)
	}
	dir := c.Path(path)
	for i := 0; i < 2; i++ {
		for _, s := range [][2]uint64{{10000, 5000}, {100000, 50000}} {
			if err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(s[0]), Quota: i64(int64(s[1]))}}); err != nil {
				t.Fatalf("period %d quota %d: %v", s[0], s[1], err)
			}
			cpuCheckFiles(t, dir, map[string]string{"cpu.cfs_period_us": strconv.FormatUint(s[0], 10),
				"cpu.cfs_quota_us": strconv.FormatUint(s[1], 10)})
		}
	}
	// A target below the child's ratio is refused by the kernel, and says so.
	err := cg.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(10000)}})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Value != "10000" || !errors.Is(err, unix.EINVAL) {
		t.Errorf("quota under the child's: %v", err)
	}
	cpuCheckFiles(t, dir, map[string]string{"cpu.cfs_quota_us": "50000"})
}
