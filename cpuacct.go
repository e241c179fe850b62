package cgroups

import (
	"fmt"
	"math/bits"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

const (
	cpuacctUsage       = "cpuacct.usage"
	cpuacctUsagePercpu = "cpuacct.usage_percpu"
	cpuacctUsageAll    = "cpuacct.usage_all"
	cpuacctStat        = "cpuacct.stat"
	nanosPerSecond     = 1_000_000_000
)

// cpuacctController is the cpuacct controller.
type cpuacctController struct {
	mountedAt
}

// NewCpuacct returns the cpuacct controller of the hierarchy mounted at root/cpuacct.
func NewCpuacct(root string) *cpuacctController {
	return newCpuacct(filepath.Join(root, string(Cpuacct)))
}

func newCpuacct(mount string) *cpuacctController {
	return &cpuacctController{mountedAt: newMountedAt(mount)}
}

// Name returns "cpuacct".
func (c *cpuacctController) Name() Name { return Cpuacct }

// clockTicks is USER_HZ, the unit of cpuacct.stat, as the kernel gives it to this process in
// the auxiliary vector (AT_CLKTCK, what sysconf(_SC_CLK_TCK) returns). It is 100 on every Linux
// architecture this package builds for; 100 is also the fallback.
var clockTicks = sync.OnceValue(func() uint64 {
	const atClkTck = 17
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})

// ticksToNanos converts USER_HZ ticks to nanoseconds exactly, saturating instead of wrapping
// (containerd's v*1e9/100 wraps past about 1.8e10 ticks).
func ticksToNanos(v, hz uint64) uint64 {
	hi, lo := bits.Mul64(v, nanosPerSecond)
	if hi >= hz {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, hz)
	return q
}

// Stat fills stats.CPU.Usage (allocated if nil; slices already there are reused):
//   - Total from cpuacct.usage and PerCPU from cpuacct.usage_percpu (ns);
//   - User and Kernel, and PerCPUUser and PerCPUKernel, from cpuacct.usage_all (Linux 4.7 and
//     later): the per-CPU user and system nanoseconds, summed for User and Kernel. These are the
//     same counters as cpuacct.usage_user/_sys and cpuacct.usage_percpu_user/_sys, read in one
//     file, and they have nanosecond precision where cpuacct.stat is in 10 ms ticks. On Linux 5.18
//     and later they count the same time as cpuacct.stat (user+nice, system+irq+softirq); before,
//     they split each charge by the mode the CPU was in.
//   - Where cpuacct.usage_all is missing (older kernels) or has no user and system columns,
//     User and Kernel come from cpuacct.stat, converted from USER_HZ ticks, and the per-CPU
//     split is left empty.
//
// One pooled buffer serves every file.
func (c *cpuacctController) Stat(path string, stats *Metrics) error {
	b := getBuf()
	buf := *b
	err := c.stat(path, stats, &buf)
	putBuf(b, buf)
	return err
}

func (c *cpuacctController) stat(path string, stats *Metrics, buf *[]byte) error {
	read := func(file string) ([]byte, error) {
		data, err := c.fs.readFile(path, file, (*buf)[:0])
		if data != nil {
			*buf = data[:0]
		}
		return data, err
	}
	parseErr := func(file string, err error) error {
		return &FileError{Op: "parse", Path: filepath.Join(c.Path(path), file), Err: err}
	}

	data, err := read(cpuacctUsage)
	if err != nil {
		return err
	}
	total, err := parseUint(data)
	if err != nil {
		return parseErr(cpuacctUsage, err)
	}
	data, err = read(cpuacctUsagePercpu)
	if err != nil {
		return err
	}
	if stats.CPU == nil {
		stats.CPU = &CPUStat{}
	}
	if stats.CPU.Usage == nil {
		stats.CPU.Usage = &CPUUsage{}
	}
	u := stats.CPU.Usage
	u.Total = total
	if u.PerCPU, err = parseUintList(data, u.PerCPU[:0]); err != nil {
		return parseErr(cpuacctUsagePercpu, err)
	}

	u.PerCPUUser, u.PerCPUKernel = u.PerCPUUser[:0], u.PerCPUKernel[:0]
	data, err = read(cpuacctUsageAll)
	if err == nil {
		var ok bool
		ok, err = parseUsageAll(data, u)
		if err != nil {
			return parseErr(cpuacctUsageAll, err)
		}
		if ok {
			return nil
		}
		u.PerCPUUser, u.PerCPUKernel = u.PerCPUUser[:0], u.PerCPUKernel[:0]
	} else if !isNotExist(err) {
		return err
	}

	data, err = read(cpuacctStat)
	if err != nil {
		return err
	}
	var user, system uint64
	seen := 0
	err = forEachKeyValue(data, func(key []byte, v uint64) {
		switch string(key) {
		case "user":
			user, seen = v, seen|1
		case "system":
			system, seen = v, seen|2
		}
	})
	if err == nil && seen != 3 {
		err = fmt.Errorf("%w: no \"user\" and \"system\" lines", ErrInvalidFormat)
	}
	if err != nil {
		return parseErr(cpuacctStat, err)
	}
	hz := clockTicks()
	u.User, u.Kernel = ticksToNanos(user, hz), ticksToNanos(system, hz)
	return nil
}

// parseUsageAll parses cpuacct.usage_all ("cpu user system" then one line per CPU) into the
// per-CPU user and kernel slices and their sums. The columns are found by the header's names,
// so a kernel that adds columns still parses. It returns false, without error, when the header
// has no user or no system column.
func parseUsageAll(data []byte, u *CPUUsage) (bool, error) {
	header, data := nextLine(data)
	userCol, sysCol := -1, -1
	n := 0
	for f, rest := nextField(header); len(f) > 0; f, rest = nextField(rest) {
		switch string(f) {
		case "user":
			userCol = n
		case "system":
			sysCol = n
		}
		n++
	}
	if userCol < 0 || sysCol < 0 {
		return false, nil
	}
	var user, kernel uint64
	for line := 2; len(data) > 0; line++ {
		var l []byte
		l, data = nextLine(data)
		if len(trimSpace(l)) == 0 {
			continue
		}
		var uv, sv uint64
		got := 0
		col := 0
		for f, rest := nextField(l); len(f) > 0; f, rest = nextField(rest) {
			if col == userCol || col == sysCol {
				v, err := parseUint(f)
				if err != nil {
					return false, fmt.Errorf("line %d: %w", line, err)
				}
				if col == userCol {
					uv = v
				} else {
					sv = v
				}
				got++
			}
			col++
		}
		if got != 2 {
			return false, fmt.Errorf("%w: line %d: %q has fewer columns than the header", ErrInvalidFormat, line, l)
		}
		u.PerCPUUser = append(u.PerCPUUser, uv)
		u.PerCPUKernel = append(u.PerCPUKernel, sv)
		user += uv
		kernel += sv
	}
	u.User, u.Kernel = user, kernel
	return true, nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *cpuacctController) withFS(fs *fsRoot) Subsystem {
	return &cpuacctController{mountedAt: c.withRoot(fs)}
}
