package cgroups

// The private-mount-namespace harness. net_cls, net_prio, perf_event and hugetlb are not mounted
// on the host, so their integration tests mount them in a mount namespace of their own: a parent
// test re-executes the test binary with CLONE_NEWNS (Go makes "/" recursively private in the new
// namespace before exec), and the child, TestMountNSInside, mounts a tmpfs and the hierarchies
// there and runs the tests of one layout. The child's own /proc/self/mountinfo lists the private
// mounts, so V1() itself finds them.
//
// The release trap (research/kernel-probe.md §4.2): a v1 hierarchy whose last mount goes away
// while it still has a (possibly dying) child cgroup is never released. It stays bound with no
// mount, and for hugetlb that takes the controller away from the host's cgroup2. So the child
// waits until /proc/cgroups counts only the root cgroup before unmounting, then checks that the
// hierarchy column is 0 again; if not, it mounts and unmounts the hierarchy again. The parent
// checks the same after the child has gone (the child may have been killed) and runs a release
// child when needed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	mountnsEnvLayout = "CGROUPS_TEST_MOUNTNS"        // the layout to run; set only in the child
	mountnsEnvBase   = "CGROUPS_TEST_MOUNTNS_BASE"   // the directory the child mounts a tmpfs on
	mountnsEnvHostNS = "CGROUPS_TEST_MOUNTNS_HOSTNS" // the parent's mount namespace, to refuse running in it
	mountnsEnvGroups = "CGROUPS_TEST_MOUNTNS_GROUPS" // for the "release" layout: "net_cls,net_prio;hugetlb"

	mountnsChildTimeout = 150 * time.Second
	// mountnsDrainTimeout bounds the wait for dying cgroups to be freed before an unmount.
	mountnsDrainTimeout = 10 * time.Second
	// mountnsReleaseTimeout bounds the wait for a hierarchy to be released after its unmount.
	mountnsReleaseTimeout = 3 * time.Second
)

// mountLayout is one set of hierarchies mounted together in a child.
type mountLayout struct {
	groups []string // one mount each, by its controller option: "net_cls", "net_cls,net_prio"
	run    func(t *testing.T, base string)
}

var mountLayouts = map[string]mountLayout{
	"separate": {groups: []string{"net_cls", "net_prio", "perf_event", "hugetlb"}, run: mountnsSeparate},
	"comount":  {groups: []string{"net_cls,net_prio"}, run: mountnsComount},
	// "trap" mounts nothing up front: its test reproduces the release trap with net_cls (never
	// hugetlb, whose leak would hurt the host's cgroup2) and checks the recovery.
	"trap": {groups: nil, run: mountnsTrap},
	// "crash" dies with a cgroup in its net_cls mount, as a child killed by a timeout would: the
	// parent must find the hierarchy bound and release it.
	"crash": {groups: nil, run: mountnsCrash},
}

func TestMountNSSeparate(t *testing.T) { runMountNS(t, "separate") }

func TestMountNSComount(t *testing.T) { runMountNS(t, "comount") }

func TestMountNSReleaseTrap(t *testing.T) { runMountNS(t, "trap") }

func TestMountNSCrashRecovery(t *testing.T) { runMountNS(t, "crash") }

// procCgroup is one row of /proc/cgroups.
type procCgroup struct {
	hierarchy, num int
	enabled        bool
}

func readProcCgroups() (map[string]procCgroup, error) {
	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, err
	}
	out := map[string]procCgroup{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		h, err1 := strconv.Atoi(f[1])
		n, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("/proc/cgroups: bad line %q", line)
		}
		out[f[0]] = procCgroup{hierarchy: h, num: n, enabled: f[3] == "1"}
	}
	return out, nil
}

