package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cgroupkit/cgroups"
	"golang.org/x/sys/unix"
)

// childArg makes cgctl run as the command's stand-in: it waits until the parent has put it into
// the cgroup, then execs the command, so that not one instruction of the command runs outside
// the cgroup's limits. Cgroup v1 cannot start a process directly in a cgroup (CLONE_INTO_CGROUP
// is v2 only), hence the two steps.
const childArg = "__cgctl_exec_in_cgroup"

// forwarded are the signals exec passes on to the command. SIGTSTP is not caught: Ctrl-Z stops
// cgctl and the command together, as the shell expects.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
	unix.SIGUSR2, unix.SIGALRM}

var execCmd = &command{
	name:     "exec",
	synopsis: "[--name PATH] [limits] [--keep] [--json] -- CMD [ARGS...]",
	short:    "run a command in a new cgroup with limits, then print what it used",
	long: `Creates a cgroup (PATH from --name, or a generated /cgctl-<pid>-<random>), applies the limits,
runs CMD in it and waits for it. The command joins the cgroup before it starts (cgctl starts a
copy of itself, moves it into the cgroup, then execs CMD), so no work escapes the limits. The
limits as the kernel reads them back are printed first, on stderr.

Signals INT, TERM, HUP, QUIT, USR1, USR2 and ALRM sent to cgctl are passed on to the command
(INT and QUIT only when cgctl is not in the terminal's foreground, where the terminal already
sent them to the command). When the command ends, a summary goes to stderr: peak memory, CPU
time, CFS throttling, OOM kills, peak number of tasks (--json: one JSON line instead). Then the
processes the command left in the cgroup are killed and the cgroup is deleted, unless --keep.

If --name names an existing cgroup, the command runs in it, the limits given are written to it,
and it is neither emptied nor deleted afterwards (cgctl did not create it); its counters then
include what other processes used.

Exit status: the command's; 128+N if signal N killed it (137 for the OOM killer's SIGKILL);
126 if CMD cannot be executed, 127 if it is not found; 1 if cgctl failed while the command
succeeded (for example the cgroup could not be deleted); 2 for a usage error.
` + limitsHelp + `
examples:
  cgctl exec --memory 64M --pids 32 -- sh -c 'echo hello from $(cat /proc/self/cgroup | grep memory)'
  cgctl exec --cpus 0.5 -- dd if=/dev/zero of=/dev/null bs=1M count=20000
  cgctl exec --name /batch/job1 --keep --memory 1G -- ./job.sh
  cgctl exec --json --memory 16M -- dd if=/dev/zero of=/dev/null bs=64M count=1   # OOM: exit 137`,
	run: runExec,
}

// execSummary is what exec reports when the command ends (--json prints it as one line).
type execSummary struct {
	Cgroup      string   `json:"cgroup"`
	Command     []string `json:"command"`
	ExitStatus  int      `json:"exit_status"`
	Signal      string   `json:"signal,omitempty"` // the signal that killed the command
	WallSeconds float64  `json:"wall_seconds"`

	MemoryPeak    uint64 `json:"memory_peak_bytes"`  // memory.max_usage_in_bytes
	MemoryLimit   int64  `json:"memory_limit_bytes"` // -1: none
	MemoryFailcnt uint64 `json:"memory_failcnt"`
	OOMKills      uint64 `json:"oom_kills"`  // memory.oom_control oom_kill, during the run
	OOMEvents     uint64 `json:"oom_events"` // the OOM eventfd's count

	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUUserSeconds   float64 `json:"cpu_user_seconds"`
	CPUSystemSeconds float64 `json:"cpu_system_seconds"`
	Periods          uint64  `json:"cfs_periods"`
	ThrottledPeriods uint64  `json:"cfs_throttled_periods"`
	ThrottledSeconds float64 `json:"cfs_throttled_seconds"`

	PidsPeak    uint64 `json:"pids_peak"`
	PidsLimit   int64  `json:"pids_limit"`   // -1: none
	PidsRefused uint64 `json:"pids_refused"` // forks refused by pids.max

	Kept    bool     `json:"kept"`
	Deleted bool     `json:"deleted"`
	Errors  []string `json:"errors,omitempty"`
}

