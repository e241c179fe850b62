package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSlicePath(t *testing.T) {
	for _, tc := range []struct {
		slice, name, want string
	}{
		{"system.slice", "runc-test", "/system.slice/runc-test.scope"},
		{"", "runc-test", "/system.slice/runc-test.scope"},
		{"a-b.slice", "x.scope", "/a.slice/a-b.slice/x.scope"},
		{"a-b-c.slice", "a-b-c-d.slice", "/a.slice/a-b.slice/a-b-c.slice/a-b-c-d.slice"},
		{"-.slice", "top.slice", "/top.slice"},
		{"user.slice", `esc\x2dname`, `/user.slice/esc\x2dname.scope`},
	} {
		got, err := Slice(tc.slice, tc.name)(Cpu)
		if err != nil || got != tc.want {
			t.Errorf("Slice(%q, %q) = %q, %v; want %q", tc.slice, tc.name, got, err, tc.want)
		}
	}
}

func TestSliceRejectsBadNames(t *testing.T) {
	for _, tc := range []struct{ slice, name string }{
		{"system", "x"},          // no .slice suffix
		{"a--b.slice", "x"},      // empty component
		{"-a.slice", "x"},        // leading dash
		{"a-.slice", "x"},        // trailing dash
		{"system.slice", "a/b"},  // slash
		{"system.slice", "../x"}, // escape
		{"system.slice", "a b"},  // space
		{"system.slice", ""},     // empty
	} {
		_, err := Slice(tc.slice, tc.name)(Cpu)
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Slice(%q, %q): err = %v, want ErrInvalidPath", tc.slice, tc.name, err)
		}
	}
}

func TestSystemdEscape(t *testing.T) {
	for in, want := range map[string]string{
		"abc":      "abc",
		"a/b":      "a-b",
		"a-b":      `a\x2db`,
		".hidden":  `\x2ehidden`,
		"a.b:c_d":  "a.b:c_d",
		"pod 12/é": `pod\x2012-\xc3\xa9`,
		"x\\y":     `x\x5cy`,
	} {
		if got := SystemdEscape(in); got != want {
			t.Errorf("SystemdEscape(%q) = %q, want %q", in, got, want)
		}
		if err := checkUnitName(SystemdEscape(in) + ".scope"); err != nil {
			t.Errorf("escaped %q is not a valid unit name: %v", in, err)
		}
	}
}

func TestSystemdVersionParse(t *testing.T) {
	for in, want := range map[string]int{`"252.38-1~deb12u1"`: 252, `"v245.4-1.fc32"`: 245, "219": 219} {
		if got, err := parseSystemdVersion(in); err != nil || got != want {
			t.Errorf("parseSystemdVersion(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseSystemdVersion(`"x"`); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("parseSystemdVersion(x): %v", err)
	}
}

func TestSystemdResourceProperties(t *testing.T) {
	r := &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: u64(512), Quota: i64(33333), Period: u64(100000)},
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swappiness: u64(10)},
		Pids:   &specs.LinuxPids{Limit: i64(42)},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
		},
	}
	got := func(version int) map[string]string {
		m := map[string]string{}
		for _, p := range resourceProperties(r, version) {
			m[p.Name] = p.Value.String()
		}
		return m
	}
	new, old := got(252), got(241)
	want := map[string]string{"CPUShares": "@t 512", "CPUQuotaPerSecUSec": "@t 333330",
		"CPUQuotaPeriodUSec": "@t 100000", "MemoryLimit": "@t 67108864", "TasksMax": "@t 42",
		"DevicePolicy": `"strict"`, "DeviceAllow": `[("/dev/char/1:3", "rwm",)]`}
	for k, v := range want {
		if new[k] != v {
			t.Errorf("v252 %s = %s, want %s", k, new[k], v)
		}
	}
	if _, ok := old["CPUQuotaPeriodUSec"]; ok {
		t.Errorf("CPUQuotaPeriodUSec sent to systemd 241: %v", old)
	}
	if len(new) != len(want) {
		t.Errorf("unexpected properties: %v", new)
	}
	// A deny after allows is not expressible: systemd's copy must not be wider than the rules.
	deny := deviceProperties([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"},
		{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}}, 252)
	if deny[0].Value.String() != `"strict"` || deny[1].Value.String() != "@a(ss) []" {
		t.Errorf("allow-all then deny: %v", deny)
	}
}