// pollProcCgroups polls /proc/cgroups every 20 ms until ok holds for every controller, or the
// timeout passes. It returns the last rows read and whether ok held.
func pollProcCgroups(controllers []string, timeout time.Duration, ok func(procCgroup) bool) (map[string]procCgroup, bool) {
	deadline := time.Now().Add(timeout)
	for {
		rows, err := readProcCgroups()
		if err == nil {
			all := true
			for _, c := range controllers {
				if !ok(rows[c]) {
					all = false
				}
			}
			if all || time.Now().After(deadline) {
				return rows, all
			}
		} else if time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func released(r procCgroup) bool { return r.hierarchy == 0 }

func controllersOf(groups []string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, strings.Split(g, ",")...)
	}
	return out
}

// leakedGroups groups the controllers that are still bound to a v1 hierarchy by hierarchy id, as
// the mount options that would reattach each hierarchy.
func leakedGroups(rows map[string]procCgroup, controllers []string) []string {
	byID := map[int][]string{}
	var ids []int
	for _, c := range controllers {
		if h := rows[c].hierarchy; h != 0 {
			if byID[h] == nil {
				ids = append(ids, h)
			}
			byID[h] = append(byID[h], c)
		}
	}
	var out []string
	for _, id := range ids {
		out = append(out, strings.Join(byID[id], ","))
	}
	return out
}

func unifiedControllers() string {
	b, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// runMountNS runs the tests of one layout in a child in a private mount namespace and checks
// afterwards that every hierarchy the child mounted was released.
func runMountNS(t *testing.T, layout string) {
	requireRoot(t)
	l := mountLayouts[layout]
	controllers := controllersOf(l.groups)
	if layout == "trap" || layout == "crash" {
		controllers = []string{"net_cls"}
	}
	rows, err := readProcCgroups()
	if err != nil {
		t.Skipf("cannot read /proc/cgroups: %v", err)
	}
	for _, c := range controllers {
		if r, ok := rows[c]; !ok || !r.enabled {
			t.Skipf("controller %s is not enabled in this kernel (/proc/cgroups)", c)
		}
	}
	// Controllers mounted in this namespace already (as in vmtest guests) are tested where they
	// are, by TestNetHostMountedReal: no need to wait for a release that will not come.
	if mounts, err := selfMounts.get(); err == nil {
		for _, c := range controllers {
			if m, ok := findMount(mounts, c); ok {
				t.Skipf("%s is mounted here already (%s): TestNetHostMountedReal tests it in place", c, m.Mountpoint)
			}
		}
	}
	// Mounting a controller that is bound elsewhere would attach that hierarchy (or fail with
	// EBUSY for a new co-mount): leave controllers that someone else uses alone.
	if rows, ok := pollProcCgroups(controllers, 5*time.Second, released); !ok {
		t.Skipf("controllers %v are already bound to a v1 hierarchy (%v); not mounting them", controllers, rows)
	}
	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skipf("no mount namespace support: %v", err)
	}
	unifiedBefore := unifiedControllers()
	base := t.TempDir()

	out, runErr := runMountNSChild(t, layout, base, hostNS, "")

	// Whatever happened in the child, the hierarchies must be free again.
	if layout == "crash" {
		if runErr == nil {
			t.Errorf("the crash child exited cleanly:\n%s", out)
		}
		t.Logf("crash child output (%v):\n%s", runErr, out)
		// A hierarchy with a live child cgroup is never released by itself: no need to wait long.
		if !ensureReleased(t, controllers, hostNS, time.Second) {
			t.Errorf("the crash child left no bound hierarchy: the recovery path was not exercised")
		}
		return
	}
	if ensureReleased(t, controllers, hostNS, 5*time.Second) {
		t.Errorf("after the child: hierarchies were still bound and had to be released (see above)")
	}
	if strings.Contains(" "+unifiedBefore+" ", " hugetlb ") && slices.Contains(controllers, "hugetlb") {
		if after := unifiedControllers(); !strings.Contains(" "+after+" ", " hugetlb ") {
			t.Errorf("cgroup2 lost hugetlb: cgroup.controllers %q, was %q", after, unifiedBefore)
		}
	}

	t.Logf("child output:\n%s", out)
	if runErr != nil {
		t.Fatalf("child in a private mount namespace failed: %v\n%s", runErr, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestMountNSInside")) {
		t.Fatalf("child did not run its tests (skipped?):\n%s", out)
	}
}

// ensureReleased waits for the controllers to be released and, if they are not, runs a release
// child for the hierarchies still bound. It reports whether a release was needed, and fails the
// test loudly if the hierarchies stay bound.
func ensureReleased(t *testing.T, controllers []string, hostNS string, wait time.Duration) (neededRelease bool) {
	t.Helper()
	rows, ok := pollProcCgroups(controllers, wait, released)
	if ok {
		return false
	}
	leaked := leakedGroups(rows, controllers)
	t.Logf("hierarchies %v still bound (%v); running a release child", leaked, rows)
	rout, rerr := runMountNSChild(t, "release", t.TempDir(), hostNS, strings.Join(leaked, ";"))
	if rows, ok := pollProcCgroups(controllers, 5*time.Second, released); !ok {
		t.Errorf("RELEASE FAILED: %v still bound after a release child (err %v):\n%s\n"+
			"fix by hand: mount -t cgroup -o <controllers> in a private mount namespace, "+
			"remove its child cgroups, wait for /proc/cgroups num_cgroups 1, umount",
			leakedGroups(rows, controllers), rerr, rout)
	} else {
		t.Logf("released by the release child:\n%s", rout)
	}
	return true
}

// runMountNSChild runs TestMountNSInside in a new mount namespace and process group, bounded by
// mountnsChildTimeout, and returns its output. The whole process group is killed at the end, so
// no helper process of the child outlives it.
func runMountNSChild(t *testing.T, layout, base, hostNS, groups string) ([]byte, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), mountnsChildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestMountNSInside$", "-test.v", "-test.count=1",
		"-test.timeout="+(mountnsChildTimeout-20*time.Second).String())
	cmd.Env = append(os.Environ(),
		mountnsEnvLayout+"="+layout,
		mountnsEnvBase+"="+base,
		mountnsEnvHostNS+"="+hostNS,
		mountnsEnvGroups+"="+groups,
		"CGTEST_HELPER="+helperPath,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			t.Skipf("cannot start a process in a new mount namespace: %v", err)
		}
		t.Fatal(err)
	}
	err = cmd.Wait()
	// The group id stays reserved while any member lives, so this reaches only our leftovers.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if ctx.Err() != nil {
		err = fmt.Errorf("child timed out after %v: %w", mountnsChildTimeout, err)
	}
	return out.Bytes(), err
}

