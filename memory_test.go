package cgroups

import (
	"bufio"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const mib = 1 << 20

// memUnlimited is how this kernel reads back a memory limit of -1 (4 KiB pages).
const memUnlimited = 9223372036854771712

// memFixture loads a captured directory of memory.* files (testdata/<name>) as the cgroup
// /cg of a fixture hierarchy, minus the files named in drop, and returns its controller.
func memFixture(t *testing.T, name string, drop ...string) (*memoryController, string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
outer:
	for _, e := range ents {
		for _, d := range drop {
			if e.Name() == d {
				continue outer
			}
		}
		b, err := os.ReadFile(filepath.Join("testdata", name, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["memory/cg/"+e.Name()] = string(b)
	}
	root := fixtureRoot(t, files)
	return NewMemory(root), root
}

func TestMemoryStatFixture(t *testing.T) {
	c, _ := memFixture(t, "memory-populated")
	var m Metrics
	if err := c.Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	s := m.Memory
	// Figures of the capture: a 64M/128M cgroup whose task touched 30 MiB.
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"Cache", s.Cache, 4096},
		{"RSS", s.RSS, 32108544},
		{"Dirty", s.Dirty, 0},
		{"PgPgIn", s.PgPgIn, 7840},
		{"PgFault", s.PgFault, 7906},
		{"InactiveAnon", s.InactiveAnon, 32104448},
		{"InactiveFile", s.InactiveFile, 4096},
		{"HierarchicalMemoryLimit", s.HierarchicalMemoryLimit, 64 * mib},
		{"HierarchicalSwapLimit", s.HierarchicalSwapLimit, 128 * mib},
		{"TotalRSS", s.TotalRSS, 32108544},
		{"TotalPgFault", s.TotalPgFault, 7906},
		{"Usage.Usage", s.Usage.Usage, 32763904},
		{"Usage.Max", s.Usage.Max, 32763904},
		{"Usage.Limit", s.Usage.Limit, 64 * mib},
		{"Swap.Usage", s.Swap.Usage, 32763904},
		{"Swap.Limit", s.Swap.Limit, 128 * mib},
		{"Kernel.Usage", s.Kernel.Usage, 241664},
		{"Kernel.Max", s.Kernel.Max, 245760},
		{"Kernel.Limit", s.Kernel.Limit, memUnlimited},
		{"KernelTCP.Limit", s.KernelTCP.Limit, memUnlimited},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.Extra != nil {
		t.Errorf("Extra = %v: every key of this kernel should have a field", s.Extra)
	}
	if m.MemoryOomControl == nil || *m.MemoryOomControl != (MemoryOomControl{}) {
		t.Errorf("MemoryOomControl = %+v, want all zero", m.MemoryOomControl)
	}
}

// TestMemoryStatFixtureKeys checks that every key of the captured memory.stat lands in a field
// with the same value, by setting each key alone to a marker value.
func TestMemoryStatFixtureKeys(t *testing.T) {
	data, err := os.ReadFile("testdata/memory-populated/memory.stat")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = forEachKeyValue(data, func(key []byte, _ uint64) {
		n++
		var m MemoryStat
		m.set(key, 12345)
		if m.Extra != nil {
			t.Errorf("key %q went to Extra", key)
		}
		if reflect.DeepEqual(m, MemoryStat{}) {
			t.Errorf("key %q set nothing", key)
		}
	})
	if err != nil || n != 42 {
		t.Fatalf("parsed %d keys, err %v", n, err)
	}
}

// memStatOld is a memory.stat in the format of Linux 4.19 (from its memory.txt and
// mm/memcontrol.c): no workingset keys, the recent_* keys, and a kernel without swap accounting.
const memStatOld = `cache 1
rss 2
rss_huge 3
shmem 4
mapped_file 5
dirty 6
writeback 7
pgpgin 8
pgpgout 9
pgfault 10
pgmajfault 11
inactive_anon 12
active_anon 13
inactive_file 14
active_file 15
unevictable 16
hierarchical_memory_limit 17
total_cache 18
total_unevictable 19
recent_rotated_anon 20
recent_rotated_file 21
recent_scanned_anon 22
recent_scanned_file 23
`

func TestMemoryStatOldKernelMissingFamilies(t *testing.T) {
	// No memsw (no swap accounting), no kmem.limit_in_bytes (removed upstream), no kmem.tcp.
	root := fixtureRoot(t, map[string]string{
		"memory/cg/memory.stat":                    memStatOld,
		"memory/cg/memory.usage_in_bytes":          "100\n",
		"memory/cg/memory.max_usage_in_bytes":      "200\n",
		"memory/cg/memory.failcnt":                 "3\n",
		"memory/cg/memory.limit_in_bytes":          "9223372036854771712\n",
		"memory/cg/memory.kmem.usage_in_bytes":     "10\n",
		"memory/cg/memory.kmem.max_usage_in_bytes": "20\n",
		"memory/cg/memory.kmem.failcnt":            "0\n",
	})
	var m Metrics
	if err := NewMemory(root).Stat("/cg", &m); err != nil {
		t.Fatalf("Stat with missing memsw/kmem files: %v", err)
	}
	s := m.Memory
	if s.Swap == nil || s.KernelTCP == nil || *s.Swap != (MemoryEntry{}) || *s.KernelTCP != (MemoryEntry{}) {
		t.Errorf("Swap %+v KernelTCP %+v: want allocated and zero", s.Swap, s.KernelTCP)
	}
	if *s.Kernel != (MemoryEntry{Usage: 10, Max: 20}) {
		t.Errorf("Kernel = %+v", *s.Kernel)
	}
	if *s.Usage != (MemoryEntry{Usage: 100, Max: 200, Failcnt: 3, Limit: memUnlimited}) {
		t.Errorf("Usage = %+v", *s.Usage)
	}
	if s.Cache != 1 || s.Unevictable != 16 || s.HierarchicalMemoryLimit != 17 || s.TotalUnevictable != 19 {
		t.Errorf("fields: %+v", s)
	}
	want := map[string]uint64{"recent_rotated_anon": 20, "recent_rotated_file": 21,
		"recent_scanned_anon": 22, "recent_scanned_file": 23}
	if len(s.Extra) != len(want) {
		t.Errorf("Extra = %v, want %v", s.Extra, want)
	}
	for k, v := range want {
		if s.Extra[k] != v {
			t.Errorf("Extra[%s] = %d, want %d", k, s.Extra[k], v)
		}
	}
	if m.MemoryOomControl != nil {
		t.Errorf("MemoryOomControl = %+v without memory.oom_control", m.MemoryOomControl)
	}
}

func TestMemoryStatErrors(t *testing.T) {
	t.Run("plain family missing", func(t *testing.T) {
		c, _ := memFixture(t, "memory-populated", "memory.failcnt")
		err := c.Stat("/cg", &Metrics{})
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "memory.failcnt") {
			t.Errorf("err = %v, want ENOENT naming memory.failcnt", err)
		}
	})
	t.Run("malformed memory.stat", func(t *testing.T) {
		root := fixtureRoot(t, map[string]string{"memory/cg/memory.stat": "cache 1\nrss two\n"})
		err := NewMemory(root).Stat("/cg", &Metrics{})
		if !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "memory.stat") ||
			!strings.Contains(err.Error(), "line 2") {
			t.Errorf("err = %v, want ErrInvalidFormat naming memory.stat line 2", err)
		}
	})
	t.Run("no cgroup", func(t *testing.T) {
		c, _ := memFixture(t, "memory-populated")
		var m Metrics
		if err := c.Stat("/nope", &m); !errors.Is(err, os.ErrNotExist) || m.Memory != nil {
			t.Errorf("err = %v, Memory = %v", err, m.Memory)
		}
	})
}