func runExec(c *cli, args []string) error {
	fl := c.flags()
	var l limits
	l.register(fl)
	name := fl.String("name", "", "cgroup PATH to run in (default: a new /cgctl-<pid>-<random>)")
	keep := fl.Bool("keep", false, "keep the cgroup (and what the command left in it) afterwards")
	asJSON := fl.Bool("json", false, "print the summary as one JSON line on stderr")
	quiet := fl.Bool("q", false, "print nothing but errors (no limits line, no summary)")
	c.systemdFlags(fl)
	err := fl.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(c.stdout, fl)
		return err
	}
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	argv := fl.Args()
	if len(argv) == 0 {
		return usagef("missing the command: cgctl exec [flags] -- CMD [ARGS...]")
	}
	res, err := l.resources()
	if err != nil {
		return err
	}
	p := ""
	switch {
	case c.systemd:
		unit := *name
		if unit == "" {
			var rnd [4]byte
			if _, err := rand.Read(rnd[:]); err != nil {
				return err
			}
			unit = fmt.Sprintf("cgctl-%d-%s.scope", os.Getpid(), hex.EncodeToString(rnd[:]))
		}
		if p, err = c.unitPath(unit); err != nil {
			return err
		}
		if strings.HasSuffix(p, ".slice") {
			return usagef("unit %s: exec --systemd runs the command in a scope: --name must name a scope (NAME or NAME.scope), the slice goes in --slice", p)
		}
	case *name != "":
		if c.slice != "" {
			return usagef("--slice %s needs --systemd", c.slice)
		}
		if p, err = parseCgroupPath(*name, false); err != nil {
			return err
		}
	case c.slice != "":
		return usagef("--slice %s needs --systemd", c.slice)
	}
	if err := requireRoot(); err != nil {
		return err
	}
	if _, err := c.subsystems(); err != nil {
		return err
	}
	// Resolve the command before any cgroup exists: a typo changes nothing.
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "cgctl exec: %v\n", err)
		if errors.Is(err, fs.ErrPermission) {
			return exitStatus(126)
		}
		return exitStatus(127)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find cgctl's own executable to start the command: %w", err)
	}

	// From here on signals are caught, so that a signal at any point still cleans up.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	created := true
	if p == "" {
		var rnd [4]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return err
		}
		p = fmt.Sprintf("/cgctl-%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	}
	// With --systemd a new scope is only registered here: it starts, with the limits as unit
	// properties, when the command's stand-in is added to it (a scope needs a process).
	var cg cgroups.Cgroup
	existing, err := cgroups.Load(c.hierarchy, cgroups.StaticPath(p))
	switch {
	case err == nil:
		created, cg = false, existing
		if !l.empty() {
			if err := cg.Update(res); err != nil {
				return fmt.Errorf("cgroup %s: %w", p, err)
			}
		}
	case c.systemd && !errors.Is(err, cgroups.ErrCgroupDeleted):
		return systemdError(p, err)
	default:
		if cg, err = cgroups.New(c.hierarchy, cgroups.StaticPath(p), res); err != nil {
			return fmt.Errorf("cgroup %s: %w", p, err)
		}
	}

	r := &execRun{c: c, cg: cg, sum: execSummary{Cgroup: p, Command: argv, ExitStatus: -1}, quiet: *quiet || *asJSON, created: created}
	status := r.run(bin, self, sigs)
	switch {
	case *keep || !created:
		r.sum.Kept = true
		if !*quiet && !*asJSON {
			fmt.Fprintf(c.stderr, "cgctl: kept cgroup %s\n", p)
		}
	default:
		if err := r.remove(); err != nil {
			r.fail(err)
		} else {
			r.sum.Deleted = true
		}
	}
	if *asJSON {
		b, _ := json.Marshal(&r.sum)
		fmt.Fprintf(c.stderr, "%s\n", b)
	}
	if status == 0 && len(r.sum.Errors) > 0 {
		return exitStatus(exitError)
	}
	return exitStatus(status)
}

// execRun is one exec: the cgroup, and the summary being filled in.
type execRun struct {
	c       *cli
	cg      cgroups.Cgroup
	sum     execSummary
	quiet   bool
	created bool

	keeper     *exec.Cmd // see startKeeper
	keeperPipe *os.File
}

// keeperArg makes cgctl a keeper: a process that only waits until its fd 3 is closed.
const keeperArg = "__cgctl_keep_scope"