// TestMountNSInside is the child side of the harness; it does nothing unless TestMountNS* started
// it in a private mount namespace.
func TestMountNSInside(t *testing.T) {
	layout := os.Getenv(mountnsEnvLayout)
	if layout == "" {
		t.Skip("runs only inside the private mount namespace that the other TestMountNS* tests start")
	}
	hostNS := os.Getenv(mountnsEnvHostNS)
	if ns, err := os.Readlink("/proc/self/ns/mnt"); err != nil || ns == hostNS || hostNS == "" {
		t.Fatalf("refusing to mount: not in a private mount namespace (mine %q, host %q, %v)", ns, hostNS, err)
	}
	// Go already made "/" recursively private after unshare; make sure, since nothing mounted
	// here may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / private: %v", err)
	}
	base := os.Getenv(mountnsEnvBase)
	if err := unix.Mount("cgtest-tmpfs", base, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", base, err)
	}
	if layout == "release" {
		for _, g := range strings.Split(os.Getenv(mountnsEnvGroups), ";") {
			if g == "" {
				continue
			}
			if err := releaseHierarchy(filepath.Join(base, g), g); err != nil {
				t.Error(err)
			}
		}
		_ = unix.Unmount(base, 0)
		return
	}
	l, ok := mountLayouts[layout]
	if !ok {
		t.Fatalf("unknown layout %q", layout)
	}
	// Registered first, so it runs last: after every subtest has removed its cgroups and killed
	// its processes.
	t.Cleanup(func() { mountnsTeardown(t, base, l.groups) })
	for _, g := range l.groups {
		dir := filepath.Join(base, g)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("cgroup", dir, "cgroup", 0, g); err != nil {
			t.Fatalf("mount -t cgroup -o %s %s: %v", g, dir, err)
		}
		// The usual co-mount layout: one symlink per controller, as on systemd hosts.
		if strings.Contains(g, ",") {
			for _, c := range strings.Split(g, ",") {
				if err := os.Symlink(g, filepath.Join(base, c)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	l.run(t, base)
}

// mountnsTeardown removes what the tests left, waits for the hierarchies to drop their dying
// cgroups, unmounts them and makes sure each one is released.
func mountnsTeardown(t *testing.T, base string, groups []string) {
	forgetRootsUnder(base)
	for _, g := range groups {
		dir := filepath.Join(base, g)
		ctrls := strings.Split(g, ",")
		rows, _ := readProcCgroups()
		hid := rows[ctrls[0]].hierarchy
		if hid == 0 {
			t.Errorf("%s: /proc/cgroups shows no hierarchy while mounted (%v)", g, rows[ctrls[0]])
		}
		if left := removeLeftovers(dir); left != nil {
			t.Errorf("cgroups left behind in %s: %v", dir, left)
		}
		start := time.Now()
		if err := drainAndUnmount(dir, g); err != nil {
			t.Error(err)
		}
		unmounted := time.Since(start)
		if rows, ok := pollProcCgroups(ctrls, mountnsReleaseTimeout, released); !ok {
			t.Logf("%s not released after umount (%v): mounting it again to release it", g, rows)
			if err := releaseHierarchy(dir, g); err != nil {
				t.Error(err)
			}
		} else {
			t.Logf("%s (hierarchy %d): drained and unmounted in %v, released %v later", g,
				hid, unmounted.Round(time.Millisecond), (time.Since(start) - unmounted).Round(time.Millisecond))
		}
	}
	if err := unix.Unmount(base, 0); err != nil {
		t.Errorf("umount %s: %v", base, err)
	}
}

// releaseHierarchy mounts the hierarchy of the controllers g at dir (which reattaches a leaked
// hierarchy), removes any child cgroup, and unmounts it once only the root cgroup is left;
// twice at most.
func releaseHierarchy(dir, g string) error {
	ctrls := strings.Split(g, ",")
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err = unix.Mount("cgroup", dir, "cgroup", 0, g); err != nil {
			return fmt.Errorf("release: mount -o %s %s: %w", g, dir, err)
		}
		removeLeftovers(dir)
		if err = drainAndUnmount(dir, g); err != nil {
			continue
		}
		if rows, ok := pollProcCgroups(ctrls, mountnsReleaseTimeout, released); !ok {
			err = fmt.Errorf("release: %s still bound after umount: %v", g, rows)
			continue
		}
		return nil
	}
	return err
}

// drainAndUnmount waits (bounded) until the hierarchy counts only its root cgroup, dying
// children included, then unmounts it.
func drainAndUnmount(dir, g string) error {
	first := strings.Split(g, ",")[0]
	rows, drained := pollProcCgroups([]string{first}, mountnsDrainTimeout, func(r procCgroup) bool { return r.num == 1 })
	var errs []error
	if !drained {
		errs = append(errs, fmt.Errorf("%s: still %d cgroups after %v; unmounting anyway", g, rows[first].num, mountnsDrainTimeout))
	}
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; {
		if err = unix.Unmount(dir, 0); err != unix.EBUSY || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err == unix.EBUSY {
		errs = append(errs, fmt.Errorf("umount %s: EBUSY (an open fd?): detaching", dir))
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("umount %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// removeLeftovers removes every child cgroup of a hierarchy mounted at dir, deepest first, and
// returns their names. Only the harness's own private mounts are passed here.
func removeLeftovers(dir string) []string {
	var left []string
	var walk func(d string)
	walk = func(d string) {
		ents, err := os.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.IsDir() {
				p := filepath.Join(d, e.Name())
				walk(p)
				left = append(left, p)
				for i := 0; i < 50 && os.Remove(p) != nil; i++ {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
	}
	walk(dir)
	return left
}

// forgetRootsUnder closes the file layer's root fds under dir: an O_PATH fd keeps a mount busy,
// and a hierarchy must be unmounted for real (not detached) to be released while this process
// still watches /proc/cgroups.
func forgetRootsUnder(dir string) { releaseRootsUnder(dir) }

// mountnsHierarchy is V1 narrowed to some controllers: the child's V1 also sees the host's
// hierarchies, which these tests must not touch.
func mountnsHierarchy(names ...Name) Hierarchy {
	return func() ([]Subsystem, error) {
		all, err := V1()
		if err != nil {
			return nil, err
		}
		var out []Subsystem
		for _, s := range all {
			if slices.Contains(names, s.Name()) {
				out = append(out, s)
			}
		}
		if len(out) != len(names) {
			return nil, fmt.Errorf("V1 found %d of the controllers %v", len(out), names)
		}
		return out, nil
	}
}

// fixedHierarchy is a Hierarchy of the given subsystems, the way containerd users build one from
// NewNetCls(root) and friends.
func fixedHierarchy(s ...Subsystem) Hierarchy {
	return func() ([]Subsystem, error) { return s, nil }
}

// mountnsCgroup creates a cgroup with a unique name in hierarchy and deletes it when the test
// ends if the test did not.
func mountnsCgroup(t *testing.T, h Hierarchy, resources *specs.LinuxResources) (Cgroup, string) {
	t.Helper()
	path := "/" + testName(t)
	cg, err := New(h, StaticPath(path), resources)
	if err != nil {
		t.Fatalf("New(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := cg.Delete(); err != nil {
			t.Errorf("cleanup Delete(%s): %v", path, err)
		}
	})
	return cg, path
}

// mountnsJoin starts a helper process, adds it to cg and checks that each dir's cgroup.procs
// lists it. The caller stops it with mountnsStop before Delete.
func mountnsJoin(t *testing.T, cg Cgroup, dirs ...string) *exec.Cmd {
	t.Helper()
	cmd := startProcess(t)
	if err := cg.Add(Process{Pid: cmd.Process.Pid}); err != nil {
		t.Fatalf("Add(%d): %v", cmd.Process.Pid, err)
	}
	for _, d := range dirs {
		procs := readTestFile(t, filepath.Join(d, "cgroup.procs"))
		if !slices.Contains(strings.Fields(procs), strconv.Itoa(cmd.Process.Pid)) {
			t.Fatalf("%s/cgroup.procs = %q, want pid %d", d, procs, cmd.Process.Pid)
		}
	}
	return cmd
}

func mountnsStop(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// mountnsDelete deletes cg and checks that the directories are gone.
func mountnsDelete(t *testing.T, cg Cgroup, dirs ...string) {
	t.Helper()
	if err := cg.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, d := range dirs {
		if _, err := os.Lstat(d); !os.IsNotExist(err) {
			t.Fatalf("%s still exists after Delete (%v)", d, err)
		}
	}
}

// secondInterface returns an interface other than lo in this network namespace, or "".
func secondInterface() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, i := range ifs {
		if i.Name != "lo" && checkIfName(i.Name) == nil {
			return i.Name
		}
	}
	return ""
}

// ifpriomap reads a net_prio.ifpriomap into a map.
func ifpriomap(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(readTestFile(t, filepath.Join(dir, "net_prio.ifpriomap")), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

func findSubsystem(t *testing.T, subs []Subsystem, n Name) pather {
	t.Helper()
	for _, s := range subs {
		if s.Name() == n {
			p, ok := s.(pather)
			if !ok {
				t.Fatalf("%s is not a pather", n)
			}
			return p
		}
	}
	t.Fatalf("V1() has no %s controller", n)
	return nil
}

// mountnsSeparate tests net_cls, net_prio, perf_event and hugetlb each mounted on its own.
func mountnsSeparate(t *testing.T, base string) {
	t.Run("Discovery", func(t *testing.T) {
		subs, err := V1()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []Name{NetCLS, NetPrio, PerfEvent, Hugetlb} {
			if got, want := findSubsystem(t, subs, n).Path("/x"), filepath.Join(base, string(n), "x"); got != want {
				t.Errorf("%s: Path(/x) = %s, want %s", n, got, want)
			}
		}
	})

	t.Run("NetCls", func(t *testing.T) {
		id := uint32(0x100001)
		cg, p := mountnsCgroup(t, mountnsHierarchy(NetCLS), netclsResources(&id))
		dir := filepath.Join(base, "net_cls", p)
		file := filepath.Join(dir, netclsClassID)
		if got := readTestFile(t, file); got != "1048577" {
			t.Fatalf("classid = %s, want 1048577", got)
		}
		// No Network: unchanged. ClassID 0: reset.
		if err := cg.Update(&specs.LinuxResources{}); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, file); got != "1048577" {
			t.Fatalf("classid after empty update = %s", got)
		}
		zero := uint32(0)
		if err := cg.Update(netclsResources(&zero)); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, file); got != "0" {
			t.Fatalf("classid after reset = %s, want 0", got)
		}
		cmd := mountnsJoin(t, cg, dir)
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir)
	})

	t.Run("NetPrio", func(t *testing.T) {
		cg, p := mountnsCgroup(t, mountnsHierarchy(NetPrio), netprioResources(
			specs.LinuxInterfacePriority{Name: "lo", Priority: 5}))
		dir := filepath.Join(base, "net_prio", p)
		if got := ifpriomap(t, dir)["lo"]; got != "5" {
			t.Fatalf("lo priority = %q, want 5 (%v)", got, ifpriomap(t, dir))
		}
		prios := []specs.LinuxInterfacePriority{{Name: "lo", Priority: 7}}
		other := secondInterface()
		if other != "" {
			prios = append(prios, specs.LinuxInterfacePriority{Name: other, Priority: 3})
		}
		if err := cg.Update(netprioResources(prios...)); err != nil {
			t.Fatal(err)
		}
		m := ifpriomap(t, dir)
		if m["lo"] != "7" || other != "" && m[other] != "3" {
			t.Fatalf("ifpriomap after update = %v, want lo 7 and %s 3", m, other)
		}
		// An unknown interface: ENODEV from the kernel, and the error says which.
		err := cg.Update(netprioResources(specs.LinuxInterfacePriority{Name: "cgtnoif0", Priority: 1}))
		if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), `"cgtnoif0"`) {
			t.Fatalf("unknown interface: err = %v, want ENODEV naming cgtnoif0", err)
		}
		err = cg.Update(netprioResources(specs.LinuxInterfacePriority{Name: "lo 9\nlo", Priority: 1}))
		if !errors.Is(err, ErrInvalidValue) {
			t.Fatalf("bad interface name: err = %v, want ErrInvalidValue", err)
		}
		if got := ifpriomap(t, dir)["lo"]; got != "7" {
			t.Fatalf("lo priority changed by refused updates: %q", got)
		}
		cmd := mountnsJoin(t, cg, dir)
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir)
	})

	t.Run("PerfEvent", func(t *testing.T) {
		cg, p := mountnsCgroup(t, mountnsHierarchy(PerfEvent), nil)
		dir := filepath.Join(base, "perf_event", p)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("New did not create %s: %v", dir, err)
		}
		cmd := mountnsJoin(t, cg, dir)
		procs, err := cg.Processes(PerfEvent, false)
		if err != nil || len(procs) != 1 || procs[0].Pid != cmd.Process.Pid {
			t.Fatalf("Processes = %v, %v; want pid %d", procs, err, cmd.Process.Pid)
		}
		if _, err := Load(mountnsHierarchy(PerfEvent), StaticPath(p)); err != nil {
			t.Fatalf("Load: %v", err)
		}
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir)
	})

	t.Run("Hugetlb", func(t *testing.T) {
		h := mountnsHierarchy(Hugetlb)
		subs, err := h()
		if err != nil {
			t.Fatal(err)
		}
		sizes := subs[0].(*hugetlbController).sizes
		if !slices.Contains(sizes, "2MB") || !slices.Contains(sizes, "1GB") {
			t.Skipf("this test wants 2MB and 1GB huge pages; the kernel has %v", sizes)
		}
		cg, p := mountnsCgroup(t, h, &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
			{Pagesize: "2MB", Limit: 4194304}, {Pagesize: "1GB", Limit: math.MaxUint64},
		}})
		dir := filepath.Join(base, "hugetlb", p)
		const unlimited1G = "9223372035781033984" // PAGE_COUNTER_MAX in whole 1 GiB pages
		read := func(f string) string { return readTestFile(t, filepath.Join(dir, f)) }
		for f, want := range map[string]string{
			"hugetlb.2MB.limit_in_bytes": "4194304", "hugetlb.2MB.rsvd.limit_in_bytes": "4194304",
			"hugetlb.1GB.limit_in_bytes": unlimited1G, "hugetlb.1GB.rsvd.limit_in_bytes": unlimited1G,
		} {
			if got := read(f); got != want {
				t.Errorf("%s = %s, want %s", f, got, want)
			}
		}
		// The kernel keeps whole pages: 3 MiB becomes one 2 MiB page.
		if err := cg.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
			{Pagesize: "2MB", Limit: 3 << 20}}}); err != nil {
			t.Fatal(err)
		}
		if got := read("hugetlb.2MB.limit_in_bytes"); got != "2097152" {
			t.Errorf("2MB limit after update = %s, want 2097152", got)
		}
		if got := read("hugetlb.2MB.rsvd.limit_in_bytes"); got != "2097152" {
			t.Errorf("2MB rsvd limit after update = %s, want 2097152", got)
		}
		for _, ps := range []string{"../../x", "2MB/../..", "4MB"} {
			err := cg.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: ps, Limit: 1}}})
			if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), strconvQuote(ps)) {
				t.Errorf("page size %q: err = %v, want ErrInvalidValue naming it", ps, err)
			}
		}
		cmd := mountnsJoin(t, cg, dir)
		stats, err := cg.Stat()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]HugetlbStat{}
		for _, s := range stats.Hugetlb {
			got[s.Pagesize] = *s
		}
		if s := got["2MB"]; s.Limit != 2097152 || s.RsvdLimit != 2097152 {
			t.Errorf("2MB stats = %+v, want limit and rsvd limit 2097152", s)
		}
		if s := got["1GB"]; strconv.FormatUint(s.Limit, 10) != unlimited1G || strconv.FormatUint(s.RsvdLimit, 10) != unlimited1G {
			t.Errorf("1GB stats = %+v, want limits %s", s, unlimited1G)
		}
		if len(stats.Hugetlb) != len(sizes) {
			t.Errorf("%d hugetlb stats for sizes %v", len(stats.Hugetlb), sizes)
		}
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir)
	})
}