// requireSystemd skips a test without a systemd it can hand its own PIDs to: the host's PID 1,
// or the sandbox's when the test runs inside it (systemd-sandbox exec).
func requireSystemd(t *testing.T) {
	t.Helper()
	requireRoot(t)
	comm, _ := os.ReadFile("/proc/1/comm")
	if os.Getenv("SYSTEMD_SANDBOX_INSIDE") != "1" && strings.TrimSpace(string(comm)) != "systemd" {
		t.Skip("no systemd: PID 1 is not systemd and the test is not inside systemd-sandbox " +
			"(run: ../shared/systemd-sandbox/systemd-sandbox exec go test -run TestSystemd; see README)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := withBus(ctx, func(*sddbus.Conn, int) error { return nil }); err != nil {
		t.Fatalf("systemd runs but does not answer on D-Bus: %v", err)
	}
}

// sdName returns a unique, dash-free unit base name for one test.
func sdName(t *testing.T) string {
	return strings.ReplaceAll(testName(t), "-", "_")
}

// sdCleanup stops the units (and resets them if failed) and removes what the library may have
// left of their cgroup at cgPath, when the test ends.
func sdCleanup(t *testing.T, cgPath string, units ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, u := range units {
			u := &sdUnit{name: u, timeout: 30 * time.Second}
			_ = (&SystemdController{units: map[string]*sdUnit{}}).stopUnit(u)
			_ = resetFailed(ctx, u.name)
		}
		if cgPath == "" {
			return
		}
		subs, _ := V1()
		for _, s := range subs {
			if pt, ok := s.(pather); ok {
				if err := removeTree(pt.Path(cgPath), 2*time.Second); err != nil {
					t.Errorf("cleanup %s: %v", pt.Path(cgPath), err)
				}
			}
		}
	})
}

func sdRead(t *testing.T, controller, cgPath, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, cgPath, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func sdHasPid(t *testing.T, controller, cgPath string, pid int) bool {
	t.Helper()
	for _, f := range strings.Fields(sdRead(t, controller, cgPath, "cgroup.procs")) {
		if f == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

func sdGone(t *testing.T, cgPath string) {
	t.Helper()
	for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "blkio", "systemd"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, cgPath)); !os.IsNotExist(err) {
			t.Errorf("%s/%s still exists after Delete (err %v)", c, cgPath, err)
		}
	}
}

func sdResources() *specs.LinuxResources {
	return &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"},
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swappiness: u64(10)},
		Pids:   &specs.LinuxPids{Limit: i64(42)},
	}
}

func sdCheckLimits(t *testing.T, cg string) {
	t.Helper()
	for _, c := range []struct{ ctrl, file, want string }{
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"memory", "memory.swappiness", "10"},
		{"pids", "pids.max", "42"},
		{"cpuset", "cpuset.cpus", "0"},
	} {
		if got := sdRead(t, c.ctrl, cg, c.file); got != c.want {
			t.Errorf("%s/%s/%s = %q, want %q", c.ctrl, cg, c.file, got, c.want)
		}
	}
}