func TestMemoryStatIgnoreModules(t *testing.T) {
	// The plain files are gone too: with "" ignored, Stat must not read them.
	_, root := memFixture(t, "memory-populated", "memory.usage_in_bytes", "memory.memsw.usage_in_bytes")
	c := NewMemory(root, IgnoreModules("", "memsw", "kmem.tcp", "bogus"))
	var m Metrics
	if err := c.Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	s := m.Memory
	if *s.Usage != (MemoryEntry{}) || *s.Swap != (MemoryEntry{}) || *s.KernelTCP != (MemoryEntry{}) {
		t.Errorf("ignored entries not zero: %+v %+v %+v", *s.Usage, *s.Swap, *s.KernelTCP)
	}
	if s.Kernel.Usage != 241664 {
		t.Errorf("Kernel.Usage = %d: kmem was not ignored", s.Kernel.Usage)
	}
}

func TestMemoryOptionalSwap(t *testing.T) {
	with := fixtureRoot(t, map[string]string{"memory/memory.memsw.usage_in_bytes": "0\n"})
	without := fixtureRoot(t, map[string]string{"memory/memory.usage_in_bytes": "0\n"})
	if NewMemory(with, OptionalSwap()).ignored[memSwap] {
		t.Error("memsw ignored although the root has memory.memsw.usage_in_bytes")
	}
	if !NewMemory(without, OptionalSwap()).ignored[memSwap] {
		t.Error("memsw not ignored although the root lacks memory.memsw.usage_in_bytes")
	}
}

