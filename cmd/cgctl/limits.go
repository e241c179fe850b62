package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cfsPeriod is the CFS period cgctl writes with --cpus: the kernel's default, 100 ms.
const cfsPeriod = 100000

// limits are the resource flags shared by create, set and exec. Each value is checked when the
// flag is parsed, so a bad one is a usage error before anything is written. A flag that is not
// given leaves its file as it is.
type limits struct {
	memory      sizeFlag
	memorySwap  sizeFlag
	cpus        cpusFlag
	cpuShares   rangeFlag
	cpusetCpus  listFlag
	cpusetMems  listFlag
	pids        countFlag
	blkioWeight rangeFlag
	devices     []specs.LinuxDeviceCgroup // in the order given, allows and denies mixed
}

// limitsHelp is appended to the help of the commands that take limits.
const limitsHelp = `
Limits (each one is written only when given; sizes take K, M, G, T suffixes, powers of 1024):
  --memory 256M         memory.limit_in_bytes; max for no limit
  --memory-swap 512M    memory.memsw.limit_in_bytes: memory plus swap; max for no limit
  --cpus 1.5            CFS quota in CPUs (cpu.cfs_quota_us over a 100 ms period); max for none
  --cpu-shares 512      cpu.shares, relative weight 2..262144
  --cpuset-cpus 0-1     cpuset.cpus;  --cpuset-mems 0: cpuset.mems
  --pids 100            pids.max; max for no limit
  --device-deny RULE, --device-allow RULE   devices rule "TYPE MAJOR:MINOR ACCESS", e.g.
                        "c 1:3 rwm", "b 8:* r", or "a" for all devices; repeatable, applied in
                        order (the rules describe the whole device policy, as in the OCI spec)
  --blkio-weight 500    blkio.weight (or blkio.bfq.weight), 10..1000
`

func (l *limits) register(fs *flag.FlagSet) {
	l.memory.name, l.memorySwap.name = "memory", "memory-swap"
	l.cpuShares = rangeFlag{name: "cpu-shares", min: 2, max: 262144}
	l.blkioWeight = rangeFlag{name: "blkio-weight", min: 1, max: 1000}
	l.cpusetCpus.name, l.cpusetMems.name = "cpuset-cpus", "cpuset-mems"
	fs.Var(&l.memory, "memory", "memory limit, e.g. 256M (max: none)")
	fs.Var(&l.memorySwap, "memory-swap", "memory+swap limit, e.g. 512M (max: none)")
	fs.Var(&l.cpus, "cpus", "CPU quota in CPUs, e.g. 1.5 (max: none)")
	fs.Var(&l.cpuShares, "cpu-shares", "CPU shares, 2..262144")
	fs.Var(&l.cpusetCpus, "cpuset-cpus", "CPUs allowed, e.g. 0-1,3")
	fs.Var(&l.cpusetMems, "cpuset-mems", "memory nodes allowed, e.g. 0")
	fs.Var(&l.pids, "pids", "maximum number of tasks (max: none)")
	fs.Var(&deviceFlag{rules: &l.devices, allow: false}, "device-deny", "deny a device rule, e.g. \"c 1:3 rwm\" (repeatable)")
	fs.Var(&deviceFlag{rules: &l.devices, allow: true}, "device-allow", "allow a device rule, e.g. \"c 1:3 rwm\" (repeatable)")
	fs.Var(&l.blkioWeight, "blkio-weight", "block IO weight, 10..1000")
}

// empty reports whether no limit was given.
func (l *limits) empty() bool {
	return !l.memory.set && !l.memorySwap.set && !l.cpus.set && !l.cpuShares.set &&
		!l.cpusetCpus.set && !l.cpusetMems.set && !l.pids.set && !l.blkioWeight.set &&
		len(l.devices) == 0
}

