package cgroups

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// --- fixture tests ---

func TestDevicesFixtureUnchangedWritesNothing(t *testing.T) {
	list, err := os.ReadFile("testdata/devices/whitelist.list")
	if err != nil {
		t.Fatal(err)
	}
	root := fixtureRoot(t, map[string]string{"devices/cg/devices.list": string(list)})
	c := NewDevices(root)
	var writes []string
	c.afterWrite = func(_, file, value string) { writes = append(writes, file+" "+value) }
	// The same rules in another order: nothing to write. devices.allow and devices.deny do not
	// exist in the fixture, so a write would also fail.
	res := &specs.LinuxResources{Devices: ociDevs(t, "deny a", "allow c 136:* rw", "allow c 10:200 rwm",
		"allow c 5:2 r", "allow c 5:2 w", "allow b *:* m", "allow c 1:5 rw", "allow c 1:3 rwm", "allow c *:1 r")}
	if err := c.Update("/cg", res); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(writes) != 0 {
		t.Errorf("writes %q, want none", writes)
	}
	for _, f := range []string{devicesAllowFile, devicesDenyFile} {
		if _, err := os.Stat(filepath.Join(root, "devices/cg", f)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it never written", f, err)
		}
	}
}

func TestDevicesFixtureMismatchAfterWrite(t *testing.T) {
	old := defaultFilePerm
	defaultFilePerm = 0o666
	t.Cleanup(func() { defaultFilePerm = old })
	root := fixtureRoot(t, map[string]string{"devices/cg/devices.list": "c 1:3 rwm\n"})
	c := NewDevices(root)
	// A plain file does not change devices.list: the read-back must notice.
	err := c.Update("/cg", &specs.LinuxResources{Devices: ociDevs(t, "deny a", "allow c 1:3 rwm", "allow c 1:9 rw")})
	if !errors.Is(err, ErrDeviceRulesMismatch) {
		t.Fatalf("Update: %v, want ErrDeviceRulesMismatch", err)
	}
	if !strings.Contains(err.Error(), "c 1:9 rw") || !strings.Contains(err.Error(), "devices.list") {
		t.Errorf("error %q should name the file and the wanted rules", err)
	}
	if got := readTestFile(t, filepath.Join(root, "devices/cg/devices.allow")); got != "c 1:9 rw" {
		t.Errorf("devices.allow = %q, want the one delta %q", got, "c 1:9 rw")
	}
}

func TestDevicesFixtureNoRulesNoWrites(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"devices/cg/devices.list": "c 1:3 rwm\n"})
	c := NewDevices(root)
	for _, res := range []*specs.LinuxResources{nil, {}, {Devices: []specs.LinuxDeviceCgroup{}}} {
		if err := c.Update("/cg", res); err != nil {
			t.Errorf("Update(%+v): %v", res, err)
		}
	}
	if err := c.Create("/new", &specs.LinuxResources{}); err != nil {
		t.Fatalf("Create without rules: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(root, "devices/new")); err != nil || !fi.IsDir() {
		t.Errorf("Create did not make the directory: %v", err)
	}
	// Nothing was written, or the fixture's missing devices.allow would have made Update fail.
}

func TestDevicesFixtureInvalidCreatesNothing(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"devices/.keep": ""})
	c := NewDevices(root)
	bad := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwx"},
	}}
	err := c.Create("/cg", bad)
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "rwx") {
		t.Fatalf("Create: %v, want ErrInvalidValue naming the access", err)
	}
	if _, err := os.Stat(filepath.Join(root, "devices/cg")); !os.IsNotExist(err) {
		t.Errorf("the cgroup directory was created for invalid rules: %v", err)
	}
}

// --- real kernel ---

// ociDefaultDevices is the usual OCI device list: deny everything, then mknod of anything and the
// standard character devices (null, zero, full, random, urandom, tty, ptmx, the pts range).
func ociDefaultDevices(t testing.TB) []specs.LinuxDeviceCgroup {
	return ociDevs(t, "deny a", "allow c *:* m", "allow b *:* m",
		"allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
		"allow c 5:0 rwm", "allow c 5:2 rwm", "allow c 136:* rwm")
}

const ociDefaultDevicesList = "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:2 rwm\nc 136:* rwm"

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

func devicesDir(t testing.TB, path string) string {
	t.Helper()
	subs, err := V1()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if s.Name() == Devices {
			return s.(pather).Path(path)
		}
	}
	t.Skip("no devices hierarchy")
	return ""
}

func TestDevicesCreateWhitelist(t *testing.T) {
	_, path := newTestCgroup(t, &specs.LinuxResources{Devices: ociDefaultDevices(t)})
	got := readTestFile(t, filepath.Join(devicesDir(t, path), devicesListFile))
	if got != ociDefaultDevicesList {
		t.Errorf("devices.list:\n%s\nwant:\n%s", got, ociDefaultDevicesList)
	}
}