// TestMemoryStatParseAllocs checks that parsing memory.stat allocates nothing per line.
func TestMemoryStatParseAllocs(t *testing.T) {
	data, err := os.ReadFile("testdata/memory-populated/memory.stat")
	if err != nil {
		t.Fatal(err)
	}
	var m MemoryStat
	allocs := testing.AllocsPerRun(100, func() {
		_ = forEachKeyValue(data, func(key []byte, v uint64) { m.set(key, v) })
	})
	if allocs != 0 {
		t.Errorf("parsing memory.stat: %v allocations, want 0", allocs)
	}
}

func memRes(m specs.LinuxMemory) *specs.LinuxResources {
	return &specs.LinuxResources{Memory: &m}
}

// memWriteFixture is a fixture cgroup with the writable memory files, all at their defaults.
func memWriteFixture(t *testing.T) (*memoryController, string) {
	files := map[string]string{}
	for _, f := range []string{"limit_in_bytes", "memsw.limit_in_bytes", "soft_limit_in_bytes",
		"kmem.limit_in_bytes", "kmem.tcp.limit_in_bytes"} {
		files["memory/cg/memory."+f] = "9223372036854771712\n"
	}
	files["memory/cg/memory.usage_in_bytes"] = "1048576\n"
	files["memory/cg/memory.swappiness"] = "60\n"
	files["memory/cg/memory.oom_control"] = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
	files["memory/cg/memory.use_hierarchy"] = "1\n"
	root := fixtureRoot(t, files)
	return NewMemory(root), filepath.Join(root, "memory", "cg")
}

func TestMemoryUpdateValidation(t *testing.T) {
	for name, m := range map[string]specs.LinuxMemory{
		"Limit -2":                 {Limit: i64(-2)},
		"Reservation -5":           {Reservation: i64(-5)},
		"Swap -2":                  {Swap: i64(-2)},
		"KernelTCP -2":             {KernelTCP: i64(-2)},
		"Swappiness 101":           {Swappiness: u64(101)},
		"Swap below Limit":         {Limit: i64(64 * mib), Swap: i64(32 * mib)},
		"limited Swap, Limit -1":   {Limit: i64(-1), Swap: i64(64 * mib)},
		"CheckBeforeUpdate, usage": {Limit: i64(4096), CheckBeforeUpdate: boolp(true), DisableOOMKiller: boolp(true)},
	} {
		t.Run(name, func(t *testing.T) {
			c, dir := memWriteFixture(t)
			before := snapshotDir(t, dir)
			err := c.Update("/cg", memRes(m))
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("err = %v, want ErrInvalidValue", err)
			}
			t.Log(err)
			if after := snapshotDir(t, dir); after != before {
				t.Errorf("files changed by a refused update:\n%s\nbefore:\n%s", after, before)
			}
		})
	}
}

func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		b.WriteString(e.Name() + "=" + readTestFile(t, filepath.Join(dir, e.Name())) + "\n")
	}
	return b.String()
}

