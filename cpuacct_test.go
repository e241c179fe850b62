package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// cpuTestdata returns the absolute path of a tree under testdata.
func cpuTestdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCPUAcctStatLinux618 reads the files captured on Linux 6.18 (research/kernel-probe.md §7):
// usage_percpu with its trailing space, usage_all with per-CPU user and system.
func TestCPUAcctStatLinux618(t *testing.T) {
	root := cpuTestdata(t, "cpu-linux6.18")
	var m Metrics
	if err := NewCpuacct(root).Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	if err := NewCpu(root).Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	want := CPUUsage{
		Total: 514563397, User: 401762203, Kernel: 111830883,
		PerCPU:       []uint64{513370080, 1193317},
		PerCPUUser:   []uint64{401762203, 0},
		PerCPUKernel: []uint64{111830883, 0},
	}
	if !reflect.DeepEqual(*m.CPU.Usage, want) {
		t.Errorf("usage %+v\nwant  %+v", *m.CPU.Usage, want)
	}
	if th := *m.CPU.Throttling; th != (Throttle{Periods: 12, ThrottledPeriods: 10, ThrottledTime: 443323690}) {
		t.Errorf("throttling %+v", th)
	}
}

// TestCPUAcctStatOldKernel reads a tree of a kernel before 4.7 (no usage_all): User and Kernel come
// from cpuacct.stat ticks at USER_HZ 100, and the per-CPU split stays empty.
func TestCPUAcctStatOldKernel(t *testing.T) {
	if clockTicks() != 100 {
		t.Skipf("USER_HZ is %d here", clockTicks())
	}
	root := cpuTestdata(t, "cpu-linux4.4")
	m := Metrics{CPU: &CPUStat{Usage: &CPUUsage{PerCPUUser: []uint64{7, 7}, PerCPUKernel: []uint64{7}}}}
	if err := NewCpuacct(root).Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	u := m.CPU.Usage
	if u.Total != 514563397 || u.User != 400000000 || u.Kernel != 110000000 ||
		!reflect.DeepEqual(u.PerCPU, []uint64{513370080, 1193317}) || len(u.PerCPUUser) != 0 || len(u.PerCPUKernel) != 0 {
		t.Errorf("usage %+v", *u)
	}
	if err := NewCpu(root).Stat("/cg", &m); err != nil || m.CPU.Throttling.ThrottledPeriods != 10 {
		t.Errorf("cpu.stat without burst keys: %v %+v", err, m.CPU.Throttling)
	}
}

func TestCPUAcctStatFormats(t *testing.T) {
	base := map[string]string{
		"cpuacct.usage":        "30\n",
		"cpuacct.usage_percpu": "10 20 \n",
		"cpuacct.stat":         "user 2\nsystem 1\n",
	}
	tree := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m["cpuacct/cg/"+k] = v
		}
		for k, v := range extra {
			if v == "" {
				delete(m, "cpuacct/cg/"+k)
			} else {
				m["cpuacct/cg/"+k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		extra   map[string]string
		want    CPUUsage
		wantErr string
	}{
		{"extra columns in usage_all", map[string]string{"cpuacct.usage_all": "cpu guest system user\n0 9 3 5\n1 9 4 6\n"},
			CPUUsage{Total: 30, PerCPU: []uint64{10, 20}, User: 11, Kernel: 7, PerCPUUser: []uint64{5, 6}, PerCPUKernel: []uint64{3, 4}}, ""},
		{"usage_all without user: cpuacct.stat", map[string]string{"cpuacct.usage_all": "cpu a b\n0 1 2\n"},
			CPUUsage{Total: 30, PerCPU: []uint64{10, 20}, User: 20000000, Kernel: 10000000}, ""},
		{"short usage_all line", map[string]string{"cpuacct.usage_all": "cpu user system\n0 1\n"},
			CPUUsage{}, "cpuacct.usage_all"},
		{"no system line", map[string]string{"cpuacct.stat": "user 2\n"}, CPUUsage{}, "cpuacct.stat"},
		{"bad usage", map[string]string{"cpuacct.usage": "x\n"}, CPUUsage{}, "cpuacct.usage"},
		{"bad percpu", map[string]string{"cpuacct.usage_percpu": "1 - \n"}, CPUUsage{}, "cpuacct.usage_percpu"},
		{"no percpu", map[string]string{"cpuacct.usage_percpu": ""}, CPUUsage{}, "cpuacct.usage_percpu"},
		{"empty percpu", map[string]string{"cpuacct.usage_percpu": "\n"}, CPUUsage{Total: 30, User: 20000000, Kernel: 10000000}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if clockTicks() != 100 {
				t.Skip("USER_HZ is not 100")
			}
			root := fixtureRoot(t, tree(tc.extra))
			var m Metrics
			err := NewCpuacct(root).Stat("/cg", &m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *m.CPU.Usage
			for _, s := range []*[]uint64{&got.PerCPU, &got.PerCPUUser, &got.PerCPUKernel} {
				if len(*s) == 0 {
					*s = nil
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("usage %+v\nwant  %+v", got, tc.want)
			}
		})
	}
}

// TestCPUAcctStatReusesSlices checks that a Metrics passed again keeps its slices' arrays.
func TestCPUAcctStatReusesSlices(t *testing.T) {
	root := cpuTestdata(t, "cpu-linux6.18")
	per := make([]uint64, 0, 8)
	m := Metrics{CPU: &CPUStat{Usage: &CPUUsage{PerCPU: per}}}
	c := NewCpuacct(root)
	if err := c.Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	if &m.CPU.Usage.PerCPU[:1][0] != &per[:1][0] || len(m.CPU.Usage.PerCPU) != 2 {
		t.Errorf("PerCPU not reused: %v", m.CPU.Usage.PerCPU)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := c.Stat("/cg", &m); err != nil {
			t.Fatal(err)
		}
	})
	// The file layer's own cost per read (path checks) is not this controller's: compare with
	// three plain reads of the same files.
	buf := make([]byte, 0, 4096)
	reads := testing.AllocsPerRun(20, func() {
		for _, f := range []string{cpuacctUsage, cpuacctUsagePercpu, cpuacctUsageAll} {
			if _, err := c.fs.readFile("/cg", f, buf); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs > reads+1 {
		t.Errorf("%v allocations per Stat into a used Metrics, %v for the reads alone", allocs, reads)
	}
}

func TestCPUAcctTicksToNanos(t *testing.T) {
	for _, tc := range []struct{ v, hz, want uint64 }{
		{40, 100, 400000000},
		{1, 1024, 976562},
		{1 << 40, 100, (1 << 40) * 10000000},       // v*1e9 alone would wrap
		{^uint64(0), 100, ^uint64(0)},              // saturates
		{1844674407370, 100, 18446744073700000000}, // the largest that fits, exact
		{1844674407371, 100, ^uint64(0)},           // the smallest that does not
	} {
		if got := ticksToNanos(tc.v, tc.hz); got != tc.want {
			t.Errorf("ticksToNanos(%d, %d) = %d, want %d", tc.v, tc.hz, got, tc.want)
		}
	}
	if hz := clockTicks(); hz != 100 {
		t.Logf("USER_HZ from the auxiliary vector: %d", hz)
	}
	var m Metrics
	err := NewCpuacct(t.TempDir()).Stat("/none", &m)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: %v", err)
	}
}