// startKeeper keeps a new systemd scope active after the command has ended, so that its
// counters (memory peak, OOM kills, pids peak) can still be read for the summary: systemd stops
// a scope, and removes its cgroups, as soon as it has no process. The keeper joins the scope
// only in the hierarchies systemd watches for emptiness (name=systemd and the unified one),
// never in the resource controllers, so it is not counted in any limit or statistic. It exits
// when cgctl closes its pipe, or dies.
func (r *execRun) startKeeper(self string) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return
	}
	cmd := exec.Command(self, keeperArg)
	cmd.ExtraFiles = []*os.File{rd}
	err = cmd.Start()
	rd.Close()
	if err != nil {
		wr.Close()
		return
	}
	r.keeper, r.keeperPipe = cmd, wr
	pid := []byte(strconv.Itoa(cmd.Process.Pid))
	for _, h := range []string{"systemd", "unified"} {
		_ = os.WriteFile(filepath.Join("/sys/fs/cgroup", h, r.sum.Cgroup, "cgroup.procs"), pid, 0)
	}
}

// releaseKeeper lets the keeper exit and waits for it (bounded: it is killed after 2 s).
func (r *execRun) releaseKeeper() {
	if r.keeper == nil {
		return
	}
	r.keeperPipe.Close()
	done := make(chan struct{})
	go func() {
		_ = r.keeper.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = r.keeper.Process.Kill()
		<-done
	}
	r.keeper = nil
}

// keep is the keeper's side: wait until the pipe on fd 3 is closed.
func keep() int {
	f := os.NewFile(3, "keep")
	if f == nil {
		return exitUsage
	}
	var b [1]byte
	for {
		if _, err := f.Read(b[:]); err != nil {
			return exitOK
		}
	}
}

// fail records an error of cgctl itself (not of the command) and prints it at once.
func (r *execRun) fail(err error) {
	msg := oneLine(err.Error())
	r.sum.Errors = append(r.sum.Errors, msg)
	fmt.Fprintf(r.c.stderr, "cgctl exec: %s\n", msg)
}

func (r *execRun) run(bin, self string, sigs <-chan os.Signal) int {
	p := r.sum.Cgroup
	before, _ := r.cg.Stat(cgroups.IgnoreNotExist)
	// Once the stand-in is in the cgroup (a systemd scope exists only from then on) and before
	// the command starts: the limits line, and the OOM registration, so no OOM slips by unseen.
	efd := -1
	defer func() {
		if efd >= 0 {
			unix.Close(efd)
		}
	}()
	ready := func() {
		if !r.quiet {
			fmt.Fprintf(r.c.stderr, "cgctl: running %s in cgroup %s: %s\n", quoteArgv(r.sum.Command), p, r.limitsLine())
		}
		if fd, err := r.cg.OOMEventFD(); err == nil {
			efd = int(fd)
		}
	}

	start := time.Now()
	cmd, err := r.start(bin, self, ready)
	if err != nil {
		if !r.c.systemd {
			err = fmt.Errorf("cgroup %s: %w", p, err)
		}
		r.fail(err)
		return exitError
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
wait:
	for {
		select {
		case <-done:
			break wait
		case s := <-sigs:
			if (s == unix.SIGINT || s == unix.SIGQUIT) && inTerminalForeground() {
				continue // the terminal sent it to the command too
			}
			_ = cmd.Process.Signal(s)
		}
	}
	r.sum.WallSeconds = time.Since(start).Seconds()
	status := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		status = 128 + int(ws.Signal())
		r.sum.Signal = unix.SignalName(ws.Signal())
	}
	r.sum.ExitStatus = status

	m, err := r.cg.Stat(cgroups.IgnoreNotExist)
	if err != nil {
		r.fail(fmt.Errorf("cgroup %s: stat: %w", p, err))
	}
	if efd >= 0 {
		r.sum.OOMEvents = eventCount(efd)
	}
	r.releaseKeeper()
	r.fill(before, m)
	if !r.quiet {
		r.printSummary()
	}
	return status
}

