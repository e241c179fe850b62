package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cpusetCopyTree copies a testdata tree to a temp dir, for tests that write.
func cpusetCopyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(dst, os.DirFS(cpuTestdata(t, name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// cpusetCreatingFiles lets writes create files in a plain tree, for the test only.
func cpusetCreatingFiles(t *testing.T) {
	old := defaultFilePerm
	defaultFilePerm = 0o666
	t.Cleanup(func() { defaultFilePerm = old })
}

func TestCPUSetStatFixture(t *testing.T) {
	root := cpuTestdata(t, "cpu-linux6.18")
	var m Metrics
	if err := NewCpuset(root).Stat("/cg", &m); err != nil {
		t.Fatal(err)
	}
	want := CpusetStat{Cpus: "1", Mems: "0", EffectiveCpus: "1", EffectiveMems: "0"}
	if m.Cpuset == nil || *m.Cpuset != want {
		t.Errorf("cpuset %+v, want %+v", m.Cpuset, want)
	}
	if err := NewCpuset(root).Stat("/none", &m); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cgroup: %v", err)
	}
}

// TestCPUSetCreateFixture creates a nested cgroup in a copy of the captured tree: every new level
// gets the parent's cpus and mems, the leaf the requested cpus.
func TestCPUSetCreateFixture(t *testing.T) {
	cpusetCreatingFiles(t)
	root := cpusetCopyTree(t, "cpu-linux6.18")
	c := NewCpuset(root)
	if err := c.Create("/x/y", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, filepath.Join(root, "cpuset/x"), map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"})
	cpuCheckFiles(t, filepath.Join(root, "cpuset/x/y"), map[string]string{"cpuset.cpus": "0", "cpuset.mems": "0"})
	// An existing level with values keeps them.
	if err := c.Create("/cg/z", nil); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, filepath.Join(root, "cpuset/cg"), map[string]string{"cpuset.cpus": "1"})
	cpuCheckFiles(t, filepath.Join(root, "cpuset/cg/z"), map[string]string{"cpuset.cpus": "1", "cpuset.mems": "0"})

	// Lists the kernel would misread are refused before anything is made or written.
	for _, bad := range []string{"0-1\n", "0 1", "a", "0;1", "../x"} {
		for _, cpu := range []*specs.LinuxCPU{{Cpus: bad}, {Mems: bad}} {
			err := c.Create("/bad", &specs.LinuxResources{CPU: cpu})
			if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), filepath.Join(root, "cpuset/bad/cpuset.")) {
				t.Errorf("Create with %+v: %v", cpu, err)
			}
			err = c.Update("/cg", &specs.LinuxResources{CPU: cpu})
			if !errors.Is(err, ErrInvalidValue) {
				t.Errorf("Update with %+v: %v", cpu, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "cpuset/bad")); !os.IsNotExist(err) {
		t.Errorf("a refused Create made the directory: %v", err)
	}
	cpuCheckFiles(t, filepath.Join(root, "cpuset/cg"), map[string]string{"cpuset.cpus": "1", "cpuset.mems": "0"})
}

// TestCPUSetNoprefixFixture uses a tree mounted with -o noprefix (files "cpus", "mems").
func TestCPUSetNoprefixFixture(t *testing.T) {
	cpusetCreatingFiles(t)
	root := cpusetCopyTree(t, "cpuset-noprefix")
	c := NewCpuset(root)
	if err := c.Create("/a/b", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1-2"}}); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, filepath.Join(root, "cpuset/a"), map[string]string{"cpus": "0-3", "mems": "0"})
	cpuCheckFiles(t, filepath.Join(root, "cpuset/a/b"), map[string]string{"cpus": "1-2", "mems": "0"})
	if err := c.Update("/a/b", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3", Mems: "0"}}); err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, filepath.Join(root, "cpuset/a/b"), map[string]string{"cpus": "3"})
	matches, _ := filepath.Glob(filepath.Join(root, "cpuset/*/cpuset.*"))
	more, _ := filepath.Glob(filepath.Join(root, "cpuset/*/*/cpuset.*"))
	if len(matches)+len(more) != 0 {
		t.Errorf("prefixed files written on a noprefix mount: %v %v", matches, more)
	}
	var m Metrics
	if err := c.Stat("/", &m); err != nil {
		t.Fatal(err)
	}
	if want := (CpusetStat{Cpus: "0-3", Mems: "0", EffectiveCpus: "0-3", EffectiveMems: "0"}); *m.Cpuset != want {
		t.Errorf("noprefix stat %+v, want %+v", *m.Cpuset, want)
	}
}

// TestCPUSetNestedReal creates /<name>/a/b on the real kernel: the new levels get cpus and mems
// from their parents, a process can join (no ENOSPC) and runs on the cgroup's CPUs.
func TestCPUSetNestedReal(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	c := cpuTestSubsystem[*cpusetController](t, Cpuset)
	rootCpus := readTestFile(t, filepath.Join(c.Path("/"), "cpuset.cpus"))
	rootMems := readTestFile(t, filepath.Join(c.Path("/"), "cpuset.mems"))
	cpuCheckFiles(t, c.Path(path), map[string]string{"cpuset.cpus": rootCpus, "cpuset.mems": rootMems})

	// The controller alone, with nothing requested: both levels copy.
	if err := c.Create(path+"/a/b", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path + "/a", path + "/a/b"} {
		cpuCheckFiles(t, c.Path(p), map[string]string{"cpuset.cpus": rootCpus, "cpuset.mems": rootMems})
	}
	proc := startProcess(t)
	child, err := cg.New("c/d", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: rootMems}})
	if err != nil {
		t.Fatal(err)
	}
	cpuCheckFiles(t, c.Path(path+"/c"), map[string]string{"cpuset.cpus": rootCpus, "cpuset.mems": rootMems})
	cpuCheckFiles(t, c.Path(path+"/c/d"), map[string]string{"cpuset.cpus": "0", "cpuset.mems": rootMems})
	if err := child.Add(Process{Pid: proc.Process.Pid}, Cpuset); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if got := cpusetAllowed(t, proc.Process.Pid); got != "0" {
		t.Errorf("Cpus_allowed_list %q, want 0", got)
	}

	// Update both ways, with the process inside.
	if rootCpus == "0-1" {
		for _, v := range []string{"1", "0-1", "0"} {
			if err := child.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: v}}); err != nil {
				t.Fatal(err)
			}
			cpuCheckFiles(t, c.Path(path+"/c/d"), map[string]string{"cpuset.cpus": v})
			if got := cpusetAllowed(t, proc.Process.Pid); got != v {
				t.Errorf("Cpus_allowed_list %q, want %q", got, v)
			}
		}
	}
	// CPUs the parent does not have: the kernel's error names the file and the value.
	err = child.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-4095"}})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Value != "0-4095" || !strings.HasSuffix(fe.Path, "/c/d/cpuset.cpus") ||
		!(errors.Is(err, unix.ERANGE) || errors.Is(err, unix.EINVAL)) {
		t.Errorf("cpus beyond the parent: %v", err)
	}

	var m Metrics
	if err := c.Stat(path+"/c/d", &m); err != nil {
		t.Fatal(err)
	}
	if s := m.Cpuset; s.Cpus != "0" || s.EffectiveCpus != "0" || s.Mems != rootMems || s.EffectiveMems != rootMems {
		t.Errorf("stat %+v", *s)
	}
}

// cpusetAllowed returns the Cpus_allowed_list of a process.
func cpusetAllowed(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no Cpus_allowed_list")
	return ""
}
