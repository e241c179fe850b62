package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNetHostMountedReal tests net_cls, net_prio, perf_event and hugetlb where the machine itself
// mounts them (vmtest's v1-comounted guest: net_cls,net_prio co-mounted behind symlinks, as
// systemd lays them out). On a host that does not mount them it skips: TestMountNS* mount them in
// a private namespace instead.
func TestNetHostMountedReal(t *testing.T) {
	requireRoot(t)
	subs, err := V1()
	if err != nil {
		t.Fatal(err)
	}
	have := map[Name]Subsystem{}
	for _, s := range subs {
		have[s.Name()] = s
	}
	if have[NetCLS] == nil || have[NetPrio] == nil {
		t.Skip("net_cls and net_prio are not mounted here; TestMountNS* mount them in a private namespace")
	}
	res := &specs.LinuxResources{Network: &specs.LinuxNetwork{
		ClassID:    func() *uint32 { v := uint32(0x100001); return &v }(),
		Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 5}},
	}}
	hugeSize := ""
	if have[Hugetlb] != nil {
		if sizes, err := os.ReadDir("/sys/kernel/mm/hugepages"); err == nil && len(sizes) > 0 {
			for _, e := range sizes {
				if e.Name() == "hugepages-2048kB" {
					hugeSize = "2MB"
				}
			}
		}
		if hugeSize != "" {
			res.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: hugeSize, Limit: 4 << 20}}
		}
	}
	cg, path := newTestCgroup(t, res)
	clsDir := have[NetCLS].(pather).Path(path)
	prioDir := have[NetPrio].(pather).Path(path)
	t.Logf("net_cls at %s, net_prio at %s", clsDir, prioDir)
	if got := readTestFile(t, filepath.Join(clsDir, "net_cls.classid")); got != "1048577" {
		t.Errorf("net_cls.classid = %s, want 1048577", got)
	}
	if !strings.Contains(readTestFile(t, filepath.Join(prioDir, "net_prio.ifpriomap")), "lo 5") {
		t.Errorf("net_prio.ifpriomap lacks lo 5")
	}
	if hugeSize != "" {
		dir := have[Hugetlb].(pather).Path(path)
		if got := readTestFile(t, filepath.Join(dir, "hugetlb.2MB.limit_in_bytes")); got != "4194304" {
			t.Errorf("hugetlb.2MB.limit_in_bytes = %s", got)
		}
	}

	zero := uint32(0)
	if err := cg.Update(&specs.LinuxResources{Network: &specs.LinuxNetwork{
		ClassID: &zero, Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 7}},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(clsDir, "net_cls.classid")); got != "0" {
		t.Errorf("net_cls.classid after reset = %s, want 0", got)
	}
	if !strings.Contains(readTestFile(t, filepath.Join(prioDir, "net_prio.ifpriomap")), "lo 7") {
		t.Errorf("net_prio.ifpriomap lacks lo 7 after Update")
	}

	cmd := startProcess(t)
	if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []Name{NetCLS, NetPrio, PerfEvent, Hugetlb} {
		if have[n] == nil {
			continue
		}
		procs, err := cg.Processes(n, false)
		if err != nil || len(procs) != 1 || procs[0].Pid != cmd.Process.Pid {
			t.Errorf("%s: Processes = %+v, %v", n, procs, err)
		}
	}
	m, err := cg.Stat(IgnoreNotExist)
	if err != nil {
		t.Fatal(err)
	}
	if hugeSize != "" && len(m.Hugetlb) == 0 {
		t.Error("no hugetlb stats")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := cg.Delete(); err != nil {
		t.Fatalf("Delete on the co-mounted net_cls,net_prio: %v", err)
	}
	for _, d := range []string{clsDir, prioDir} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists: %v", d, err)
		}
	}
}
