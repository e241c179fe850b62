package cgroups

import (
	"errors"
	"os"
	"path/filepath"
)

// Hierarchy returns the controllers (subsystems) that cgroups are created in.
type Hierarchy func() ([]Subsystem, error)

// mountedAt is embedded by every controller: the controller's own mount point and its root in
// the file layer.
type mountedAt struct {
	mount string
	fs    *fsRoot
}

func newMountedAt(mount string) mountedAt {
	return mountedAt{mount: filepath.Clean(mount), fs: rootFor(mount)}
}

// files returns the mount point and file-layer root (see fsRebinder).
func (m mountedAt) files() mountedAt { return m }

// withRoot returns the same mount point read through another file-layer root.
func (m mountedAt) withRoot(fs *fsRoot) mountedAt { return mountedAt{mount: m.mount, fs: fs} }

// Path returns the directory of a cgroup path in this controller's hierarchy.
func (m mountedAt) Path(path string) string {
	return joinPath(m.mount, path)
}

// v1Controller says how to build one controller on its mount point, in the order in which the
// library applies them: cpuset first (a task can join a cpuset only once it has cpus and mems),
// devices second (the security boundary), then the rest.
type v1Controller struct {
	name  string // controller name, or "name=X" for a named hierarchy
	build func(mount string) (Subsystem, error)
}

var v1Controllers = []v1Controller{
	{"cpuset", func(m string) (Subsystem, error) { return newCpuset(m), nil }},
	{"devices", func(m string) (Subsystem, error) { return newDevices(m), nil }},
	{"memory", func(m string) (Subsystem, error) { return newMemory(m), nil }},
	{"cpu", func(m string) (Subsystem, error) { return newCpu(m), nil }},
	{"cpuacct", func(m string) (Subsystem, error) { return newCpuacct(m), nil }},
	{"pids", func(m string) (Subsystem, error) { return newPids(m), nil }},
	{"blkio", func(m string) (Subsystem, error) { return newBlkio(m, "/proc"), nil }},
	{"hugetlb", func(m string) (Subsystem, error) { return newHugetlb(m) }},
	{"net_cls", func(m string) (Subsystem, error) { return newNetCls(m), nil }},
	{"net_prio", func(m string) (Subsystem, error) { return newNetPrio(m), nil }},
	{"perf_event", func(m string) (Subsystem, error) { return newPerfEvent(m), nil }},
	{"freezer", func(m string) (Subsystem, error) { return newFreezer(m), nil }},
	{"rdma", func(m string) (Subsystem, error) { return newRdma(m), nil }},
	{"name=systemd", func(m string) (Subsystem, error) { return newNamed(m, "systemd"), nil }},
}

// V1 is the Hierarchy of the cgroup v1 controllers mounted in this process's mount namespace:
// each controller on its own mount point as /proc/self/mountinfo lists it (separate mounts,
// co-mounts such as cpu,cpuacct or net_cls,net_prio, the named name=systemd hierarchy, any mount
// root). A controller that is not mounted is simply absent. The devices controller is left out in
// a user namespace, where it cannot be written.
func V1() ([]Subsystem, error) {
	mounts, err := selfMounts.get()
	if err != nil {
		return nil, err
	}
	return v1Subsystems(mounts, "")
}

// V1At returns a Hierarchy like V1 built from the mountinfo file at mountinfoPath, with every mount
// point placed under root. It is for tools and tests that inspect another mount namespace or a
// copy of a cgroup tree: V1At("/proc/1/mountinfo", "/") sees the mounts of PID 1's namespace,
// V1At("testdata/comounted/mountinfo", dir) a fixture tree in dir.
func V1At(mountinfoPath, root string) Hierarchy {
	return func() ([]Subsystem, error) {
		data, err := os.ReadFile(mountinfoPath)
		if err != nil {
			return nil, err
		}
		mounts, err := parseMountinfo(data)
		if err != nil {
			return nil, err
		}
		return v1Subsystems(mounts, root)
	}
}

func v1Subsystems(mounts []cgroupMount, prefix string) ([]Subsystem, error) {
	var out []Subsystem
	for _, c := range v1Controllers {
		if c.name == "devices" && RunningInUserNS() {
			continue
		}
		m, ok := findMount(mounts, c.name)
		if !ok {
			continue
		}
		mount := m.Mountpoint
		if prefix != "" {
			mount = filepath.Join(prefix, mount)
		}
		s, err := c.build(mount)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, ErrMountPointNotExist
	}
	return out, nil
}
