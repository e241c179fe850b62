package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireSystemdTest skips a test without a systemd that sees cgctl's PIDs: the host's PID 1, or
// the sandbox's when the test runs inside it (make systemdtest runs these tests there).
func requireSystemdTest(t *testing.T) {
	t.Helper()
	requireRootTest(t)
	comm, _ := os.ReadFile("/proc/1/comm")
	if os.Getenv("SYSTEMD_SANDBOX_INSIDE") != "1" && strings.TrimSpace(string(comm)) != "systemd" {
		t.Skip("no systemd: PID 1 is not systemd and the test is not inside systemd-sandbox " +
			"(make systemdtest runs it there: ../shared/systemd-sandbox/systemd-sandbox exec go test -run TestCgctlSystemd ./cmd/cgctl)")
	}
}

// sdUnitName returns a unique unit base name without dashes (a dash nests slices).
func sdUnitName(t *testing.T) string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "cgtestcgctl" + hex.EncodeToString(b[:])
}

// sdCleanupUnit stops the unit when the test ends, whatever happened, and fails the test if its
// cgroup (cgPath) is left in any hierarchy.
func sdCleanupUnit(t *testing.T, unit, cgPath string) {
	t.Cleanup(func() {
		if out, err := exec.Command("systemctl", "stop", unit).CombinedOutput(); err != nil {
			t.Logf("cleanup: systemctl stop %s: %v %s", unit, err, out)
		}
		_ = exec.Command("systemctl", "reset-failed", unit).Run()
		// The library makes the directories of the controllers systemd does not manage.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + cgPath)
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
		if left, _ := filepath.Glob("/sys/fs/cgroup/*" + cgPath); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
}

// sdLeft lists the controllers in which cgPath still exists.
func sdLeft(cgPath string) []string {
	left, _ := filepath.Glob("/sys/fs/cgroup/*" + cgPath)
	return left
}

// exec --systemd behaves like systemd-run --scope: the command starts in the scope, in every
// controller, with the limits as unit properties and in the files, and the unit is gone after.
func TestCgctlSystemdExec(t *testing.T) {
	requireSystemdTest(t)
	name := sdUnitName(t)
	unit, cg := name+".scope", "/system.slice/"+name+".scope"
	sdCleanupUnit(t, unit, cg)
	script := `cat /proc/self/cgroup
echo memory.limit_in_bytes=$(cat /sys/fs/cgroup/memory` + cg + `/memory.limit_in_bytes)
echo pids.max=$(cat /sys/fs/cgroup/pids` + cg + `/pids.max)
echo cpu.shares=$(cat /sys/fs/cgroup/cpu` + cg + `/cpu.shares)
systemctl show -p MemoryLimit -p TasksMax -p CPUShares ` + unit
	r := mustCgctl(t, "exec", "--systemd", "--name", name, "--memory", "64M", "--pids", "20", "--cpu-shares", "512",
		"--json", "--", "sh", "-c", script)
	for _, ctl := range []string{"memory", "cpu", "pids", "cpuset", "freezer", "name=systemd"} {
		if !strings.Contains(r.stdout, ":"+ctl+":"+cg+"\n") {
			t.Errorf("the command was not in %s %s when it started:\n%s", ctl, cg, r.stdout)
		}
	}
	for _, want := range []string{"memory.limit_in_bytes=67108864", "pids.max=20", "cpu.shares=512",
		"MemoryLimit=67108864", "TasksMax=20", "CPUShares=512"} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("want %s in the command's view of its scope:\n%s", want, r.stdout)
		}
	}
	s := lastJSONLine(t, r.stderr)
	if s.Cgroup != cg || s.ExitStatus != 0 || !s.Deleted || s.MemoryLimit != 64<<20 || s.PidsLimit != 20 || s.PidsPeak < 1 {
		t.Errorf("summary: %+v", s)
	}
	if left := sdLeft(cg); len(left) > 0 {
		t.Errorf("the scope's cgroup is left after exec: %v", left)
	}
	if out, _ := exec.Command("systemctl", "is-active", unit).Output(); strings.TrimSpace(string(out)) == "active" {
		t.Errorf("unit %s is still active after exec", unit)
	}
	g := cgctl(t, "get", "--systemd", unit)
	if g.code != 1 || !strings.Contains(g.stderr, "not running") {
		t.Errorf("get --systemd of the stopped unit: exit %d, %s", g.code, g.stderr)
	}
}