// start starts the command in the cgroup: a copy of cgctl is started, moved into the cgroup, and
// only then told (through a pipe on its fd 3) to exec the command.
func (r *execRun) start(bin, self string, ready func()) (*exec.Cmd, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer wr.Close()
	cmd := exec.Command(self, append([]string{childArg, bin}, r.sum.Command...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{rd}
	err = cmd.Start()
	rd.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", self, err)
	}
	if err := r.cg.Add(cgroups.Process{Pid: cmd.Process.Pid}); err != nil {
		wr.Close() // unwritten: the child exits without running the command
		_ = cmd.Wait()
		if r.c.systemd {
			return nil, systemdError(r.sum.Cgroup, fmt.Errorf("start the scope with pid %d: %w", cmd.Process.Pid, err))
		}
		return nil, fmt.Errorf("add pid %d: %w", cmd.Process.Pid, err)
	}
	if r.c.systemd && r.created {
		r.startKeeper(self)
	}
	ready()
	if _, err := wr.Write([]byte{1}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("release the command: %w", err)
	}
	return cmd, nil
}

// execInCgroup is the child side of start: wait for the parent's go, then become the command.
func execInCgroup(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "cgctl: internal mode: want a binary and its argv")
		return exitUsage
	}
	sync := os.NewFile(3, "sync")
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 {
		return exitError // the parent could not move us into the cgroup and says so
	}
	sync.Close()
	err := unix.Exec(args[0], args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "cgctl exec: exec %s: %v\n", args[0], err)
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}

// inTerminalForeground reports whether cgctl's process group is the foreground group of the
// terminal on stdin: then a Ctrl-C reached the command directly.
func inTerminalForeground() bool {
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// limitsLine says the limits of the cgroup as the kernel reads them back.
func (r *execRun) limitsLine() string {
	dirs := map[string]string{}
	for _, s := range r.cg.Subsystems() {
		if d := dirOf(s, r.sum.Cgroup); d != "" {
			dirs[string(s.Name())] = d
		}
	}
	st := readSettings(dirs)
	var parts []string
	if st.Memory != nil && *st.Memory >= 0 {
		parts = append(parts, "memory.limit_in_bytes="+humanBytes(uint64(*st.Memory)))
	}
	if st.MemorySwap != nil && *st.MemorySwap >= 0 {
		parts = append(parts, "memory.memsw.limit_in_bytes="+humanBytes(uint64(*st.MemorySwap)))
	}
	if st.CPUs != nil && *st.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("cpus=%g", *st.CPUs))
	}
	if st.CPUShares != nil && *st.CPUShares != 1024 {
		parts = append(parts, fmt.Sprintf("cpu.shares=%d", *st.CPUShares))
	}
	if st.Pids != nil && *st.Pids >= 0 {
		parts = append(parts, fmt.Sprintf("pids.max=%d", *st.Pids))
	}
	// The cpuset is shown when it is narrower than the root's (every cgroup has one).
	if rootCpus, ok := readTrim(rootDir(r.cg, "cpuset"), "cpuset.cpus"); st.CpusetCpus != nil && ok && *st.CpusetCpus != rootCpus {
		parts = append(parts, "cpuset.cpus="+*st.CpusetCpus)
	}
	if rootMems, ok := readTrim(rootDir(r.cg, "cpuset"), "cpuset.mems"); st.CpusetMems != nil && ok && *st.CpusetMems != rootMems {
		parts = append(parts, "cpuset.mems="+*st.CpusetMems)
	}
	if len(st.Devices) > 0 && !(len(st.Devices) == 1 && st.Devices[0] == "a *:* rwm") {
		parts = append(parts, "devices="+strings.Join(st.Devices, ","))
	}
	if len(parts) == 0 {
		return "no limits"
	}
	return strings.Join(parts, " ")
}

// rootDir is the mount point of a controller of cg ("" if it has none).
func rootDir(cg cgroups.Cgroup, name string) string {
	for _, s := range cg.Subsystems() {
		if string(s.Name()) == name {
			return dirOf(s, "/")
		}
	}
	return ""
}