// resources returns the limits as OCI resources, only the given ones set.
func (l *limits) resources() (*specs.LinuxResources, error) {
	if l.memory.set && l.memorySwap.set && l.memorySwap.v != -1 && l.memory.v != -1 && l.memorySwap.v < l.memory.v {
		return nil, usagef("--memory-swap %s is below --memory %s: it is memory plus swap, so it must be at least the memory limit",
			l.memorySwap.raw, l.memory.raw)
	}
	r := &specs.LinuxResources{}
	if l.memory.set || l.memorySwap.set {
		r.Memory = &specs.LinuxMemory{}
		if l.memory.set {
			r.Memory.Limit = ptr(l.memory.v)
		}
		if l.memorySwap.set {
			r.Memory.Swap = ptr(l.memorySwap.v)
		}
	}
	if l.cpus.set || l.cpuShares.set || l.cpusetCpus.set || l.cpusetMems.set {
		r.CPU = &specs.LinuxCPU{}
		if l.cpus.set {
			r.CPU.Quota, r.CPU.Period = ptr(l.cpus.quota), ptr(uint64(cfsPeriod))
		}
		if l.cpuShares.set {
			r.CPU.Shares = ptr(l.cpuShares.v)
		}
		r.CPU.Cpus, r.CPU.Mems = l.cpusetCpus.v, l.cpusetMems.v
	}
	if l.pids.set {
		r.Pids = &specs.LinuxPids{Limit: ptr(l.pids.v)}
	}
	if l.blkioWeight.set {
		r.BlockIO = &specs.LinuxBlockIO{Weight: ptr(uint16(l.blkioWeight.v))}
	}
	r.Devices = l.devices
	return r, nil
}

func ptr[T any](v T) *T { return &v }

// sizeFlag is a byte count with a unit: 268435456, 256M, 1.5G, 512KiB; max or -1 is no limit.
type sizeFlag struct {
	name string
	raw  string
	v    int64 // -1: no limit
	set  bool
}

func (f *sizeFlag) String() string { return f.raw }

func (f *sizeFlag) Set(s string) error {
	v, err := parseSize(s)
	if err != nil {
		return err
	}
	f.raw, f.v, f.set = s, v, true
	return nil
}

// parseSize reads a byte count. Units are powers of 1024 (as docker and the kernel's own
// memparse): K, M, G, T, with an optional B or iB. A fraction is allowed with a unit (1.5G).
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "max" || t == "-1" {
		return -1, nil
	}
	num, mult := t, 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	bad := fmt.Errorf("want a positive size such as 268435456, 256M, 1.5G, or max for no limit")
	if num == "" || strings.ContainsAny(num, "+-eExXpP_") {
		return 0, bad
	}
	if mult == 1 {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n <= 0 {
			return 0, bad
		}
		return n, nil
	}
	x, err := strconv.ParseFloat(num, 64)
	if err != nil || x <= 0 || math.IsInf(x, 0) || x*mult >= 1<<62 {
		return 0, bad
	}
	n := int64(x * mult)
	if n <= 0 {
		return 0, bad
	}
	return n, nil
}

// cpusFlag is a number of CPUs, turned into a CFS quota over a 100 ms period.
type cpusFlag struct {
	raw   string
	quota int64 // µs per period; -1: no quota
	set   bool
}

func (f *cpusFlag) String() string { return f.raw }

func (f *cpusFlag) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "max" || t == "-1" {
		f.raw, f.quota, f.set = s, -1, true
		return nil
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || strings.ContainsAny(t, "xXpP_") {
		return errors.New("want a number of CPUs such as 0.5 or 2, or max for no quota")
	}
	if x < 0.01 || x > 1e6 {
		return errors.New("must be 0.01 (the kernel's minimum quota of 1 ms per 100 ms) to 1000000, or max")
	}
	f.raw, f.quota, f.set = s, int64(math.Round(x*cfsPeriod)), true
	return nil
}

// rangeFlag is an integer within bounds.
type rangeFlag struct {
	name     string
	min, max uint64
	v        uint64
	set      bool
}

func (f *rangeFlag) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatUint(f.v, 10)
}