// The seed's example, as written: a scope without PIDs starts at the first Add, with its limits.
func TestSystemdSeedExample(t *testing.T) {
	requireSystemd(t)
	const cg = "/system.slice/runc-test.scope"
	sdCleanup(t, cg, "runc-test.scope")
	shares := uint64(512)
	control, err := New(Systemd, Slice("system.slice", "runc-test"), &specs.LinuxResources{
		CPU: &specs.LinuxCPU{
			Shares: &shares,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := control.Stat(); !errors.Is(err, ErrUnitNotStarted) {
		t.Errorf("Stat before the first process: %v, want ErrUnitNotStarted", err)
	}
	// Recorded until the start: the update changes what the scope starts with.
	if err := control.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20)}}); err != nil {
		t.Fatal(err)
	}
	proc := startProcess(t)
	if err := control.Add(Process{Pid: proc.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if got := sdRead(t, "cpu", cg, "cpu.shares"); got != "512" {
		t.Errorf("cpu.shares = %s, want 512", got)
	}
	if got := sdRead(t, "memory", cg, "memory.limit_in_bytes"); got != strconv.Itoa(32<<20) {
		t.Errorf("memory.limit_in_bytes = %s, want 32M", got)
	}
	for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "systemd"} {
		if !sdHasPid(t, c, cg, proc.Process.Pid) {
			t.Errorf("pid %d is not in %s%s", proc.Process.Pid, c, cg)
		}
	}
	procs, err := control.Processes(Cpuset, false)
	if err != nil || len(procs) != 1 || procs[0].Pid != proc.Process.Pid {
		t.Errorf("Processes(cpuset) = %v, %v", procs, err)
	}
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, cg)
	if _, err := os.Stat("/sys/fs/cgroup/cpuset/system.slice"); err == nil {
		// made by the library for this scope only (systemd does not manage cpuset)
		if entries, _ := filepath.Glob("/sys/fs/cgroup/cpuset/system.slice/*.scope"); len(entries) == 0 {
			t.Errorf("cpuset/system.slice, made by the library, was left behind")
		}
	}
}

// With WithPIDs the scope starts in New: the limits are in the files when New returns.
func TestSystemdLimitsFromFirstInstant(t *testing.T) {
	requireSystemd(t)
	name := sdName(t)
	cg := "/system.slice/" + name + ".scope"
	sdCleanup(t, cg, name+".scope")
	proc := startProcess(t)
	control, err := New(Systemd, Slice("", name), sdResources(), WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	sdCheckLimits(t, cg)
	for _, c := range []string{"cpu", "memory", "pids", "cpuset", "freezer", "cpuacct"} {
		if !sdHasPid(t, c, cg, proc.Process.Pid) {
			t.Errorf("pid %d is not in %s%s", proc.Process.Pid, c, cg)
		}
	}
	// systemd's own copy has the limits too (they were in StartTransientUnit).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = withBus(ctx, func(conn *sddbus.Conn, _ int) error {
		for prop, want := range map[string]string{"MemoryLimit": "@t 67108864", "CPUShares": "@t 512", "TasksMax": "@t 42", "Delegate": "true"} {
			p, err := conn.GetUnitTypePropertyContext(ctx, name+".scope", "Scope", prop)
			if err != nil || p.Value.String() != want {
				t.Errorf("unit property %s = %v (%v), want %s", prop, p, err, want)
			}
		}
		return nil
	})
	st, err := control.Stat()
	if err != nil || st.Memory == nil || st.Pids == nil || st.Pids.Limit != 42 {
		t.Errorf("Stat: %+v, %v", st, err)
	}
	if err := control.Freeze(); err != nil {
		t.Fatal(err)
	}
	if s := control.State(); s != Frozen {
		t.Errorf("State after Freeze = %s", s)
	}
	if err := control.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, cg)
	if err := proc.Wait(); err == nil {
		t.Errorf("the scope's process survived the stop")
	}
}

