package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cgroupkit/cgroups"
)

// The binaries under test, built once by TestMain: cgctl itself, and the helper process the
// tests put into cgroups (never the test binary).
var (
	cgctlBin  string
	helperBin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cgctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// go test puts its own toolchain first on PATH; /usr/local/go is where the README puts it.
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cgctlBin, helperBin = filepath.Join(dir, "cgctl"), filepath.Join(dir, "cgtesthelper")
	for _, b := range []struct{ out, pkg string }{{cgctlBin, "."}, {helperBin, "../../internal/cgtesthelper"}} {
		cmd := exec.Command(goBin, "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of cgctl.
type result struct {
	stdout, stderr string
	code           int
}

// cgctl runs the built binary with args and returns its output and exit status.
func cgctl(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(cgctlBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("cgctl %s: %v", strings.Join(args, " "), err)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// mustCgctl runs cgctl and fails the test unless it exits 0.
func mustCgctl(t *testing.T, args ...string) result {
	t.Helper()
	r := cgctl(t, args...)
	if r.code != 0 {
		t.Fatalf("cgctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func requireRootTest(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root to create cgroups under /sys/fs/cgroup (run the tests as root)")
	}
	if _, err := cgroups.V1(); err != nil {
		t.Skipf("integration test: no cgroup v1 hierarchy is mounted: %v", err)
	}
}

// testCgroup returns a unique cgroup path for the test and makes sure it is gone when the test
// ends, also when it fails: processes the test left in it are killed, then it is deleted. At the
// end the test fails if anything named like it is left under /sys/fs/cgroup.
func testCgroup(t *testing.T) string {
	t.Helper()
	requireRootTest(t)
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	p := "/cgtest-" + name + "-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if cg, err := cgroups.Load(cgroups.V1, cgroups.StaticPath(p)); err == nil {
			_ = cg.Thaw()
			for i := 0; i < 50 && len(members(cg)) > 0; i++ {
				for _, pid := range members(cg) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cg.Delete(); err != nil {
				t.Errorf("cleanup: delete %s: %v", p, err)
			}
		}
		left, _ := filepath.Glob("/sys/fs/cgroup/*" + p)
		if len(left) > 0 {
			t.Errorf("left behind under /sys/fs/cgroup: %v", left)
		}
	})
	return p
}

// startHelper starts the test helper (never the test binary) and kills it when the test ends.
func startHelper(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(helperBin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// kernelFile reads a control file of cgroup p in controller ctl straight from the kernel.
func kernelFile(t *testing.T, ctl, p, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctl, p, file))
	if err != nil {
		t.Fatalf("read back %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}

func exists(ctl, p string) bool {
	_, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctl, p))
	return err == nil
}

func TestCgctlCreateSetGetDelete(t *testing.T) {
	parent := testCgroup(t)
	p := parent + "/job"
	mustCgctl(t, "create", p, "--memory", "256M", "--memory-swap", "512M", "--cpus", "1.5",
		"--cpu-shares", "512", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids", "100",
		"--device-deny", "a", "--device-allow", "c 1:3 rwm", "--device-allow", "c 1:5 rw")
	for _, f := range []struct{ ctl, file, want string }{
		{"memory", "memory.limit_in_bytes", "268435456"},
		{"memory", "memory.memsw.limit_in_bytes", "536870912"},
		{"cpu", "cpu.cfs_quota_us", "150000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpu", "cpu.shares", "512"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"pids", "pids.max", "100"},
		{"devices", "devices.list", "c 1:3 rwm\nc 1:5 rw"},
	} {
		if got := kernelFile(t, f.ctl, p, f.file); got != f.want {
			t.Errorf("after create: %s = %q, want %q", f.file, got, f.want)
		}
	}

	// Creating it again fails and changes nothing.
	r := cgctl(t, "create", p, "--pids", "7")
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("create of an existing cgroup: exit %d, stderr %q; want 1 and 'already exists'", r.code, r.stderr)
	}
	if got := kernelFile(t, "pids", p, "pids.max"); got != "100" {
		t.Errorf("create of an existing cgroup changed pids.max to %s", got)
	}

	mustCgctl(t, "set", p, "--memory", "128M", "--pids", "max", "--cpus", "max")
	for _, f := range []struct{ ctl, file, want string }{
		{"memory", "memory.limit_in_bytes", "134217728"},
		{"memory", "memory.memsw.limit_in_bytes", "536870912"}, // not given: unchanged
		{"pids", "pids.max", "max"},
		{"cpu", "cpu.cfs_quota_us", "-1"},
		{"cpu", "cpu.shares", "512"},
	} {
		if got := kernelFile(t, f.ctl, p, f.file); got != f.want {
			t.Errorf("after set: %s = %q, want %q", f.file, got, f.want)
		}
	}

	// get: typed values.
	var st settings
	if err := json.Unmarshal([]byte(mustCgctl(t, "get", p, "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Memory == nil || *st.Memory != 128<<20 || st.MemorySwap == nil || *st.MemorySwap != 512<<20 ||
		st.Pids == nil || *st.Pids != -1 || st.CPUs == nil || *st.CPUs != -1 ||
		st.CPUShares == nil || *st.CPUShares != 512 || st.CpusetCpus == nil || *st.CpusetCpus != "0" ||
		len(st.Devices) != 2 || st.FreezerState == nil || *st.FreezerState != "THAWED" {
		b, _ := json.Marshal(st)
		t.Errorf("get --json = %s", b)
	}
	out := mustCgctl(t, "get", p).stdout
	for _, want := range []string{"memory       128.0M", "pids         max", "cpu-shares   512"} {
		if !strings.Contains(out, want) {
			t.Errorf("get: no %q in\n%s", want, out)
		}
	}
	// get -r: raw files, as the kernel has them.
	out = mustCgctl(t, "get", p, "-r", "memory.limit_in_bytes", "-r", "pids:cgroup.procs").stdout
	if out != "memory.limit_in_bytes: 134217728\npids:cgroup.procs: \n" {
		t.Errorf("get -r: %q", out)
	}

	// delete without -r refuses a cgroup with children; -r removes them bottom-up.
	r = cgctl(t, "delete", parent)
	if r.code != 1 || !strings.Contains(r.stderr, "child cgroups") || !exists("memory", p) {
		t.Errorf("delete of a parent without -r: exit %d, stderr %q", r.code, r.stderr)
	}
	mustCgctl(t, "delete", "-r", parent)
	for _, ctl := range []string{"memory", "cpu", "cpuset", "pids", "devices", "freezer"} {
		if exists(ctl, parent) {
			t.Errorf("after delete -r: %s still exists in %s", parent, ctl)
		}
	}
	r = cgctl(t, "delete", parent)
	if r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("delete of a missing cgroup: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCgctlDeleteRefusesProcesses(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p)
	h := startHelper(t, "sleep")
	mustCgctl(t, "classify", p, strconv.Itoa(h.Process.Pid))
	if got := kernelFile(t, "memory", p, "cgroup.procs"); got != strconv.Itoa(h.Process.Pid) {
		t.Fatalf("after classify: cgroup.procs = %q, want the helper's pid %d", got, h.Process.Pid)
	}
	r := cgctl(t, "delete", p)
	if r.code != 1 || !strings.Contains(r.stderr, p) || !strings.Contains(r.stderr, "1 process(es) ("+strconv.Itoa(h.Process.Pid)+" cgtesthelper)") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("delete of a cgroup with a process: exit %d, stderr %q; want 1, one line naming the cgroup and the process", r.code, r.stderr)
	}
	if !exists("memory", p) || !exists("pids", p) || !exists("cpu", p) {
		t.Errorf("delete of a cgroup in use removed it from some controllers")
	}
	// Nor with -r through a child that holds the process.
	mustCgctl(t, "create", p+"/child")
	mustCgctl(t, "classify", p+"/child", strconv.Itoa(h.Process.Pid))
	if r := cgctl(t, "delete", "-r", p); r.code != 1 || !exists("memory", p+"/child") {
		t.Errorf("delete -r of a tree in use: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := syscall.Kill(h.Process.Pid, 0); err != nil {
		t.Errorf("the helper in the cgroup was harmed: %v", err)
	}
}

func TestCgctlFreezeThaw(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p)
	h := startHelper(t, "spin")
	mustCgctl(t, "classify", p, strconv.Itoa(h.Process.Pid))
	mustCgctl(t, "freeze", p)
	if got := kernelFile(t, "freezer", p, "freezer.state"); got != "FROZEN" {
		t.Errorf("after freeze: freezer.state = %s", got)
	}
	mustCgctl(t, "thaw", p)
	if got := kernelFile(t, "freezer", p, "freezer.state"); got != "THAWED" {
		t.Errorf("after thaw: freezer.state = %s", got)
	}
}

// lastJSONLine decodes the last line of exec's stderr, the --json summary.
func lastJSONLine(t *testing.T, stderr string) execSummary {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var s execSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("exec --json: last stderr line is not the summary: %v\n%s", err, stderr)
	}
	return s
}

func TestCgctlExecOOM(t *testing.T) {
	p := testCgroup(t)
	// memory-swap as well, so that with swap on the kernel cannot swap instead of killing.
	r := cgctl(t, "exec", "--name", p, "--json", "--memory", "32M", "--memory-swap", "32M", "--pids", "16",
		"--", helperBin, "alloc", "100")
	if r.code != 137 {
		t.Fatalf("exec over the memory limit: exit %d, want 137\nstderr: %s", r.code, r.stderr)
	}
	s := lastJSONLine(t, r.stderr)
	if s.OOMKills < 1 || s.Signal != "SIGKILL" || s.ExitStatus != 137 || !s.Deleted || s.Kept ||
		s.MemoryLimit != 32<<20 || s.MemoryPeak < 30<<20 || s.PidsLimit != 16 || s.PidsPeak < 1 {
		t.Errorf("summary: %+v", s)
	}
	if exists("memory", p) {
		t.Errorf("exec did not delete %s", p)
	}
	// The human summary says the same.
	r = cgctl(t, "exec", "--name", p, "--memory", "32M", "--memory-swap", "32M", "--", helperBin, "alloc", "100")
	if r.code != 137 || !strings.Contains(r.stderr, "killed by SIGKILL (status 137)") ||
		!strings.Contains(r.stderr, "oom:    1 OOM kill(s)") || !strings.Contains(r.stderr, "memory.limit_in_bytes=32.0M") {
		t.Errorf("exec summary: exit %d\n%s", r.code, r.stderr)
	}
}

func TestCgctlExecJoinsBeforeExec(t *testing.T) {
	p := testCgroup(t)
	// The command's very first view of itself must already be in the cgroup, in every controller.
	r := mustCgctl(t, "exec", "--name", p, "--cpus", "0.5", "-q", "--", "cat", "/proc/self/cgroup")
	for _, ctl := range []string{"memory", "cpu", "cpuset", "pids", "devices", "freezer", "blkio", "cpuacct"} {
		if !strings.Contains(r.stdout, ":"+ctl+":"+p+"\n") {
			t.Errorf("the command was not in %s %s when it started:\n%s", ctl, p, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("exec -q printed %q", r.stderr)
	}
	r = cgctl(t, "exec", "--name", p, "--", "sh", "-c", "exit 3")
	if r.code != 3 || !strings.Contains(r.stderr, "exit status 3") {
		t.Errorf("exec of a failing command: exit %d, stderr %q", r.code, r.stderr)
	}
	if exists("memory", p) {
		t.Errorf("exec did not delete %s", p)
	}
}

func TestCgctlExecKeepAndExisting(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "exec", "--name", p, "--keep", "--pids", "20", "-q", "--", "true")
	if got := kernelFile(t, "pids", p, "pids.max"); got != "20" {
		t.Fatalf("exec --keep: pids.max = %q", got)
	}
	// An existing cgroup is used, changed as asked, and not deleted, and the other processes in
	// it are left alone.
	h := startHelper(t, "sleep")
	mustCgctl(t, "classify", p, strconv.Itoa(h.Process.Pid))
	mustCgctl(t, "exec", "--name", p, "--pids", "30", "-q", "--", "true")
	if got := kernelFile(t, "pids", p, "pids.max"); got != "30" {
		t.Errorf("exec in an existing cgroup: pids.max = %q, want 30", got)
	}
	if err := syscall.Kill(h.Process.Pid, 0); err != nil {
		t.Errorf("exec in an existing cgroup killed a process it did not start: %v", err)
	}
}

func TestCgctlExecForwardsSIGTERM(t *testing.T) {
	p := testCgroup(t)
	cmd := exec.Command(cgctlBin, "exec", "--name", p, "--json", "--", helperBin, "sleep")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	// Wait until the helper runs in the cgroup (cgctl's stand-in has exec'd it).
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", p, "cgroup.procs"))
		if pid := strings.TrimSpace(string(b)); pid != "" && comm(atoi(pid)) == "cgtesthelper" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the helper did not start in %s: %s", p, errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("cgctl after SIGTERM: %v, want exit status 143\n%s", err, errb.String())
	}
	s := lastJSONLine(t, errb.String())
	if s.Signal != "SIGTERM" || !s.Deleted {
		t.Errorf("summary: %+v", s)
	}
	if exists("pids", p) {
		t.Errorf("exec did not delete %s after SIGTERM", p)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// libStat is the library's Stat of a cgroup, what ls and stat must agree with.
func libStat(t *testing.T, p string) *cgroups.Metrics {
	t.Helper()
	cg, err := cgroups.Load(cgroups.V1, cgroups.StaticPath(p))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cg.Stat(cgroups.IgnoreNotExist)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCgctlLsAndStatMatchLibrary(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p, "--memory", "64M", "--pids", "50", "--cpuset-cpus", "0")
	mustCgctl(t, "create", p+"/child", "--pids", "10")
	h := startHelper(t, "sleep")
	mustCgctl(t, "classify", p+"/child", strconv.Itoa(h.Process.Pid))
	want, wantChild := libStat(t, p), libStat(t, p+"/child")

	var entries []lsEntry
	if err := json.Unmarshal([]byte(mustCgctl(t, "ls", p, "--json", "--interval", "50ms").stdout), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Path != p || entries[1].Path != p+"/child" {
		t.Fatalf("ls --json: %+v", entries)
	}
	e, c := entries[0], entries[1]
	if e.MemoryLimit != int64(want.Memory.Usage.Limit) || e.PidsLimit != int64(want.Pids.Limit) ||
		e.PidsCurrent != want.Pids.Current || len(e.Procs) != 0 {
		t.Errorf("ls %s = %+v, library Stat: memory limit %d, pids %d/%d", p, e, want.Memory.Usage.Limit,
			want.Pids.Current, want.Pids.Limit)
	}
	if c.PidsLimit != 10 || c.PidsCurrent != wantChild.Pids.Current || c.MemoryLimit != -1 ||
		len(c.Procs) != 1 || c.Procs[0] != h.Process.Pid {
		t.Errorf("ls %s/child = %+v, library Stat pids %d", p, c, wantChild.Pids.Current)
	}
	text := mustCgctl(t, "ls", p, "-p").stdout
	if !strings.Contains(text, "└─ child") || !strings.Contains(text, fmt.Sprintf("· %d cgtesthelper", h.Process.Pid)) {
		t.Errorf("ls -p:\n%s", text)
	}

	var m cgroups.Metrics
	if err := json.Unmarshal([]byte(mustCgctl(t, "stat", p+"/child", "--json").stdout), &m); err != nil {
		t.Fatal(err)
	}
	if m.Pids == nil || *m.Pids != *wantChild.Pids || m.Memory == nil ||
		m.Memory.Usage.Limit != wantChild.Memory.Usage.Limit || m.Cpuset == nil || *m.Cpuset != *wantChild.Cpuset ||
		m.MemoryOomControl == nil || *m.MemoryOomControl != *wantChild.MemoryOomControl {
		got, _ := json.Marshal(&m)
		exp, _ := json.Marshal(wantChild)
		t.Errorf("stat --json:\n%s\nlibrary Stat:\n%s", got, exp)
	}
	text = mustCgctl(t, "stat", p).stdout
	for _, want := range []string{"pids.limit", "pids.current", "memory.usage.limit", "67108864", "cpuset.cpus"} {
		if !strings.Contains(text, want) {
			t.Errorf("stat table: no %q in\n%s", want, text)
		}
	}
}

func TestCgctlTopSnapshot(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p)
	h := startHelper(t, "spin")
	mustCgctl(t, "classify", p, strconv.Itoa(h.Process.Pid))
	r := mustCgctl(t, "top", p, "--delay", "300ms", "-n", "2")
	if strings.Count(r.stdout, "cgctl top:") != 2 || strings.Contains(r.stdout, "\x1b[") {
		t.Fatalf("top, not a terminal: want 2 plain snapshots:\n%q", r.stdout)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[4] == p {
			cpu, _ := strconv.ParseFloat(f[0], 64)
			if cpu < 10 || f[2] == "0" {
				t.Errorf("top row of a spinning helper: %q, want cpu%% >= 10 and its tasks counted", line)
			}
			return
		}
	}
	t.Errorf("top: no row for %s:\n%s", p, r.stdout)
}

func TestCgctlControllers(t *testing.T) {
	requireRootTest(t)
	var infos []controllerInfo
	if err := json.Unmarshal([]byte(mustCgctl(t, "lssubsys", "--json").stdout), &infos); err != nil {
		t.Fatal(err)
	}
	subs, _ := cgroups.V1()
	for _, s := range subs {
		name := string(s.Name())
		found := false
		for _, i := range infos {
			if i.Name == name || i.Name == "name="+name {
				found = true
				if i.Mount != dirOf(s, "/") {
					t.Errorf("controllers: %s mounted at %q, the library says %q", name, i.Mount, dirOf(s, "/"))
				}
			}
		}
		if !found {
			t.Errorf("controllers: %s missing from %+v", name, infos)
		}
	}
}

func TestCgctlUsageErrors(t *testing.T) {
	p := "/cgtest-usage-never-created"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: cgctl COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"create"}, "missing the cgroup PATH"},
		{[]string{"create", "/"}, "refusing to act on the root cgroup"},
		{[]string{"create", "/a/../b"}, "'..' is not allowed"},
		{[]string{"create", p, "extra"}, "unexpected arguments"},
		{[]string{"create", p, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"create", p, "--memory", "0"}, `invalid value "0" for flag -memory`},
		{[]string{"create", p, "--memory", "12Q"}, `invalid value "12Q" for flag -memory`},
		{[]string{"create", p, "--memory", "1G", "--memory-swap", "512M"}, "--memory-swap 512M is below --memory 1G"},
		{[]string{"create", p, "--cpus", "0.001"}, `invalid value "0.001" for flag -cpus`},
		{[]string{"create", p, "--cpus", "fast"}, `invalid value "fast" for flag -cpus`},
		{[]string{"create", p, "--cpu-shares", "1"}, "from 2 to 262144"},
		{[]string{"create", p, "--cpuset-cpus", "3-1"}, `invalid value "3-1" for flag -cpuset-cpus`},
		{[]string{"create", p, "--cpuset-mems", "a"}, `invalid value "a" for flag -cpuset-mems`},
		{[]string{"create", p, "--pids", "-5"}, `invalid value "-5" for flag -pids`},
		{[]string{"create", p, "--device-allow", "c 1 r"}, "MAJOR:MINOR needs a colon"},
		{[]string{"create", p, "--device-deny", "c 1:3 rwx"}, "access must be letters of rwm"},
		{[]string{"create", p, "--blkio-weight", "5000"}, "from 1 to 1000"},
		{[]string{"set", p}, "no limit given"},
		{[]string{"delete", p, p}, "unexpected arguments"},
		{[]string{"delete", "/"}, "refusing to act on the root cgroup"},
		{[]string{"get", p, "-r", "cgroup.procs"}, "name one, e.g. -r memory:cgroup.procs"},
		{[]string{"get", p, "-r", "../memory.stat"}, "invalid control file name"},
		{[]string{"classify", p}, "want a cgroup PATH and at least one PID"},
		{[]string{"classify", p, "12x"}, `invalid PID "12x"`},
		{[]string{"freeze"}, "missing the cgroup PATH"},
		{[]string{"exec", "--memory", "64M"}, "missing the command"},
		{[]string{"exec", "--name", "/", "--", "true"}, "refusing to act on the root cgroup"},
		{[]string{"exec", "--pids", "lots", "--", "true"}, `invalid value "lots" for flag -pids`},
		{[]string{"ls", "-d", "-1"}, "-d must be 0 or more"},
		{[]string{"stat"}, "missing the cgroup PATH"},
		{[]string{"top", "--sort", "name"}, `--sort "name"`},
		{[]string{"top", "--delay", "0s"}, "--delay 0s"},
		{[]string{"controllers", "extra"}, "unexpected arguments"},
		{[]string{"events"}, "missing the cgroup PATH"},
		{[]string{"events", p, "--count", "-1"}, "--count -1"},
		{[]string{"events", p, "--timeout", "-1s"}, "--timeout -1s"},
		{[]string{"events", p, "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{[]string{"events", p, "--threshold", "0"}, `invalid value "0" for flag -threshold`},
		{[]string{"events", p, "--threshold", "max"}, "a threshold must be a size"},
		{[]string{"events", p, "--threshold", "8M,swp"}, "want SIZE or SIZE,swap"},
		{[]string{"events", p, "--pressure", "huge"}, `level "huge": want low, medium or critical`},
		{[]string{"events", p, "--pressure", "low,everywhere"}, `mode "everywhere"`},
		{[]string{"events", p, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"stat", p, "--slice", "user.slice"}, "--slice user.slice needs --systemd"},
		{[]string{"exec", "--slice", "user.slice", "--", "true"}, "--slice user.slice needs --systemd"},
		{[]string{"create", "--systemd", "job.scope"}, "a scope cannot exist without a process"},
		{[]string{"create", "--systemd", "job"}, "a scope cannot exist without a process"},
		{[]string{"create", "--systemd", "name!.slice"}, "which systemd does not allow"},
		{[]string{"delete", "--systemd", "--slice", "user.slice", "/system.slice/a.scope"}, "not both"},
		{[]string{"exec", "--systemd", "--name", "batch.slice", "--", "true"}, "--name must name a scope"},
		{[]string{"exec", "--systemd", "--slice", "nodot", "--", "true"}, "does not end in .slice"},
	} {
		r := cgctl(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("cgctl %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
		if tc.args != nil && tc.args[0] != "frobnicate" {
			// One line with the reason, one pointing at the help.
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "--help") {
				t.Errorf("cgctl %s: stderr is not one error line and a help hint: %q", strings.Join(tc.args, " "), r.stderr)
			}
		}
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*" + p); len(left) > 0 {
		t.Errorf("a usage error created %v", left)
	}
}

func TestCgctlHelp(t *testing.T) {
	for _, cmd := range commands {
		for _, args := range [][]string{{cmd.name, "--help"}, {"help", cmd.name}} {
			r := cgctl(t, args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: cgctl "+cmd.name) || !strings.Contains(r.stdout, "example") {
				t.Errorf("cgctl %s: exit %d, stdout %q", strings.Join(args, " "), r.code, r.stdout)
			}
		}
	}
	r := cgctl(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Exit status: 0 ok, 1 error, 2 usage error") {
		t.Errorf("cgctl --help: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestCgctlParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"268435456": 268435456, "256M": 256 << 20, "256m": 256 << 20, "1.5G": 3 << 29, "512KiB": 512 << 10,
		"2gb": 2 << 30, "1T": 1 << 40, "max": -1, "-1": -1, "100b": 100,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "M", "1e9", "0x10", "12Q", "1.5", "+5", "99999999T", "NaNM"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestCgctlParseDeviceRule(t *testing.T) {
	r, err := parseDeviceRule("c 1:3 rw")
	if err != nil || r.Type != "c" || *r.Major != 1 || *r.Minor != 3 || r.Access != "rw" {
		t.Errorf("c 1:3 rw: %+v, %v", r, err)
	}
	r, err = parseDeviceRule("b *:* m")
	if err != nil || r.Type != "b" || r.Major != nil || r.Minor != nil || r.Access != "m" {
		t.Errorf("b *:* m: %+v, %v", r, err)
	}
	r, err = parseDeviceRule("a")
	if err != nil || r.Type != "a" || r.Access != "rwm" {
		t.Errorf("a: %+v, %v", r, err)
	}
	for _, in := range []string{"", "c", "x 1:3 r", "c 1:3 rr", "c 1-3 r", "c -1:3 r", "c 1:3 r extra"} {
		if _, err := parseDeviceRule(in); err == nil {
			t.Errorf("parseDeviceRule(%q): want an error", in)
		}
	}
}

func TestCgctlCheckList(t *testing.T) {
	for _, ok := range []string{"0", "0-3", "0-3,8,10-11"} {
		if err := checkList(ok); err != nil {
			t.Errorf("checkList(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "3-1", "a", "0,", "1-", "-1", "0 1"} {
		if err := checkList(bad); err == nil {
			t.Errorf("checkList(%q): want an error", bad)
		}
	}
}