func TestMemoryUpdateFixtureWrites(t *testing.T) {
	c, dir := memWriteFixture(t)
	if err := c.Update("/cg", &specs.LinuxResources{}); err != nil {
		t.Fatalf("nil Memory: %v", err)
	}
	err := c.Update("/cg", memRes(specs.LinuxMemory{
		Reservation:      i64(32 * mib),
		Kernel:           i64(8 * mib), //lint:ignore SA1019 the test checks that the deprecated field is not written
		KernelTCP:        i64(4 * mib),
		Swappiness:       u64(math.MaxUint64), // Docker's -1: inherit
		DisableOOMKiller: boolp(false),
	}))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory.soft_limit_in_bytes":     strconv.Itoa(32 * mib),
		"memory.kmem.tcp.limit_in_bytes": strconv.Itoa(4 * mib),
		"memory.kmem.limit_in_bytes":     "9223372036854771712", // Kernel is never written
		"memory.swappiness":              "60",                  // MaxUint64 is not written
		"memory.oom_control":             "0",                   // false writes 0 (containerd #307)
	} {
		if got := readTestFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

// memTestDir returns the memory directory of a test cgroup.
func memTestDir(t *testing.T, cg Cgroup, path string) string {
	t.Helper()
	for _, s := range cg.Subsystems() {
		if s.Name() == Memory {
			return s.(pather).Path(path)
		}
	}
	t.Skip("no memory controller mounted")
	return ""
}

func readMemFile(t *testing.T, dir, file string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(readTestFile(t, filepath.Join(dir, file)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMemoryCreateAllFieldsReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{
		Limit:            i64(64 * mib),
		Reservation:      i64(32 * mib),
		Swap:             i64(128 * mib),
		Kernel:           i64(16 * mib), //lint:ignore SA1019 the test checks that the deprecated field is not written
		KernelTCP:        i64(8 * mib),
		Swappiness:       u64(30),
		DisableOOMKiller: boolp(true),
		UseHierarchy:     boolp(true),
	}))
	dir := memTestDir(t, cg, path)
	for file, want := range map[string]uint64{
		"memory.limit_in_bytes":          64 * mib,
		"memory.soft_limit_in_bytes":     32 * mib,
		"memory.memsw.limit_in_bytes":    128 * mib,
		"memory.kmem.limit_in_bytes":     memUnlimited, // not written: no effect since 5.4
		"memory.kmem.tcp.limit_in_bytes": 8 * mib,
		"memory.swappiness":              30,
		"memory.use_hierarchy":           1,
	} {
		if got := readMemFile(t, dir, file); got != want {
			t.Errorf("%s = %d, want %d", file, got, want)
		}
	}
	if got := readTestFile(t, filepath.Join(dir, "memory.oom_control")); !strings.HasPrefix(got, "oom_kill_disable 1\n") {
		t.Errorf("memory.oom_control = %q, want oom_kill_disable 1", got)
	}
	// false must write 0 (containerd/cgroups #307 wrote nothing).
	if err := cg.Update(memRes(specs.LinuxMemory{DisableOOMKiller: boolp(false)})); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(dir, "memory.oom_control")); !strings.HasPrefix(got, "oom_kill_disable 0\n") {
		t.Errorf("after DisableOOMKiller false: memory.oom_control = %q", got)
	}
	// Update with nil Memory changes nothing.
	if err := cg.Update(&specs.LinuxResources{}); err != nil {
		t.Fatal(err)
	}
	if got := readMemFile(t, dir, "memory.limit_in_bytes"); got != 64*mib {
		t.Errorf("limit after empty Update = %d", got)
	}
}

func TestMemorySwappinessReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{Swappiness: u64(100)}))
	dir := memTestDir(t, cg, path)
	if got := readMemFile(t, dir, "memory.swappiness"); got != 100 {
		t.Fatalf("swappiness = %d, want 100", got)
	}
	// The kernel would take 101..200; the runtime spec says 0..100.
	err := cg.Update(memRes(specs.LinuxMemory{Swappiness: u64(150)}))
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "150") {
		t.Errorf("Swappiness 150: %v, want ErrInvalidValue naming 150", err)
	}
	if err := cg.Update(memRes(specs.LinuxMemory{Swappiness: u64(0)})); err != nil {
		t.Fatal(err)
	}
	if got := readMemFile(t, dir, "memory.swappiness"); got != 0 {
		t.Errorf("swappiness = %d, want 0", got)
	}
}

func TestMemoryUseHierarchyFalseReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	dir := memTestDir(t, cg, path)
	err := cg.Update(memRes(specs.LinuxMemory{UseHierarchy: boolp(false), Limit: i64(64 * mib)}))
	if err == nil {
		// An old kernel (before 5.16) still has non-hierarchical accounting.
		if got := readMemFile(t, dir, "memory.use_hierarchy"); got != 0 {
			t.Fatalf("Update succeeded but use_hierarchy = %d", got)
		}
		return
	}
	if !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "hierarchical") {
		t.Errorf("err = %v, want EINVAL explaining hierarchical accounting", err)
	}
	if got := readMemFile(t, dir, "memory.limit_in_bytes"); got != memUnlimited {
		t.Errorf("limit written (%d) although the update failed first", got)
	}
}

// memPair is a (limit, memsw) pair; -1 is unlimited.
type memPair struct{ limit, swap int64 }

func (p memPair) want() (uint64, uint64) {
	f := func(v int64) uint64 {
		if v == -1 {
			return memUnlimited
		}
		return uint64(v)
	}
	return f(p.limit), f(p.swap)
}

// TestMemoryLimitOrderingReal moves a cgroup between (limit, memsw) pairs in every direction.
// The kernel refuses memsw < limit at any moment, so a fixed write order fails one way or the
// other: containerd's fails on raising both.
func TestMemoryLimitOrderingReal(t *testing.T) {
	unl := memPair{-1, -1}
	cases := []struct {
		name     string
		from     memPair
		update   specs.LinuxMemory
		want     memPair
		wantErr  error
		errMatch string
	}{
		{"raise both", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(256 * mib), Swap: i64(512 * mib)}, memPair{256 * mib, 512 * mib}, nil, ""},
		{"lower both", memPair{256 * mib, 512 * mib}, specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(64 * mib)}, memPair{32 * mib, 64 * mib}, nil, ""},
		{"unlimited to limited", unl, specs.LinuxMemory{Limit: i64(64 * mib), Swap: i64(64 * mib)}, memPair{64 * mib, 64 * mib}, nil, ""},
		{"limited to unlimited", memPair{64 * mib, 64 * mib}, specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}, unl, nil, ""},
		{"Limit -1 alone frees memsw", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(-1)}, unl, nil, ""},
		{"Limit -1, Swap 0", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(-1), Swap: i64(0)}, unl, nil, ""},
		{"Swap -1 with a raised Limit", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(256 * mib), Swap: i64(-1)}, memPair{256 * mib, -1}, nil, ""},
		{"raise limit, lower memsw", memPair{64 * mib, 256 * mib}, specs.LinuxMemory{Limit: i64(100 * mib), Swap: i64(110 * mib)}, memPair{100 * mib, 110 * mib}, nil, ""},
		{"lower limit, raise memsw", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(512 * mib)}, memPair{32 * mib, 512 * mib}, nil, ""},
		{"limit above old memsw", memPair{64 * mib, 64 * mib}, specs.LinuxMemory{Limit: i64(128 * mib), Swap: i64(256 * mib)}, memPair{128 * mib, 256 * mib}, nil, ""},
		{"memsw below old limit", memPair{128 * mib, 256 * mib}, specs.LinuxMemory{Limit: i64(32 * mib), Swap: i64(64 * mib)}, memPair{32 * mib, 64 * mib}, nil, ""},
		{"Limit alone, tied memsw follows up", memPair{64 * mib, 64 * mib}, specs.LinuxMemory{Limit: i64(256 * mib)}, memPair{256 * mib, 256 * mib}, nil, ""},
		{"Limit alone, tied memsw follows down", memPair{256 * mib, 256 * mib}, specs.LinuxMemory{Limit: i64(32 * mib)}, memPair{32 * mib, 32 * mib}, nil, ""},
		{"Limit alone, unlimited memsw stays", memPair{64 * mib, -1}, specs.LinuxMemory{Limit: i64(256 * mib)}, memPair{256 * mib, -1}, nil, ""},
		{"Limit alone from unlimited", unl, specs.LinuxMemory{Limit: i64(64 * mib)}, memPair{64 * mib, -1}, nil, ""},
		{"Limit alone under explicit memsw", memPair{64 * mib, 256 * mib}, specs.LinuxMemory{Limit: i64(128 * mib)}, memPair{128 * mib, 256 * mib}, nil, ""},
		{"Limit alone above explicit memsw", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Limit: i64(256 * mib)}, memPair{64 * mib, 128 * mib}, ErrInvalidValue, "set Swap"},
		{"Swap alone raised", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Swap: i64(256 * mib)}, memPair{64 * mib, 256 * mib}, nil, ""},
		{"Swap alone below limit", memPair{64 * mib, 128 * mib}, specs.LinuxMemory{Swap: i64(32 * mib)}, memPair{64 * mib, 128 * mib}, ErrInvalidValue, "below the current limit"},
	}
	cg, path := newTestCgroup(t, nil)
	dir := memTestDir(t, cg, path)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Reach the start pair from anywhere: unlimited first, then the pair.
			if err := cg.Update(memRes(specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)})); err != nil {
				t.Fatal(err)
			}
			if err := cg.Update(memRes(specs.LinuxMemory{Limit: &tc.from.limit, Swap: &tc.from.swap})); err != nil {
				t.Fatalf("set start %+v: %v", tc.from, err)
			}
			err := cg.Update(memRes(tc.update))
			if tc.wantErr == nil && err != nil {
				t.Fatalf("update: %v", err)
			}
			if tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errMatch)) {
				t.Fatalf("update: %v, want %v containing %q", err, tc.wantErr, tc.errMatch)
			}
			wl, ws := tc.want.want()
			gl, gs := readMemFile(t, dir, "memory.limit_in_bytes"), readMemFile(t, dir, "memory.memsw.limit_in_bytes")
			if gl != wl || gs != ws {
				t.Errorf("(limit, memsw) = (%d, %d), want (%d, %d)", gl, gs, wl, ws)
			}
		})
	}
}