func TestDevicesCreateWithoutRulesKeepsDefault(t *testing.T) {
	_, path := newTestCgroup(t, &specs.LinuxResources{})
	if got := readTestFile(t, filepath.Join(devicesDir(t, path), devicesListFile)); got != "a *:* rwm" {
		t.Errorf("devices.list = %q, want the inherited allow-all", got)
	}
}

func TestDevicesUpdateMinimal(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{Devices: ociDefaultDevices(t)})
	dir := devicesDir(t, path)
	c := newDevices(filepath.Dir(dir))
	if filepath.Join(c.mount, path) != dir {
		t.Skipf("the test cgroup is not directly under the devices mount: %s", dir)
	}
	var writes []string
	c.afterWrite = func(_, file, value string) { writes = append(writes, file+" "+value) }
	// Drop zero, make full read-only, add tun, replace the pts range by two ptys.
	target := ociDevs(t, "deny a", "allow c *:* m", "allow b *:* m",
		"allow c 1:3 rwm", "allow c 1:7 r", "allow c 1:8 rwm", "allow c 1:9 rwm",
		"allow c 5:0 rwm", "allow c 5:2 rwm", "allow c 136:0 rw", "allow c 136:1 rw", "allow c 10:200 rwm")
	if err := c.Update(path, &specs.LinuxResources{Devices: target}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := []string{
		"devices.allow c 10:200 rwm", "devices.allow c 136:0 rw", "devices.allow c 136:1 rw",
		"devices.deny c 1:5 rwm", "devices.deny c 1:7 wm", "devices.deny c 136:* rwm",
	}
	if strings.Join(writes, "|") != strings.Join(want, "|") {
		t.Errorf("writes:\n got %q\nwant %q", writes, want)
	}
	wantList := "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:7 r\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:2 rwm\nc 10:200 rwm\nc 136:0 rw\nc 136:1 rw"
	if got := readTestFile(t, filepath.Join(dir, devicesListFile)); got != wantList {
		t.Errorf("devices.list:\n%s\nwant:\n%s", got, wantList)
	}

	// The same rules again: not one write. Nil devices: left alone.
	writes = nil
	if err := c.Update(path, &specs.LinuxResources{Devices: target}); err != nil || len(writes) != 0 {
		t.Errorf("repeated Update: err %v, writes %q; want none", err, writes)
	}
	if err := cg.Update(&specs.LinuxResources{}); err != nil {
		t.Fatalf("Update without devices: %v", err)
	}
	if got := readTestFile(t, filepath.Join(dir, devicesListFile)); got != wantList {
		t.Errorf("Update without devices changed devices.list to:\n%s", got)
	}

	// A rule that would punch a hole is refused before anything is written.
	writes = nil
	err := c.Update(path, &specs.LinuxResources{Devices: ociDevs(t, "deny a", "allow c 136:* rw", "deny c 136:0 rw")})
	if !errors.Is(err, ErrInvalidValue) || len(writes) != 0 {
		t.Errorf("hole punching: err %v, writes %q; want ErrInvalidValue and no writes", err, writes)
	}

	// Through the Cgroup: back to the default list.
	if err := cg.Update(&specs.LinuxResources{Devices: ociDefaultDevices(t)}); err != nil {
		t.Fatalf("cgroup Update: %v", err)
	}
	// The kernel lists rules in the order they were added: compare them as a set.
	if got := sortedLines(readTestFile(t, filepath.Join(dir, devicesListFile))); got != sortedLines(ociDefaultDevicesList) {
		t.Errorf("devices.list after cgroup Update:\n%s\nwant:\n%s", got, ociDefaultDevicesList)
	}
}

