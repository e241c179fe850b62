package cgroups

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestPathsStatic(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b": "/a/b", "a/b": "/a/b", "/a//b/": "/a/b", "/": "/", "": "/", "/a/./b": "/a/b",
	} {
		got, err := StaticPath(in)(Memory)
		if err != nil || got != want {
			t.Errorf("StaticPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"/a/../..", "..", "/a/../b", "/a\x00", "/a\nb"} {
		if _, err := StaticPath(in)(Memory); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("StaticPath(%q): %v, want ErrInvalidPath", in, err)
		}
	}
	if p, err := RootPath(Cpu); p != "/" || err != nil {
		t.Errorf("RootPath = %q, %v", p, err)
	}
	sub := subPath(StaticPath("/a"), "b/c")
	if p, err := sub(Pids); p != "/a/b/c" || err != nil {
		t.Errorf("subPath = %q, %v", p, err)
	}
	if _, err := subPath(StaticPath("/a"), "../../x")(Pids); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("subPath escaping: %v", err)
	}
	if got := joinPath("/sys/fs/cgroup/cpu", "/"); got != "/sys/fs/cgroup/cpu" {
		t.Errorf("joinPath root = %q", got)
	}
	if got := joinPath("/m", "../../etc"); got != "/m/etc" {
		t.Errorf("joinPath never goes above the mount: %q", got)
	}
}

// fixturePath builds the Path a process with /proc/<pid>/cgroup = cgroupFile would get under the
// mounts of mountinfoFile.
func fixturePath(t *testing.T, mountinfoFile, cgroupFile, suffix string) Path {
	t.Helper()
	mounts, err := parseMountinfo(readFixture(t, "mountinfo/"+mountinfoFile))
	if err != nil {
		t.Fatal(err)
	}
	paths, _, err := parseCgroupData(readFixture(t, "proc-cgroup/"+cgroupFile))
	if err != nil {
		t.Fatal(err)
	}
	return relativeToMounts(mounts, paths, suffix)
}

func TestPathsRelativeToMounts(t *testing.T) {
	const notActive = "!"
	cases := []struct {
		mountinfo, cgroup, suffix string
		want                      map[Name]string // notActive: ErrControllerNotActive
	}{
		{"host", "host", "", map[Name]string{
			Memory: "/process_api/ea7f36e31d0fa5f7d5d2352ddaf86d95", Cpu: "/", Pids: "/", "systemd": "/",
		}},
		{"host", "host", "cgtest", map[Name]string{
			Memory: "/process_api/ea7f36e31d0fa5f7d5d2352ddaf86d95/cgtest", Cpuacct: "/cgtest",
		}},
		{"comounted", "comounted", "", map[Name]string{
			Cpu: "/system.slice/containerd.service", Cpuacct: "/system.slice/containerd.service",
			NetCLS: "/", NetPrio: "/", "systemd": "/system.slice/containerd.service", Rdma: "/",
		}},
		// Docker without a cgroup namespace: the mount root is the container's cgroup.
		{"container", "container", "", map[Name]string{
			Memory: "/x", Cpu: "/x", Cpuacct: "/x", Pids: "/x", Cpuset: "/", Devices: "/", "systemd": "/",
			// Listed in /proc/self/cgroup but not mounted in the container: not active, alone.
			Rdma: notActive, NetCLS: notActive, NetPrio: notActive, Hugetlb: notActive, PerfEvent: notActive,
			"elogind": notActive,
		}},
		{"container", "container", "/child", map[Name]string{Memory: "/x/child", Freezer: "/child"}},
		// A process's own cgroup outside the mounted subtree cannot be reached through it.
		{"container", "host", "", map[Name]string{Memory: notActive, Cpu: notActive}},
		// Mounted from outside the cgroup namespace ("/.."): which cgroup "/sub" is under the
		// mount point is unknown, so it is not guessed (it is not <mount>/sub).
		{"cgroupns", "cgroupns-sibling", "", map[Name]string{Cpu: notActive, Memory: notActive, "systemd": notActive}},
		{"pure-v1", "comounted", "", map[Name]string{"systemd": notActive, Memory: "/system.slice/containerd.service", Cpu: "/system.slice/containerd.service"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s+%s%s", c.mountinfo, c.cgroup, c.suffix), func(t *testing.T) {
			path := fixturePath(t, c.mountinfo, c.cgroup, c.suffix)
			for name, want := range c.want {
				got, err := path(name)
				if want == notActive {
					if !errors.Is(err, ErrControllerNotActive) {
						t.Errorf("%s: %q, %v; want ErrControllerNotActive", name, got, err)
					}
					continue
				}
				if err != nil || got != want {
					t.Errorf("%s = %q, %v; want %q", name, got, err, want)
				}
			}
		})
	}
	_, err := fixturePath(t, "cgroupns", "cgroupns-sibling", "")(Cpu)
	if err == nil || !strings.Contains(err.Error(), "/..") || !strings.Contains(err.Error(), "/sys/fs/cgroup/cpu") {
		t.Errorf("cgroupns error does not say why: %v", err)
	}
	if _, err := fixturePath(t, "host", "host", "../x")(Memory); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("suffix with ..: %v", err)
	}
}