// startAllocator starts the helper with args, puts it in the memory controller of cg at once (it
// must touch its memory there: charges do not move with a task), and returns a function that
// waits, bounded, for a line on its stdout.
func startAllocator(t *testing.T, cg Cgroup, args ...string) (*exec.Cmd, func(line string, timeout time.Duration)) {
	t.Helper()
	cmd := exec.Command(helperPath, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if err := cg.Add(Process{Pid: cmd.Process.Pid}, Memory); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	return cmd, func(want string, timeout time.Duration) {
		t.Helper()
		deadline := time.After(timeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("helper %v exited before printing %q", args, want)
				}
				if l == want {
					return
				}
			case <-deadline:
				t.Fatalf("helper %v did not print %q within %v", args, want, timeout)
			}
		}
	}
}

func TestMemoryLimitBelowUsageReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{Limit: i64(256 * mib), Swap: i64(256 * mib)}))
	dir := memTestDir(t, cg, path)
	_, waitFor := startAllocator(t, cg, "alloc", "40", "5")
	waitFor("done", 10*time.Second)
	usage := readMemFile(t, dir, "memory.usage_in_bytes")
	if usage < 20*mib {
		t.Fatalf("usage %d: the helper's memory was not charged here", usage)
	}

	// CheckBeforeUpdate refuses before writing anything.
	err := cg.Update(memRes(specs.LinuxMemory{Limit: i64(10 * mib), CheckBeforeUpdate: boolp(true)}))
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "current usage") {
		t.Errorf("CheckBeforeUpdate: %v", err)
	}
	t.Log(err)
	if got := readMemFile(t, dir, "memory.limit_in_bytes"); got != 256*mib {
		t.Errorf("limit = %d after a refused update", got)
	}

	// Without it the kernel answers EBUSY (no swap to push the pages to), and the error says why.
	err = cg.Update(memRes(specs.LinuxMemory{Limit: i64(10 * mib), Swap: i64(10 * mib)}))
	var fe *FileError
	if !errors.Is(err, unix.EBUSY) || !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a FileError with EBUSY", err)
	}
	t.Log(err)
	if !strings.HasSuffix(fe.Path, "memory.limit_in_bytes") || fe.Value != strconv.Itoa(10*mib) {
		t.Errorf("FileError names %s = %q", fe.Path, fe.Value)
	}
	msg := err.Error()
	for _, s := range []string{"memory.usage_in_bytes ", "memory.max_usage_in_bytes ", "EBUSY"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
	// The usage in the message is the real one (at least what the helper holds).
	i := strings.Index(msg, "memory.usage_in_bytes ") + len("memory.usage_in_bytes ")
	j := strings.IndexAny(msg[i:], ",)")
	if n, perr := strconv.ParseUint(msg[i:i+j], 10, 64); perr != nil || n < 20*mib {
		t.Errorf("usage in message = %q (%v)", msg[i:i+j], perr)
	}
	gl, gs := readMemFile(t, dir, "memory.limit_in_bytes"), readMemFile(t, dir, "memory.memsw.limit_in_bytes")
	if gl != 256*mib || gs != 256*mib {
		t.Errorf("(limit, memsw) = (%d, %d) after EBUSY, want unchanged", gl, gs)
	}
}