// mountnsComount tests net_cls and net_prio co-mounted on one hierarchy, with the usual
// per-controller symlinks.
func mountnsComount(t *testing.T, base string) {
	comount := filepath.Join(base, "net_cls,net_prio")
	t.Run("Discovery", func(t *testing.T) {
		subs, err := V1()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []Name{NetCLS, NetPrio} {
			if got, want := findSubsystem(t, subs, n).Path("/x"), comount+"/x"; got != want {
				t.Errorf("%s: Path(/x) = %s, want %s", n, got, want)
			}
		}
	})

	// Through V1: both controllers share one directory; Delete must remove it once and not fail
	// on the second controller (containerd #296).
	t.Run("V1", func(t *testing.T) {
		id := uint32(0x10002)
		res := &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &id,
			Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 4}}}}
		cg, p := mountnsCgroup(t, mountnsHierarchy(NetCLS, NetPrio), res)
		dir := comount + p
		if got := readTestFile(t, filepath.Join(base, "net_cls", p, netclsClassID)); got != "65538" {
			t.Fatalf("classid through the symlink = %s, want 65538", got)
		}
		if got := ifpriomap(t, filepath.Join(base, "net_prio", p))["lo"]; got != "4" {
			t.Fatalf("lo priority = %q, want 4", got)
		}
		id = 7
		res.Network.Priorities[0].Priority = 9
		if err := cg.Update(res); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, filepath.Join(dir, netclsClassID)); got != "7" {
			t.Fatalf("classid after update = %s, want 7", got)
		}
		if got := ifpriomap(t, dir)["lo"]; got != "9" {
			t.Fatalf("lo priority after update = %q, want 9", got)
		}
		child, err := cg.New("child", nil)
		if err != nil {
			t.Fatal(err)
		}
		cmd := mountnsJoin(t, child, dir+"/child")
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir)
	})

	// Through the symlinks, the way containerd users build the hierarchy.
	t.Run("Symlinks", func(t *testing.T) {
		h := fixedHierarchy(NewNetCls(base), NewNetPrio(base))
		id := uint32(3)
		res := &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &id,
			Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 2}}}}
		cg, p := mountnsCgroup(t, h, res)
		dir := comount + p
		if got := readTestFile(t, filepath.Join(dir, netclsClassID)); got != "3" {
			t.Fatalf("classid = %s, want 3", got)
		}
		if got := ifpriomap(t, dir)["lo"]; got != "2" {
			t.Fatalf("lo priority = %q, want 2", got)
		}
		cmd := mountnsJoin(t, cg, filepath.Join(base, "net_cls", p), filepath.Join(base, "net_prio", p))
		mountnsStop(cmd)
		mountnsDelete(t, cg, dir, filepath.Join(base, "net_cls", p), filepath.Join(base, "net_prio", p))
	})
}