// create --systemd makes a slice with its limits; exec --systemd --slice runs a scope in it;
// delete --systemd stops it and its cgroups go.
func TestCgctlSystemdCreateDelete(t *testing.T) {
	requireSystemdTest(t)
	name := sdUnitName(t)
	slice, cg := name+".slice", "/"+name+".slice"
	sdCleanupUnit(t, slice, cg)
	mustCgctl(t, "create", "--systemd", slice, "--memory", "128M", "--pids", "50")
	if got := kernelFile(t, "memory", cg, "memory.limit_in_bytes"); got != "134217728" {
		t.Errorf("memory.limit_in_bytes of %s = %s, want 128M", cg, got)
	}
	if got := kernelFile(t, "pids", cg, "pids.max"); got != "50" {
		t.Errorf("pids.max of %s = %s, want 50", cg, got)
	}
	if out, err := exec.Command("systemctl", "show", "-p", "MemoryLimit", "-p", "ActiveState", slice).Output(); err != nil ||
		!strings.Contains(string(out), "MemoryLimit=134217728") || !strings.Contains(string(out), "ActiveState=active") {
		t.Errorf("systemctl show %s: %s (%v)", slice, out, err)
	}
	if r := cgctl(t, "create", "--systemd", slice); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("create of an existing slice: exit %d, %s", r.code, r.stderr)
	}
	var st settings
	if err := json.Unmarshal([]byte(mustCgctl(t, "get", "--systemd", slice, "--json").stdout), &st); err != nil ||
		st.Memory == nil || *st.Memory != 128<<20 || st.Pids == nil || *st.Pids != 50 {
		t.Errorf("get --systemd --json: %+v, %v", st, err)
	}
	mustCgctl(t, "set", "--systemd", slice, "--pids", "60")
	if got := kernelFile(t, "pids", cg, "pids.max"); got != "60" {
		t.Errorf("pids.max after set = %s, want 60", got)
	}
	r := mustCgctl(t, "exec", "--systemd", "--slice", slice, "--name", "job", "-q", "--", "cat", "/proc/self/cgroup")
	if !strings.Contains(r.stdout, ":memory:"+cg+"/job.scope\n") {
		t.Errorf("exec --slice %s: the command was not in %s/job.scope:\n%s", slice, cg, r.stdout)
	}
	mustCgctl(t, "delete", "--systemd", slice)
	if left := sdLeft(cg); len(left) > 0 {
		t.Errorf("delete --systemd left %v", left)
	}
	if r := cgctl(t, "delete", "--systemd", slice); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("delete of a stopped slice: exit %d, %s", r.code, r.stderr)
	}
}

// Without a systemd, --systemd fails at once with one line that says so, and changes nothing.
// It needs no systemd: the bus and the private socket are pointed at nothing.
func TestCgctlSystemdUnreachable(t *testing.T) {
	requireRootTest(t)
	for _, args := range [][]string{
		{"exec", "--systemd", "--", "true"},
		{"create", "--systemd", "cgtestcgctlnone.slice"},
		{"stat", "--systemd", "cgtestcgctlnone.scope"},
	} {
		cmd := exec.Command(cgctlBin, args...)
		cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus",
			"CGROUPS_TEST_SYSTEMD_SOCKET=/nonexistent/private")
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if err == nil || code != 1 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 ||
			!strings.Contains(string(out), "cannot reach systemd") {
			t.Errorf("cgctl %s without systemd: exit %d, output %q; want exit 1 and one line", strings.Join(args, " "), code, out)
		}
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/cgtestcgctlnone*"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