func TestSystemdNestedSlice(t *testing.T) {
	requireSystemd(t)
	id := strings.TrimPrefix(sdName(t), "cgtest_")
	slice := "cgtest-" + id + ".slice"
	sliceCg := "/cgtest.slice/" + slice
	scopeCg := sliceCg + "/s" + id + ".scope"
	sdCleanup(t, "/cgtest.slice", "s"+id+".scope", slice, "cgtest.slice")
	sl, err := New(Systemd, Slice("cgtest.slice", slice), &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(256 << 20)}, Pids: &specs.LinuxPids{Limit: i64(100)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sdRead(t, "memory", sliceCg, "memory.limit_in_bytes"); got != strconv.Itoa(256<<20) {
		t.Errorf("slice memory.limit_in_bytes = %s", got)
	}
	if got := sdRead(t, "pids", sliceCg, "pids.max"); got != "100" {
		t.Errorf("slice pids.max = %s", got)
	}
	proc := startProcess(t)
	sc, err := New(Systemd, Slice(slice, "s"+id), sdResources(), WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	sdCheckLimits(t, scopeCg)
	if !sdHasPid(t, "memory", scopeCg, proc.Process.Pid) {
		t.Errorf("pid not in the scope")
	}
	// A child cgroup in the delegated scope is a plain cgroup.
	child, err := sc.New("sub", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sdRead(t, "pids", scopeCg+"/sub", "pids.max"); got != "7" {
		t.Errorf("child pids.max = %s", got)
	}
	if err := child.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, scopeCg)
	if err := sl.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, sliceCg)
}

func TestSystemdUpdateSurvivesDaemonReload(t *testing.T) {
	requireSystemd(t)
	name := sdName(t)
	cg := "/system.slice/" + name + ".scope"
	sdCleanup(t, cg, name+".scope")
	proc := startProcess(t)
	control, err := New(Systemd, Slice("system.slice", name), sdResources(), WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer control.Delete()
	if err := control.Update(&specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: u64(1024), Quota: i64(20000), Period: u64(100000)},
		Memory: &specs.LinuxMemory{Limit: i64(128 << 20)},
		Pids:   &specs.LinuxPids{Limit: i64(84)},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}},
	}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		for _, c := range []struct{ ctrl, file, want string }{
			{"cpu", "cpu.shares", "1024"}, {"cpu", "cpu.cfs_quota_us", "20000"},
			{"memory", "memory.limit_in_bytes", strconv.Itoa(128 << 20)}, {"pids", "pids.max", "84"},
			{"devices", "devices.list", "c 1:3 rwm"},
		} {
			if got := sdRead(t, c.ctrl, cg, c.file); got != c.want {
				t.Errorf("%s: %s/%s = %q, want %q", when, c.ctrl, c.file, got, c.want)
			}
		}
		if s := control.State(); s != Thawed {
			t.Errorf("%s: state %s, want thawed", when, s)
		}
	}
	check("after Update")
	if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
		t.Fatalf("systemctl daemon-reload: %v\n%s", err, out)
	}
	check("after daemon-reload")
}

