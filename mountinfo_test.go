package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inPrivateMountNS runs fn on an OS thread of its own that has left the process's mount namespace
// (private propagation), so mounts made by fn are seen by nobody else and vanish with the thread:
// the thread is never unlocked, so the Go runtime ends it when fn returns.
func inPrivateMountNS(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare mount namespace: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("make mounts private: %v", err)
			return
		}
		fn()
	}()
	<-done
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mountsBy indexes parsed mounts by their joined subsystems ("cpu,cpuacct"), or "cgroup2".
func mountsBy(t testing.TB, mounts []cgroupMount) map[string]cgroupMount {
	t.Helper()
	out := map[string]cgroupMount{}
	for _, m := range mounts {
		key := strings.Join(m.Subsystems, ",")
		if m.SuperMagicV2 {
			key = "cgroup2"
		}
		if _, dup := out[key]; !dup {
			out[key] = m
		}
	}
	return out
}

func TestMountinfoParseFixtures(t *testing.T) {
	type want struct{ mountpoint, root string }
	cases := []struct {
		file  string
		count int
		want  map[string]want
	}{
		{"host", 10, map[string]want{
			"cpu":          {"/sys/fs/cgroup/cpu", "/"},
			"cpuacct":      {"/sys/fs/cgroup/cpuacct", "/"},
			"memory":       {"/sys/fs/cgroup/memory", "/"},
			"name=systemd": {"/sys/fs/cgroup/systemd", "/"},
			"cgroup2":      {"/sys/fs/cgroup/unified", "/"},
		}},
		{"comounted", 13, map[string]want{
			"cpu,cpuacct":      {"/sys/fs/cgroup/cpu,cpuacct", "/"},
			"net_cls,net_prio": {"/sys/fs/cgroup/net_cls,net_prio", "/"},
			"name=systemd":     {"/sys/fs/cgroup/systemd", "/"}, // "xattr" is an option, not a controller
			"cpuset":           {"/sys/fs/cgroup/cpuset", "/"},  // "clone_children" likewise
			"rdma":             {"/sys/fs/cgroup/rdma", "/"},
			"cgroup2":          {"/sys/fs/cgroup/unified", "/"},
		}},
		{"noprefix", 4, map[string]want{
			"cpuset":  {"/dev/cpuset", "/"}, // noprefix and release_agent= are options
			"cpu":     {"/dev/cpuctl", "/"},
			"memory":  {"/dev/memcg", "/"},
			"cgroup2": {"/sys/fs/cgroup", "/"},
		}},
		{"pure-v1", 12, map[string]want{
			"net_cls":  {"/sys/fs/cgroup/net_cls", "/"},
			"net_prio": {"/sys/fs/cgroup/net_prio", "/"},
			"hugetlb":  {"/sys/fs/cgroup/hugetlb", "/"},
		}},
		{"container", 8, map[string]want{
			"cpu,cpuacct":  {"/sys/fs/cgroup/cpu,cpuacct", "/docker/abc"},
			"name=systemd": {"/sys/fs/cgroup/systemd", "/docker/abc"},
		}},
		{"cgroupns", 10, map[string]want{
			"cpu":     {"/sys/fs/cgroup/cpu", "/.."},
			"cgroup2": {"/sys/fs/cgroup/unified", "/.."},
		}},
		{"escaped", 3, map[string]want{
			"cpu":    {"/sys/fs/cgroup/my cpu", "/"},
			"memory": {"/mnt/tab\tand\\back", "/"},
			"pids":   {"/sys/fs/cgroup/pids", "/a b"},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			mounts, err := parseMountinfo(readFixture(t, "mountinfo/"+c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(mounts) != c.count {
				t.Errorf("%d cgroup mounts, want %d: %+v", len(mounts), c.count, mounts)
			}
			by := mountsBy(t, mounts)
			for key, w := range c.want {
				m, ok := by[key]
				if !ok {
					t.Errorf("no mount with subsystems %q; have %v", key, keys(by))
					continue
				}
				if m.Mountpoint != w.mountpoint || m.Root != w.root {
					t.Errorf("%s: mountpoint %q root %q, want %q %q", key, m.Mountpoint, m.Root, w.mountpoint, w.root)
				}
			}
			for _, m := range mounts {
				for _, s := range m.Subsystems {
					if s == "rw" || s == "xattr" || s == "noprefix" || s == "clone_children" || strings.Contains(s, "release_agent") {
						t.Errorf("option %q taken for a controller", s)
					}
				}
			}
			if c.file == "pure-v1" {
				if _, ok := findMount(mounts, "name=systemd"); ok {
					t.Error("pure v1 layout has no name=systemd")
				}
			}
		})
	}
}

func keys[K ~string, V any](m map[K]V) []string {
	var out []string
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// TestMountinfoParseSelf: this machine's live mountinfo gives the layout kernel-probe.md §5
// describes (separate cpu and cpuacct, a name=systemd hierarchy, cgroup2 at unified).
func TestMountinfoParseSelf(t *testing.T) {
	mounts, err := selfMounts.get()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findMount(mounts, "memory"); !ok {
		t.Skip("no memory hierarchy mounted here")
	}
	for _, m := range mounts {
		if m.SuperMagicV2 {
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(m.Mountpoint, &st); err != nil {
			t.Errorf("%s: %v", m.Mountpoint, err)
			continue
		}
		if st.Type != unix.CGROUP_SUPER_MAGIC {
			t.Errorf("%s (%v) is not cgroupfs", m.Mountpoint, m.Subsystems)
		}
	}
}

func TestMountinfoManyEntries(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&b, "%d 27 0:%d / /run/containerd/io.containerd.runtime.v2.task/k8s.io/%064x/rootfs rw,relatime shared:%d - overlay overlay rw,lowerdir=/l/%d,upperdir=/u/%d,workdir=/w/%d\n",
			100+i, 500+i, i, i, i, i, i)
		if i%1000 == 500 {
			b.Write(readFixture(t, "mountinfo/host"))
		}
	}
	data := b.Bytes()
	mounts, err := parseMountinfo(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 30 {
		t.Fatalf("%d cgroup mounts, want 30 (3 copies of 10)", len(mounts))
	}
	if m, ok := findMount(mounts, "pids"); !ok || m.Mountpoint != "/sys/fs/cgroup/pids" {
		t.Errorf("pids: %+v %v", m, ok)
	}
	// Non-cgroup lines cost no allocation: what is allocated is for the 30 cgroup mounts.
	allocs := testing.AllocsPerRun(5, func() { _, _ = parseMountinfo(data) })
	if allocs > 200 {
		t.Errorf("%.0f allocations to parse 3030 lines: the 3000 non-cgroup lines allocate", allocs)
	}
}

func TestMountinfoBadLine(t *testing.T) {
	data := []byte("32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n33 31 0:30 garbage without separator\n")
	_, err := parseMountinfo(data)
	if !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v, want ErrInvalidFormat naming line 2", err)
	}
	// A cgroup line cut before its mount point is an error too, not an empty mount point.
	if _, err := parseMountinfo([]byte("1 2 0:3 / - cgroup cgroup rw,cpu\n")); !errors.Is(err, ErrInvalidFormat) {
		t.Errorf("short cgroup line: %v", err)
	}
	if m, err := parseMountinfo(nil); err != nil || len(m) != 0 {
		t.Errorf("empty mountinfo: %v, %v", m, err)
	}
}

func TestMountinfoUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:       "/a b",
		`/a\011b\012c`:  "/a\tb\nc",
		`/back\134`:     `/back\`,
		`/trail\04`:     `/trail\04`, // too short: kept
		`/not\0a9octal`: `/not\0a9octal`,
		`/plain`:        "/plain",
	} {
		if got := unescapeMount([]byte(in)); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountinfoFindMountRootPreferred(t *testing.T) {
	mounts, err := parseMountinfo(readFixture(t, "mountinfo/duplicate"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"memory":  "/sys/fs/cgroup/memory",      // a subtree bind (kubelet volume) is listed first
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct", // likewise for the co-mount
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
		"pids":    "/srv/pids-a", // two mounts of the root: the first listed
	} {
		m, ok := findMount(mounts, name)
		if !ok || m.Mountpoint != want || m.Root != "/" {
			t.Errorf("findMount(%s) = %+v, %v; want %s at root /", name, m, ok, want)
		}
	}
	if _, ok := findMount(mounts, "blkio"); ok {
		t.Error("findMount found an unmounted controller")
	}
	if _, ok := findMount(mounts, "cpu,cpuacct"); ok {
		t.Error("findMount matched a joined name instead of one controller")
	}
}

// TestMountinfoV1At builds the hierarchy of each fixture layout on a fixture tree: every controller
// on its own mount point, co-mounted controllers sharing one directory.
func TestMountinfoV1At(t *testing.T) {
	cases := []struct {
		file string
		want map[Name]string // controller -> mount point under the root
	}{
		{"comounted", map[Name]string{
			Cpu: "/sys/fs/cgroup/cpu,cpuacct", Cpuacct: "/sys/fs/cgroup/cpu,cpuacct",
			NetCLS: "/sys/fs/cgroup/net_cls,net_prio", NetPrio: "/sys/fs/cgroup/net_cls,net_prio",
			Memory: "/sys/fs/cgroup/memory", Cpuset: "/sys/fs/cgroup/cpuset", Devices: "/sys/fs/cgroup/devices",
			Freezer: "/sys/fs/cgroup/freezer", Blkio: "/sys/fs/cgroup/blkio", Pids: "/sys/fs/cgroup/pids",
			Hugetlb: "/sys/fs/cgroup/hugetlb", PerfEvent: "/sys/fs/cgroup/perf_event", Rdma: "/sys/fs/cgroup/rdma",
			"systemd": "/sys/fs/cgroup/systemd",
		}},
		{"pure-v1", map[Name]string{
			Cpu: "/sys/fs/cgroup/cpu", Cpuacct: "/sys/fs/cgroup/cpuacct", NetCLS: "/sys/fs/cgroup/net_cls",
			NetPrio: "/sys/fs/cgroup/net_prio", Cpuset: "/sys/fs/cgroup/cpuset", Memory: "/sys/fs/cgroup/memory",
			Devices: "/sys/fs/cgroup/devices", Freezer: "/sys/fs/cgroup/freezer", Blkio: "/sys/fs/cgroup/blkio",
			PerfEvent: "/sys/fs/cgroup/perf_event", Hugetlb: "/sys/fs/cgroup/hugetlb", Pids: "/sys/fs/cgroup/pids",
		}},
		{"noprefix", map[Name]string{Cpu: "/dev/cpuctl", Cpuset: "/dev/cpuset", Memory: "/dev/memcg"}},
		{"host", map[Name]string{
			Cpu: "/sys/fs/cgroup/cpu", Cpuacct: "/sys/fs/cgroup/cpuacct", Cpuset: "/sys/fs/cgroup/cpuset",
			Memory: "/sys/fs/cgroup/memory", Devices: "/sys/fs/cgroup/devices", Freezer: "/sys/fs/cgroup/freezer",
			Blkio: "/sys/fs/cgroup/blkio", Pids: "/sys/fs/cgroup/pids", "systemd": "/sys/fs/cgroup/systemd",
		}},
		{"escaped", map[Name]string{Cpu: "/sys/fs/cgroup/my cpu", Memory: "/mnt/tab\tand\\back", Pids: "/sys/fs/cgroup/pids"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			root := t.TempDir()
			subs, err := V1At(filepath.Join("testdata/mountinfo", c.file), root)()
			if err != nil {
				t.Fatal(err)
			}
			got := map[Name]string{}
			for _, s := range subs {
				if _, dup := got[s.Name()]; dup {
					t.Errorf("%s listed twice", s.Name())
				}
				got[s.Name()] = s.(pather).Path("/")
			}
			for name, mount := range c.want {
				if got[name] != root+mount {
					t.Errorf("%s at %q, want %q", name, got[name], root+mount)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("controllers %v, want %v", keys(got), keys(c.want))
			}
			if _, ok := c.want[Cpuset]; ok && subs[0].Name() != Cpuset {
				t.Errorf("first controller %s, want cpuset (applied first)", subs[0].Name())
			}
		})
	}
	if _, err := V1At("testdata/mountinfo/missing", "/")(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(empty, []byte("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := V1At(empty, "/")(); !errors.Is(err, ErrMountPointNotExist) {
		t.Errorf("no cgroup mounts: %v, want ErrMountPointNotExist", err)
	}
}

// TestMountinfoComountLifecycle: on a fixture tree laid out like a co-mounted host (with the
// usual cpu -> cpu,cpuacct symlinks), New makes one directory for cpu and cpuacct, and Delete
// removes it once without failing on the second controller (containerd/cgroups#296).
func TestMountinfoComountLifecycle(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "sys/fs/cgroup")
	mounts, err := parseMountinfo(readFixture(t, "mountinfo/comounted"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if err := os.MkdirAll(filepath.Join(root, m.Mountpoint), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct", "net_cls": "net_cls,net_prio", "net_prio": "net_cls,net_prio"} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	seedCpuset(t, filepath.Join(base, "cpuset"))
	h := V1At("testdata/mountinfo/comounted", root)
	cg, err := New(h, StaticPath("/ctr/x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"cpu,cpuacct/ctr/x", "net_cls,net_prio/ctr/x", "memory/ctr/x", "systemd/ctr/x"} {
		if fi, err := os.Lstat(filepath.Join(base, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if err := cg.Delete(); err != nil {
		t.Fatalf("Delete on co-mounted controllers: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(base, "cpu,cpuacct/ctr/x")); !os.IsNotExist(err) {
		t.Errorf("cpu,cpuacct/ctr/x left: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(base, "cpu,cpuacct/ctr")); err != nil {
		t.Errorf("Delete removed the parent it did not create: %v", err)
	}
	if st := cg.State(); st != Deleted {
		t.Errorf("State after Delete = %q", st)
	}
}

// TestMountinfoCache: the table is parsed once and reused while the mount table is unchanged;
// a mount in a private namespace makes the next get parse again and see it.
func TestMountinfoCache(t *testing.T) {
	if _, err := selfMounts.get(); err != nil {
		t.Fatal(err)
	}
	before := selfMounts.parses
	for i := 0; i < 5; i++ {
		if _, err := selfMounts.get(); err != nil {
			t.Fatal(err)
		}
	}
	if after := selfMounts.parses; after != before {
		// Another mount change on the host can do this; it is rare enough to report.
		t.Errorf("get re-parsed %d times on an unchanged table", after-before)
	}
	// changed() consumes the kernel's notification, so it is checked on a table of its own, never
	// on selfMounts (which would then miss a real change).
	own := &mountTable{path: "/proc/self/mountinfo", fd: -1}
	if _, err := own.get(); err != nil {
		t.Fatal(err)
	}
	if own.changed() {
		t.Error("changed() is true on an unchanged mount table")
	}
	unix.Close(own.fd)
	allocs := testing.AllocsPerRun(20, func() { _, _ = selfMounts.get() })
	if allocs != 0 {
		t.Errorf("cached get allocates %.0f times", allocs)
	}

	if os.Geteuid() != 0 {
		return
	}
	dir := t.TempDir()
	inPrivateMountNS(t, func() {
		tbl := &mountTable{path: "/proc/thread-self/mountinfo", fd: -1}
		probe := &mountTable{path: "/proc/thread-self/mountinfo", fd: -1}
		defer func() {
			for _, x := range []*mountTable{tbl, probe} {
				if x.fd >= 0 {
					unix.Close(x.fd)
				}
			}
		}()
		if _, err := probe.get(); err != nil {
			t.Error(err)
			return
		}
		m1, err := tbl.get()
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := tbl.get(); err != nil || tbl.parses != 1 {
			t.Errorf("second get: parses=%d, %v", tbl.parses, err)
		}
		if err := unix.Mount("cgtest", dir, "cgroup2", 0, ""); err != nil {
			t.Errorf("mount cgroup2: %v", err)
			return
		}
		if !probe.changed() {
			t.Error("changed() is false after a mount")
		}
		if probe.changed() {
			t.Error("changed() is still true: the poll should have consumed the event")
		}
		m2, err := tbl.get()
		if err != nil {
			t.Error(err)
			return
		}
		if tbl.parses != 2 || len(m2) != len(m1)+1 {
			t.Errorf("after a mount: parses=%d, %d mounts (was %d)", tbl.parses, len(m2), len(m1))
		}
		found := false
		for _, m := range m2 {
			found = found || m.Mountpoint == dir && m.SuperMagicV2
		}
		if !found {
			t.Errorf("the new cgroup2 mount at %s is not in the table", dir)
		}
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("umount: %v", err)
		}
	})
}

// TestMountinfoCacheAfterError: a table that failed to parse is read again by the next call, not
// served stale (the poll that saw the change has consumed the kernel's notification).
func TestMountinfoCacheAfterError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(file, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl := &mountTable{path: file, fd: -1}
	defer func() {
		if tbl.fd >= 0 {
			unix.Close(tbl.fd)
		}
	}()
	if _, err := tbl.get(); !errors.Is(err, ErrInvalidFormat) {
		t.Fatalf("bad table: %v", err)
	}
	if err := os.WriteFile(file, readFixture(t, "mountinfo/host"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := tbl.get()
	if err != nil || len(m) != 10 {
		t.Errorf("after the table was fixed: %d mounts, %v; want 10", len(m), err)
	}
}