func TestMemoryStatPopulatedReal(t *testing.T) {
	cg, path := newTestCgroup(t, memRes(specs.LinuxMemory{Limit: i64(128 * mib), Swap: i64(256 * mib)}))
	dir := memTestDir(t, cg, path)
	_, waitFor := startAllocator(t, cg, "alloc", "30", "10")
	waitFor("done", 10*time.Second)
	m, err := cg.Stat(IgnoreNotExist)
	if err != nil {
		t.Logf("Stat errors of other controllers: %v", err)
	}
	s := m.Memory
	if s == nil {
		t.Fatalf("no memory stats: %v", err)
	}
	// Moving a task into a cgroup takes milliseconds (an RCU grace period), and what the helper
	// touched before that stays charged elsewhere: expect most, not all, of its 30 MiB.
	if s.RSS < 20*mib || s.TotalRSS < s.RSS || s.InactiveAnon+s.ActiveAnon < 20*mib {
		t.Errorf("RSS %d TotalRSS %d anon %d: want most of the helper's 30 MiB", s.RSS, s.TotalRSS, s.InactiveAnon+s.ActiveAnon)
	}
	// One fault per touched page, or per 2 MiB huge page where transparent huge pages are on
	// (Debian's kernel in vmtest guests).
	if s.PgFault < 20*mib/(2*mib) || s.PgFault < 20*mib/4096 && s.RSSHuge == 0 {
		t.Errorf("PgFault = %d (RSSHuge %d), want one per touched page", s.PgFault, s.RSSHuge)
	}
	if s.HierarchicalMemoryLimit != 128*mib || s.HierarchicalSwapLimit != 256*mib {
		t.Errorf("hierarchical limits %d %d", s.HierarchicalMemoryLimit, s.HierarchicalSwapLimit)
	}
	if s.Usage.Usage < s.RSS || s.Usage.Max < s.Usage.Usage || s.Usage.Limit != 128*mib {
		t.Errorf("Usage = %+v", *s.Usage)
	}
	// No swap on this machine: memsw usage is memory usage, give or take a page in flight.
	if s.Swap.Limit != 256*mib || s.Swap.Usage < s.RSS {
		t.Errorf("Swap = %+v", *s.Swap)
	}
	if s.Kernel.Usage == 0 {
		t.Errorf("Kernel = %+v, want some kernel memory charged", *s.Kernel)
	}
	if s.Extra != nil {
		t.Errorf("Extra = %v: keys of this kernel without a field", s.Extra)
	}
	if m.MemoryOomControl == nil || m.MemoryOomControl.OomKill != 0 {
		t.Errorf("MemoryOomControl = %+v", m.MemoryOomControl)
	}
	// The values are the kernel's: the helper is idle now, so rss does not move.
	raw := readTestFile(t, filepath.Join(dir, "memory.stat"))
	if !strings.Contains(raw, "\nrss "+strconv.FormatUint(s.RSS, 10)+"\n") {
		t.Errorf("RSS %d, memory.stat:\n%s", s.RSS, raw)
	}
}

func BenchmarkMemoryStatReal(b *testing.B) {
	requireRoot(b)
	cg, path := newTestCgroup(b, nil)
	var c *memoryController
	for _, s := range cg.Subsystems() {
		if m, ok := s.(*memoryController); ok {
			c = m
		}
	}
	if c == nil {
		b.Skip("no memory controller")
	}
	b.ReportAllocs()
	for b.Loop() {
		var m Metrics
		if err := c.Stat(path, &m); err != nil {
			b.Fatal(err)
		}
	}
}
