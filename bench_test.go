package cgroups

// Benchmarks of the core against the real kernel (root only), each beside a baseline that does
// the same file work with plain os.ReadFile/os.WriteFile (open, read or write, close), the floor
// a library on the file API can reach (kernel-probe.md §8). Run:
//
//	go test -run '^$' -bench 'BenchmarkCore|BenchmarkPoller' -benchmem
//
// The subsystems only measure what they implement: with controllers that have no Stat, Stat
// reads nothing, and the baseline then shows what a full Stat will cost.

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// statFiles is the stat set of kernel-probe.md §8, per controller.
var statFiles = map[Name][]string{
	Pids: {"pids.current", "pids.max", "pids.events"},
	Cpu:  {"cpu.stat"},
	Cpuacct: {"cpuacct.usage", "cpuacct.usage_percpu", "cpuacct.stat", "cpuacct.usage_all",
		"cpuacct.usage_percpu_user", "cpuacct.usage_percpu_sys"},
	Memory: {"memory.stat", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt",
		"memory.limit_in_bytes", "memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes",
		"memory.memsw.failcnt", "memory.memsw.limit_in_bytes", "memory.kmem.usage_in_bytes",
		"memory.kmem.max_usage_in_bytes", "memory.kmem.failcnt", "memory.kmem.limit_in_bytes",
		"memory.kmem.tcp.usage_in_bytes", "memory.kmem.tcp.max_usage_in_bytes", "memory.kmem.tcp.failcnt",
		"memory.kmem.tcp.limit_in_bytes", "memory.oom_control", "memory.numa_stat"},
	Blkio: {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive",
		"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
}

// populatedCgroup is a test cgroup holding a helper that has touched 30 MiB inside it.
func populatedCgroup(b *testing.B) (Cgroup, string) {
	cg, path := newTestCgroup(b, nil)
	fixCpuset(b, path)
	cmd := startProcess(b, "alloc", "30", "10") // 1 MiB per 10 ms: charged here once it joins
	if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		b.Fatal(err)
	}
	usage := filepath.Join(NewMemory("/sys/fs/cgroup").Path(path), "memory.usage_in_bytes")
	for deadline := time.Now().Add(5 * time.Second); ; {
		v, _ := strconv.ParseUint(readTestFile(b, usage), 10, 64)
		if v >= 25<<20 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("helper charged only %d bytes", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cg, path
}

func BenchmarkCoreStat(b *testing.B) {
	requireRoot(b)
	cg, _ := populatedCgroup(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cg.Stat(IgnoreNotExist); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreStatBaseline(b *testing.B) {
	requireRoot(b)
	cg, path := populatedCgroup(b)
	var files []string
	for _, s := range cg.Subsystems() {
		for _, f := range statFiles[s.Name()] {
			p := filepath.Join(s.(pather).Path(path), f)
			if _, err := os.Stat(p); err == nil {
				files = append(files, p)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(files)), "files")
}

// BenchmarkPollerStat is BenchmarkCoreStat through a StatPoller: the same Metrics from kept fds.
func BenchmarkPollerStat(b *testing.B) {
	requireRoot(b)
	cg, _ := populatedCgroup(b)
	p, err := NewStatPoller(cg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Stat(IgnoreNotExist); err != nil { // opens the files
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Stat(IgnoreNotExist); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(p.openFiles()), "fds")
}

// BenchmarkPollerStatBaseline is the kept-open floor of kernel-probe.md §8: the stat set's files
// open once, each re-read with one pread at offset 0 into a reused buffer, nothing parsed.
func BenchmarkPollerStatBaseline(b *testing.B) {
	requireRoot(b)
	cg, path := populatedCgroup(b)
	var fds []int
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for _, s := range cg.Subsystems() {
		for _, f := range statFiles[s.Name()] {
			fd, err := syscall.Open(filepath.Join(s.(pather).Path(path), f), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err == nil {
				fds = append(fds, fd)
			}
		}
	}
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, fd := range fds {
			if _, err := syscall.Pread(fd, buf, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(fds)), "files")
}

func BenchmarkCoreNewDelete(b *testing.B) {
	requireRoot(b)
	base := "/" + testName(b)
	b.Cleanup(func() { cleanupCgroup(b, V1, base) })
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		cg, err := New(V1, StaticPath(base), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := cg.Delete(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreNewDeleteBaseline(b *testing.B) {
	requireRoot(b)
	subs, err := V1()
	if err != nil {
		b.Fatal(err)
	}
	base := "/" + testName(b)
	b.Cleanup(func() { cleanupCgroup(b, V1, base) })
	var dirs []string
	for _, s := range subs {
		dirs = append(dirs, s.(pather).Path(base))
	}
	b.ReportMetric(float64(len(dirs)), "dirs")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, d := range dirs {
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		for _, d := range dirs {
			if err := os.Remove(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func updateResources(i int) *specs.LinuxResources {
	shares, limit, pids := uint64(512+i%2), int64(64<<20+(i%2)<<20), int64(100+i%2)
	return &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: &shares},
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
	}
}

func BenchmarkCoreUpdate(b *testing.B) {
	cg, _ := newTestCgroup(b, nil)
	res := [2]*specs.LinuxResources{updateResources(0), updateResources(1)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := cg.Update(res[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreUpdateBaseline(b *testing.B) {
	_, path := newTestCgroup(b, nil)
	type write struct{ file, value string }
	var w [2][]write
	for j := 0; j < 2; j++ {
		r := updateResources(j)
		w[j] = []write{
			{filepath.Join(NewCpu("/sys/fs/cgroup").Path(path), "cpu.shares"), strconv.FormatUint(*r.CPU.Shares, 10)},
			{filepath.Join(NewPids("/sys/fs/cgroup").Path(path), "pids.max"), strconv.FormatInt(*r.Pids.Limit, 10)},
			{filepath.Join(NewMemory("/sys/fs/cgroup").Path(path), "memory.limit_in_bytes"), strconv.FormatInt(*r.Memory.Limit, 10)},
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, x := range w[i%2] {
			if err := os.WriteFile(x.file, []byte(x.value), 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCoreAdd(b *testing.B) {
	a, pa := newTestCgroup(b, nil)
	c, pc := newTestCgroup(b, nil)
	fixCpuset(b, pa, pc)
	p := Process{Pid: startProcess(b).Process.Pid}
	cgs := [2]Cgroup{a, c}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := cgs[i%2].Add(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoreAddBaseline(b *testing.B) {
	a, pa := newTestCgroup(b, nil)
	_, pc := newTestCgroup(b, nil)
	fixCpuset(b, pa, pc)
	pid := []byte(strconv.Itoa(startProcess(b).Process.Pid))
	var files [2][]string
	for _, s := range a.Subsystems() {
		files[0] = append(files[0], filepath.Join(s.(pather).Path(pa), cgroupProcs))
		files[1] = append(files[1], filepath.Join(s.(pather).Path(pc), cgroupProcs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files[i%2] {
			if err := os.WriteFile(f, pid, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