// fill copies what the summary reports from the cgroup's stats after the run (and before it,
// for the counters an existing cgroup already had).
func (r *execRun) fill(before, m *cgroups.Metrics) {
	s := &r.sum
	s.MemoryLimit, s.PidsLimit = -1, -1
	if m == nil {
		return
	}
	if mem := m.Memory; mem != nil && mem.Usage != nil {
		s.MemoryPeak, s.MemoryFailcnt = mem.Usage.Max, mem.Usage.Failcnt
		if mem.Usage.Limit < unlimitedBytes {
			s.MemoryLimit = int64(mem.Usage.Limit)
		}
	}
	if o := m.MemoryOomControl; o != nil {
		s.OOMKills = o.OomKill
		if before != nil && before.MemoryOomControl != nil && before.MemoryOomControl.OomKill <= o.OomKill {
			s.OOMKills -= before.MemoryOomControl.OomKill
		}
	}
	if cpu := m.CPU; cpu != nil {
		if u := cpu.Usage; u != nil {
			s.CPUSeconds, s.CPUUserSeconds, s.CPUSystemSeconds = float64(u.Total)/1e9, float64(u.User)/1e9, float64(u.Kernel)/1e9
		}
		if t := cpu.Throttling; t != nil {
			s.Periods, s.ThrottledPeriods, s.ThrottledSeconds = t.Periods, t.ThrottledPeriods, float64(t.ThrottledTime)/1e9
		}
	}
	if pids := m.Pids; pids != nil {
		s.PidsPeak, s.PidsRefused = pids.Peak, pids.Events
		if pids.Limit > 0 {
			s.PidsLimit = int64(pids.Limit)
		}
	}
}

func (r *execRun) printSummary() {
	s := &r.sum
	w := r.c.stderr
	how := fmt.Sprintf("exit status %d", s.ExitStatus)
	if s.Signal != "" {
		how = fmt.Sprintf("killed by %s (status %d)", s.Signal, s.ExitStatus)
	}
	fmt.Fprintf(w, "cgctl: %s in cgroup %s: %s after %.2fs\n", quoteArgv(s.Command), s.Cgroup, how, s.WallSeconds)
	limit := "no limit"
	if s.MemoryLimit >= 0 {
		limit = "limit " + humanBytes(uint64(s.MemoryLimit))
	}
	fmt.Fprintf(w, "  memory: peak %s (%s), failcnt %d\n", humanBytes(s.MemoryPeak), limit, s.MemoryFailcnt)
	fmt.Fprintf(w, "  cpu:    %.3fs (user %.3fs, system %.3fs), throttled in %d of %d periods (%.3fs)\n",
		s.CPUSeconds, s.CPUUserSeconds, s.CPUSystemSeconds, s.ThrottledPeriods, s.Periods, s.ThrottledSeconds)
	fmt.Fprintf(w, "  oom:    %d OOM kill(s), %d OOM event(s)\n", s.OOMKills, s.OOMEvents)
	plimit := "no limit"
	if s.PidsLimit >= 0 {
		plimit = fmt.Sprintf("limit %d", s.PidsLimit)
	}
	fmt.Fprintf(w, "  pids:   peak %d (%s), %d fork(s) refused\n", s.PidsPeak, plimit, s.PidsRefused)
}

// eventCount returns the eventfd's counter without blocking (0 if nothing was signalled).
func eventCount(efd int) uint64 {
	fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return 0
	}
	var b [8]byte
	if _, err := unix.Read(efd, b[:]); err != nil {
		return 0
	}
	return binary.NativeEndian.Uint64(b[:])
}

// remove kills what the command left in the cgroup (background children) and deletes it. It is
// only called for a cgroup exec created. The cgroup is frozen, when it has a freezer, while its
// processes are listed and killed, so none can fork in between. Every step is bounded.
func (r *execRun) remove() error {
	for i := 0; i < 50; i++ {
		if len(members(r.cg)) == 0 {
			break
		}
		frozen := r.cg.Freeze() == nil
		for _, pid := range members(r.cg) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if frozen {
			_ = r.cg.Thaw()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.cg.Delete(); err != nil {
		return fmt.Errorf("cgroup %s: %w", r.sum.Cgroup, err)
	}
	return nil
}

// members lists the processes of the cgroup and its descendants in any controller.
func members(cg cgroups.Cgroup) []int {
	seen := map[int]bool{}
	var out []int
	for _, s := range cg.Subsystems() {
		procs, err := cg.Processes(s.Name(), true)
		if err != nil {
			continue
		}
		for _, p := range procs {
			if !seen[p.Pid] {
				seen[p.Pid] = true
				out = append(out, p.Pid)
			}
		}
	}
	return out
}

// quoteArgv shows a command line for a message.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}!#~") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}