// startFailedScope leaves a failed scope called name: RuntimeMaxUSec=1 makes systemd stop it
// with the result "timeout".
func startFailedScope(t *testing.T, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	proc := startProcess(t)
	ch := make(chan string, 1)
	err := withBus(ctx, func(conn *sddbus.Conn, _ int) error {
		_, err := conn.StartTransientUnitContext(ctx, name, "replace", []sddbus.Property{
			sddbus.PropSlice("system.slice"), sddbus.PropPids(uint32(proc.Process.Pid)),
			prop("RuntimeMaxUSec", uint64(1)),
		}, ch)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if st, _ := unitState(ctx, name); st == "failed" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("could not make %s fail", name)
}

func TestSystemdFailedUnitDoesNotBlockNew(t *testing.T) {
	requireSystemd(t)
	name := sdName(t)
	cg := "/system.slice/" + name + ".scope"
	sdCleanup(t, cg, name+".scope")
	startFailedScope(t, name+".scope")
	proc := startProcess(t)
	control, err := New(Systemd, Slice("system.slice", name), sdResources(), WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatalf("New over a failed unit of the same name: %v", err)
	}
	sdCheckLimits(t, cg)
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	// The name is free again right after Delete.
	proc2 := startProcess(t)
	control, err = New(Systemd, Slice("system.slice", name), nil, WithPIDs(proc2.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
}

func TestSystemdReconnects(t *testing.T) {
	requireSystemd(t)
	if os.Getenv("SYSTEMD_SANDBOX_INSIDE") != "1" {
		t.Skip("restarts dbus and re-executes systemd: only inside systemd-sandbox")
	}
	name := sdName(t)
	cg := "/system.slice/" + name + ".scope"
	sdCleanup(t, cg, name+".scope")
	proc := startProcess(t)
	control, err := New(Systemd, Slice("system.slice", name), sdResources(), WithPIDs(proc.Process.Pid),
		WithSystemdTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i, cmd := range [][]string{{"systemctl", "restart", "dbus"}, {"systemctl", "daemon-reexec"}} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
		start := time.Now()
		shares := uint64(600 + i)
		if err := control.Update(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares}}); err != nil {
			t.Fatalf("Update after %v: %v", cmd, err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("Update after %v took %v", cmd, d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var got string
		_ = withBus(ctx, func(conn *sddbus.Conn, _ int) error {
			p, err := conn.GetUnitTypePropertyContext(ctx, name+".scope", "Scope", "CPUShares")
			if err == nil {
				got = p.Value.String()
			}
			return err
		})
		cancel()
		if want := fmt.Sprintf("@t %d", shares); got != want {
			t.Errorf("after %v: systemd's CPUShares = %q, want %q", cmd, got, want)
		}
	}
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, cg)
}

func TestSystemdLoadAndMoveTo(t *testing.T) {
	requireSystemd(t)
	name := sdName(t)
	cg := "/system.slice/" + name + ".scope"
	sdCleanup(t, cg, name+".scope", name+"_b.scope")
	proc := startProcess(t)
	control, err := New(Systemd, Slice("system.slice", name), sdResources(), WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	_ = control
	loaded, err := Load(Systemd, Slice("system.slice", name))
	if err != nil {
		t.Fatal(err)
	}
	procs, err := loaded.Processes(Memory, true)
	if err != nil || len(procs) != 1 || procs[0].Pid != proc.Process.Pid {
		t.Errorf("Processes of the loaded unit: %v, %v", procs, err)
	}
	// MoveTo into a second scope that waits for its first process.
	dest, err := New(Systemd, Slice("system.slice", name+"_b"), &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.MoveTo(dest); err != nil {
		t.Fatal(err)
	}
	destCg := "/system.slice/" + name + "_b.scope"
	if !sdHasPid(t, "pids", destCg, proc.Process.Pid) || sdRead(t, "pids", destCg, "pids.max") != "5" {
		t.Errorf("MoveTo: pid not in %s with its limit", destCg)
	}
	if err := dest.Delete(); err != nil {
		t.Fatal(err)
	}
	// The first scope emptied; systemd collects it. Load of a unit that is gone: ErrCgroupDeleted.
	if err := loaded.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, cg)
	if _, err := Load(Systemd, Slice("system.slice", name)); !errors.Is(err, ErrCgroupDeleted) {
		t.Errorf("Load of a stopped unit: %v, want ErrCgroupDeleted", err)
	}
}

func TestSystemdNames(t *testing.T) {
	requireSystemd(t)
	// Rejected before any D-Bus call, with the reason.
	for _, tc := range []struct{ slice, name, why string }{
		{"system.slice", "a b", "character"},
		{"system.slice", "cgtest-x.slice", "places a slice by its name"},
		{"system.slice", strings.Repeat("a", 300), "1 to 255"},
	} {
		_, err := New(Systemd, Slice(tc.slice, tc.name), nil)
		if !errors.Is(err, ErrInvalidPath) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("New(%q, %q): %v, want ErrInvalidPath saying %q", tc.slice, tc.name, err, tc.why)
		}
	}
	// An id that needs escaping works once escaped.
	id := SystemdEscape("cgtest/" + strings.TrimPrefix(sdName(t), "cgtest_") + "-pod uid")
	proc := startProcess(t)
	sdCleanup(t, "", id+".scope")
	control, err := New(Systemd, Slice("system.slice", id), nil, WithPIDs(proc.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !sdHasPid(t, "cpuset", "/system.slice/"+id+".scope", proc.Process.Pid) {
		t.Errorf("escaped scope %s: pid not in cpuset", id)
	}
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	// systemd's cgroup name differs from the unit name: "cpu.scope" lives in _cpu.scope.
	proc2 := startProcess(t)
	sdCleanup(t, "/system.slice/_cpu.scope", "cpu.scope")
	control, err = New(Systemd, Slice("system.slice", "cpu"), sdResources(), WithPIDs(proc2.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	sdCheckLimits(t, "/system.slice/_cpu.scope")
	if err := control.Delete(); err != nil {
		t.Fatal(err)
	}
	sdGone(t, "/system.slice/_cpu.scope")
}