func (f *rangeFlag) Set(s string) error {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || v < f.min || v > f.max {
		return fmt.Errorf("want a whole number from %d to %d", f.min, f.max)
	}
	f.v, f.set = v, true
	return nil
}

// countFlag is a positive count, or max (-1) for no limit.
type countFlag struct {
	v   int64
	set bool
}

func (f *countFlag) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatInt(f.v, 10)
}

func (f *countFlag) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "max" || t == "-1" {
		f.v, f.set = -1, true
		return nil
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || strings.HasPrefix(t, "+") {
		return errors.New("want a positive count, or max for no limit")
	}
	f.v, f.set = v, true
	return nil
}

// listFlag is a kernel CPU or memory-node list: 0-3,8,10-11.
type listFlag struct {
	name string
	v    string
	set  bool
}

func (f *listFlag) String() string { return f.v }

func (f *listFlag) Set(s string) error {
	t := strings.TrimSpace(s)
	if err := checkList(t); err != nil {
		return err
	}
	f.v, f.set = t, true
	return nil
}

func checkList(t string) error {
	bad := fmt.Errorf("want a list such as 0-3,8 (numbers and ascending ranges, comma-separated)")
	if t == "" {
		return bad
	}
	for _, part := range strings.Split(t, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil || strings.HasPrefix(lo, "+") {
			return bad
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || strings.HasPrefix(hi, "+") || b < a {
				return bad
			}
		}
	}
	return nil
}

// deviceFlag appends a device rule, allow or deny, to the shared list.
type deviceFlag struct {
	rules *[]specs.LinuxDeviceCgroup
	allow bool
}

func (f *deviceFlag) String() string { return "" }

func (f *deviceFlag) Set(s string) error {
	r, err := parseDeviceRule(s)
	if err != nil {
		return err
	}
	r.Allow = f.allow
	*f.rules = append(*f.rules, r)
	return nil
}

// parseDeviceRule reads "TYPE MAJOR:MINOR ACCESS" as devices.allow takes it: TYPE a, b or c,
// MAJOR and MINOR numbers or *, ACCESS letters of rwm. "a" alone is every device, rwm.
func parseDeviceRule(s string) (specs.LinuxDeviceCgroup, error) {
	bad := func(why string) error {
		return fmt.Errorf("device rule %q: %s (want \"TYPE MAJOR:MINOR ACCESS\" such as \"c 1:3 rwm\", or \"a\")", s, why)
	}
	f := strings.Fields(s)
	var r specs.LinuxDeviceCgroup
	if len(f) == 0 {
		return r, bad("empty")
	}
	switch f[0] {
	case "a", "b", "c":
		r.Type = f[0]
	default:
		return r, bad("the type must be a, b or c")
	}
	if len(f) == 1 {
		if r.Type != "a" {
			return r, bad("missing MAJOR:MINOR")
		}
		r.Access = "rwm"
		return r, nil
	}
	if len(f) > 3 {
		return r, bad("too many fields")
	}
	maj, min, ok := strings.Cut(f[1], ":")
	if !ok {
		return r, bad("MAJOR:MINOR needs a colon")
	}
	var err error
	if r.Major, err = devNumber(maj); err != nil {
		return r, bad("major: " + err.Error())
	}
	if r.Minor, err = devNumber(min); err != nil {
		return r, bad("minor: " + err.Error())
	}
	r.Access = "rwm"
	if len(f) == 3 {
		seen := map[rune]bool{}
		for _, c := range f[2] {
			if !strings.ContainsRune("rwm", c) || seen[c] {
				return r, bad("access must be letters of rwm, each at most once")
			}
			seen[c] = true
		}
		r.Access = f[2]
	}
	return r, nil
}

// devNumber reads a device major or minor: a number, or * (nil) for any.
func devNumber(s string) (*int64, error) {
	if s == "*" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxUint32 || strings.HasPrefix(s, "+") {
		return nil, errors.New("want a number or *")
	}
	return &n, nil
}