// TestDevicesUpdateNoWindow checks the kernel's own devices.list after every write of an update:
// a device that both the old and the new rules allow is allowed at each step.
func TestDevicesUpdateNoWindow(t *testing.T) {
	_, path := newTestCgroup(t, &specs.LinuxResources{Devices: ociDefaultDevices(t)})
	dir := devicesDir(t, path)
	c := newDevices(filepath.Dir(dir))
	probes := []devKey{{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 5, 2}, {'c', 136, 0}, {'c', 136, 5}, {'b', 8, 0}, {'c', 10, 200}}
	lists := [][]specs.LinuxDeviceCgroup{
		ociDefaultDevices(t),
		// the pts wildcard replaced by exact ptys, m on chars narrowed, null read-only
		ociDevs(t, "deny a", "allow b *:* m", "allow c 1:* m", "allow c 1:3 r", "allow c 1:5 rwm", "allow c 1:7 rwm",
			"allow c 5:2 rwm", "allow c 136:0 rwm", "allow c 136:5 rw", "allow c 10:200 rw"),
		// a major wildcard replacing exact minors
		ociDevs(t, "deny a", "allow b 8:0 rwm", "allow c 1:* rw", "allow c 5:2 rwm", "allow c 136:* rwm"),
		ociDefaultDevices(t),
	}
	var from, to *devEmulator
	var step int
	c.afterWrite = func(p, file, value string) {
		step++
		data, err := os.ReadFile(filepath.Join(dir, devicesListFile))
		if err != nil {
			t.Fatal(err)
		}
		now, err := parseDevicesList(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range probes {
			for _, perm := range []devPerms{devRead, devWrite, devMknod} {
				if from.allows(k, perm) && to.allows(k, perm) && !now.allows(k, perm) {
					t.Errorf("after write %d (%s %s): %s lost %s, which both the old and the new rules allow",
						step, file, value, k, perm)
				}
			}
		}
	}
	for i := 1; i < len(lists); i++ {
		var err error
		if from, err = buildDevTarget(lists[i-1]); err != nil {
			t.Fatal(err)
		}
		if to, err = buildDevTarget(lists[i]); err != nil {
			t.Fatal(err)
		}
		if err := c.Update(path, &specs.LinuxResources{Devices: lists[i]}); err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	if step < 10 {
		t.Errorf("only %d writes were checked; the lists should need more", step)
	}
}

// devShell is a shell of the test's own in a test cgroup: each line sent to it runs one device
// check and prints one line back. The checks use "true", a regular built-in: a failed redirection
// of a special built-in such as ":" or of a compound command makes a POSIX shell exit.
type devShell struct {
	in  io.WriteCloser
	out *bufio.Reader
}

func startDevShell(t *testing.T, cg Cgroup, script string, env ...string) *devShell {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no shell on this system: the enforcement test needs one")
	}
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if err := cg.Add(Process{Pid: cmd.Process.Pid}, Devices); err != nil {
		t.Fatal(err)
	}
	return &devShell{in: in, out: bufio.NewReader(out)}
}

func (s *devShell) ask(t *testing.T, line string) string {
	t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := s.out.ReadString('\n')
	if err != nil {
		t.Fatalf("shell: %v", err)
	}
	return strings.TrimSpace(got)
}

// TestDevicesEnforcedAndNoWindowLive runs a real process in the cgroup: the kernel enforces the
// rules Create and Update write, and a process that opens /dev/null in a tight loop never fails
// across many updates that move its access between an exact rule and a wildcard, while it does
// fail across a deliberate reset, which shows that the loop can see a window.
func TestDevicesEnforcedAndNoWindowLive(t *testing.T) {
	cg, path := newTestCgroup(t, &specs.LinuxResources{Devices: ociDefaultDevices(t)})
	dir := devicesDir(t, path)
	stop := filepath.Join(t.TempDir(), "stop")
	sh := startDevShell(t, cg, `while read dev; do
		if [ "$dev" = loop ]; then
			n=0; f=0
			while [ ! -e "$STOP" ]; do n=$((n+1)); true >/dev/null || f=$((f+1)); done
			echo "$n $f"
		elif true <"$dev"; then echo ok; else echo denied; fi
	done`, "STOP="+stop)
	if got := sh.ask(t, "/dev/null"); got != "ok" {
		t.Errorf("/dev/null: %s, want ok", got)
	}
	if got := sh.ask(t, "/dev/kmsg"); got != "denied" {
		t.Errorf("/dev/kmsg (c 1:11, not allowed): %s, want denied", got)
	}
	if err := cg.Update(&specs.LinuxResources{Devices: append(ociDefaultDevices(t), ociDev(t, "allow c 1:11 r"))}); err != nil {
		t.Fatal(err)
	}
	if got := sh.ask(t, "/dev/kmsg"); got != "ok" {
		t.Errorf("/dev/kmsg after allowing c 1:11 r: %s, want ok", got)
	}

	// loop runs the shell's /dev/null loop while during runs, and returns its counts.
	loop := func(during func()) (opens, fails int) {
		t.Helper()
		done := make(chan string, 1)
		go func() { done <- sh.askNoFail("loop") }()
		time.Sleep(50 * time.Millisecond)
		during()
		time.Sleep(20 * time.Millisecond)
		if err := os.WriteFile(stop, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		var res string
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the shell loop did not stop")
		}
		os.Remove(stop)
		f := strings.Fields(res)
		if len(f) != 2 {
			t.Fatalf("loop answered %q", res)
		}
		n, err1 := parseInt([]byte(f[0]))
		k, err2 := parseInt([]byte(f[1]))
		if err1 != nil || err2 != nil {
			t.Fatalf("loop answered %q", res)
		}
		return int(n), int(k)
	}

	// Negative control: a reset (deny all, pause, allow again) is seen by the loop.
	opens, fails := loop(func() {
		if err := os.WriteFile(filepath.Join(dir, devicesDenyFile), []byte("a"), 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := cg.Update(&specs.LinuxResources{Devices: ociDefaultDevices(t)}); err != nil {
			t.Fatal(err)
		}
	})
	if fails == 0 {
		t.Fatalf("the loop saw no failure across a 20 ms deny-all (%d opens): it cannot detect a window", opens)
	}
	t.Logf("negative control: %d of %d opens failed across a reset", fails, opens)

	// Updates that keep /dev/null (rw) but move it between "c 1:3 rwm" and "c 1:* rw".
	a := ociDefaultDevices(t)
	b := ociDevs(t, "deny a", "allow c 1:* rw", "allow c 5:2 rwm", "allow c 136:0 rw", "allow b *:* m")
	updates := 0
	opens, fails = loop(func() {
		for i := 0; i < 60; i++ {
			rules := a
			if i%2 == 0 {
				rules = b
			}
			if err := cg.Update(&specs.LinuxResources{Devices: rules}); err != nil {
				t.Fatalf("Update %d: %v", i, err)
			}
			updates++
		}
	})
	t.Logf("%d updates, %d opens of /dev/null, %d failed", updates, opens, fails)
	if fails != 0 {
		t.Errorf("%d of %d opens of /dev/null failed during %d updates that keep it allowed", fails, opens, updates)
	}
	if opens < 100 {
		t.Errorf("only %d opens ran during the updates: the test proves little", opens)
	}
}

func (s *devShell) askNoFail(line string) string {
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		return err.Error()
	}
	got, err := s.out.ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(got)
}

// TestDevicesUpdateOnTopReal: rules apply on top of the cgroup's current rules, as in
// containerd/cgroups and the kernel. A short list adds to a whitelist instead of opening all
// devices; on an allow-all cgroup, deny rules are written as given and never through an "a" reset,
// which would drop the deny exceptions devices.list cannot show.
func TestDevicesUpdateOnTopReal(t *testing.T) {
	_, path := newTestCgroup(t, &specs.LinuxResources{Devices: ociDevs(t, "deny a", "allow c 1:3 rwm")})
	dir := devicesDir(t, path)
	c := newDevices(filepath.Dir(dir))
	if filepath.Join(c.mount, path) != dir {
		t.Skipf("the test cgroup is not directly under the devices mount: %s", dir)
	}
	var writes []string
	c.afterWrite = func(_, file, value string) { writes = append(writes, file+" "+value) }
	list := func() string { return readTestFile(t, filepath.Join(dir, devicesListFile)) }

	if err := c.Update(path, &specs.LinuxResources{Devices: ociDevs(t, "allow c 1:5 rw")}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "c 1:3 rwm\nc 1:5 rw" {
		t.Errorf("after adding c 1:5 to a whitelist: devices.list %q", got)
	}
	if err := c.Update(path, &specs.LinuxResources{Devices: ociDevs(t, "deny c 1:3 w")}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "c 1:3 rm\nc 1:5 rw" {
		t.Errorf("after denying w on c 1:3: devices.list %q", got)
	}
	if want := "devices.allow c 1:5 rw|devices.deny c 1:3 w"; strings.Join(writes, "|") != want {
		t.Errorf("writes %q, want %q", writes, want)
	}

	// Back to allow-all, then two deny exceptions one after the other: each is one write, and
	// the first survives the second (an "a" reset between them would have dropped it).
	writes = nil
	if err := c.Update(path, &specs.LinuxResources{Devices: ociDevs(t, "allow a")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"deny c 1:3 rwm", "deny c 1:5 rwm"} {
		if err := c.Update(path, &specs.LinuxResources{Devices: ociDevs(t, r)}); err != nil {
			t.Fatal(err)
		}
	}
	if want := "devices.allow a *:* rwm|devices.deny c 1:3 rwm|devices.deny c 1:5 rwm"; strings.Join(writes, "|") != want {
		t.Errorf("writes %q, want %q", writes, want)
	}
	if got := list(); got != "a *:* rwm" {
		t.Errorf("devices.list %q, want allow-all (its exceptions are not listed)", got)
	}
	// The kernel still holds the first exception: a child inherits it and cannot allow c 1:3.
	if err := os.Mkdir(filepath.Join(dir, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(dir, "child"))
	if err := os.WriteFile(filepath.Join(dir, "child", "devices.deny"), []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(filepath.Join(dir, "child", "devices.allow"), []byte("c 1:3 r"), 0)
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("child allow c 1:3 under the parent's deny exception: %v, want EPERM", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "child", "devices.allow"), []byte("c 1:7 r"), 0); err != nil {
		t.Errorf("child allow c 1:7: %v", err)
	}
}