// TestPathsContainerLoad: New and Load on a container layout fixture, with an unmounted
// controller listed in /proc/self/cgroup: only that one is skipped.
func TestPathsContainerLoad(t *testing.T) {
	root := t.TempDir()
	mounts, err := parseMountinfo(readFixture(t, "mountinfo/container"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if err := os.MkdirAll(root+m.Mountpoint, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range mounts {
		if slices.Contains(m.Subsystems, "cpuset") {
			seedCpuset(t, root+m.Mountpoint)
		}
	}
	path := fixturePath(t, "container", "container", "/job")
	h := V1At("testdata/mountinfo/container", root)
	cg, err := New(h, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cg.Subsystems() {
		names = append(names, string(s.Name()))
	}
	if got := strings.Join(names, ","); got != "cpuset,devices,memory,cpu,cpuacct,pids,blkio,freezer,systemd" {
		t.Errorf("active controllers %s", got)
	}
	for _, d := range []string{"/sys/fs/cgroup/memory/x/job", "/sys/fs/cgroup/cpu,cpuacct/x/job", "/sys/fs/cgroup/devices/job"} {
		if _, err := os.Stat(root + d); err != nil {
			t.Error(err)
		}
	}
	if _, err := Load(h, path); err != nil {
		t.Errorf("Load: %v", err)
	}
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(h, path); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load after Delete: %v", err)
	}
	// In a cgroup namespace mounted from outside, devices cannot be placed: New refuses
	// (RequireDevices) instead of creating cgroups in the wrong place.
	nsRoot := t.TempDir()
	_, err = New(V1At("testdata/mountinfo/cgroupns", nsRoot), fixturePath(t, "cgroupns", "cgroupns-sibling", "/job"), nil)
	if !errors.Is(err, ErrDevicesRequired) {
		t.Errorf("New in a cgroupns layout: %v, want ErrDevicesRequired", err)
	}
	if ents, _ := os.ReadDir(nsRoot); len(ents) != 0 {
		t.Errorf("New made %d entries in the cgroupns fixture root", len(ents))
	}
}

// TestPathsSelf: NestedPath and PidPath on this machine agree with /proc/self/cgroup.
func TestPathsSelf(t *testing.T) {
	paths, err := ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := selfMounts.get()
	if err != nil {
		t.Fatal(err)
	}
	nested := NestedPath("/cgtest-nested")
	own := PidPath(os.Getpid())
	for key, p := range paths {
		m, ok := findMount(mounts, key)
		if !ok || m.Root != "/" {
			continue
		}
		name := Name(strings.TrimPrefix(key, "name="))
		got, err := nested(name)
		want := strings.TrimSuffix(p, "/") + "/cgtest-nested"
		if err != nil || got != want {
			t.Errorf("NestedPath(%s) = %q, %v; want %q", name, got, err, want)
		}
		if got, err := own(name); err != nil || got != p {
			t.Errorf("PidPath(self)(%s) = %q, %v; want %q", name, got, err, p)
		}
	}
	if _, err := PidPath(1 << 30)(Memory); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PidPath of a missing pid: %v, want ErrNotExist", err)
	}
}