// mountnsTrap reproduces the trap of kernel-probe.md §4.2 on net_cls: a child cgroup removed just
// before the unmount leaves the hierarchy bound with no mount. releaseHierarchy must free it.
func mountnsTrap(t *testing.T, base string) {
	dir := filepath.Join(base, "net_cls")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("cgroup", dir, "cgroup", 0, "net_cls"); err != nil {
		t.Fatalf("mount -o net_cls: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cgtest-trap"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "cgtest-trap")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	rows, ok := pollProcCgroups([]string{"net_cls"}, 2*time.Second, released)
	if ok {
		t.Logf("the trap did not spring this time (the dying cgroup was freed before the umount): %v", rows["net_cls"])
	} else {
		t.Logf("trap reproduced: net_cls %+v with no mount; releasing", rows["net_cls"])
	}
	if err := releaseHierarchy(dir, "net_cls"); err != nil {
		t.Fatal(err)
	}
	if rows, ok := pollProcCgroups([]string{"net_cls"}, time.Second, released); !ok {
		t.Fatalf("net_cls still bound after releaseHierarchy: %+v", rows["net_cls"])
	}
}

// mountnsCrash leaves a live child cgroup in a net_cls mount and exits at once, without cleanups.
func mountnsCrash(t *testing.T, base string) {
	dir := filepath.Join(base, "net_cls")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("cgroup", dir, "cgroup", 0, "net_cls"); err != nil {
		t.Fatalf("mount -o net_cls: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "cgtest-crash"), 0o755); err != nil {
		t.Fatal(err)
	}
	fmt.Println("crash child: exiting with net_cls mounted and a child cgroup in it")
	os.Exit(3)
}
