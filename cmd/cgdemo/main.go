// Command cgdemo shows the library's main job from start to end, on the real cgroup v1
// hierarchies of this machine: it creates a uniquely named cgroup with a memory limit, a pids
// limit, CPU shares and a CPU quota, runs a command inside it, prints the limits as the kernel
// reports them and the cgroup's statistics while and after the command runs, reports whether the
// OOM eventfd fired, and deletes the cgroup again, also when the command fails or cgdemo is
// interrupted. It must run as root.
//
//	cgdemo [--memory 64M] [--pids 32] [--cpus 0.5] [--shares 512] [--json] [-- command args...]
//
// The exit status is the command's (128+N if a signal N killed it). It is 1 instead when cgdemo
// itself failed while the command did not: the cgroup could not be created or deleted, a limit
// does not read back as asked, or the stats could not be read. 2 is a usage error, 127 a
// command that is not found.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cgroupkit/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// childArg makes cgdemo run as the command's stand-in: it waits until the parent has put it
// into the cgroup and then execs the command, so that not a single instruction of the command
// runs outside the cgroup's limits. Cgroup v1 has no way to start a process directly in a
// cgroup (CLONE_INTO_CGROUP is v2 only), hence this two-step start.
const childArg = "__cgdemo_exec_in_cgroup"

// defaultCommand runs when no command is given: it exists on every Debian system, fills a
// 16 MiB buffer (memory usage) and copies 8 GiB from /dev/zero (CPU time, throttled by the
// quota).
var defaultCommand = []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=16M", "count=512"}

const cfsPeriod = 100000 // microseconds: the kernel's default CFS period

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(execInCgroup(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

// options are the command line of cgdemo.
type options struct {
	memory   int64 // bytes, 0: no limit
	pids     int64 // 0: no limit
	cpus     float64
	shares   uint64
	json     bool
	interval time.Duration
	command  []string
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("cgdemo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	memory := fs.String("memory", "64M", "memory limit (bytes, or with a K, M or G suffix, powers of 1024); 0 or max: no limit")
	fs.Int64Var(&o.pids, "pids", 32, "maximum number of processes and threads; 0: no limit")
	fs.Float64Var(&o.cpus, "cpus", 0.5, "CPU quota in CPUs (0.5 = half of one CPU per 100 ms period); 0: no quota")
	fs.Uint64Var(&o.shares, "shares", 512, "CPU shares (relative weight, 2 to 262144); 0: leave the default")
	fs.BoolVar(&o.json, "json", false, "print one JSON report on stdout (the command's stdout then goes to stderr)")
	fs.DurationVar(&o.interval, "interval", 500*time.Millisecond, "print a stats line this often while the command runs; 0: never")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: cgdemo [flags] [-- command [args...]]   (as root)\n\n"+
			"Creates a cgroup with limits, runs the command in it, prints the limits and stats, and\n"+
			"deletes the cgroup. The default command is: %s\n\nflags:\n", strings.Join(defaultCommand, " "))
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nexamples:\n"+
			"  cgdemo\n"+
			"  cgdemo --json -- sh -c 'echo hello; sleep 1'\n"+
			"  cgdemo --memory 16M -- dd if=/dev/zero of=/dev/null bs=64M count=1   (OOM kill)\n")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	if o.memory, err = parseSize(*memory); err != nil {
		return nil, err
	}
	if o.pids < 0 {
		return nil, fmt.Errorf("invalid --pids %d: must be 0 (no limit) or more", o.pids)
	}
	if o.cpus < 0 || (o.cpus > 0 && o.cpus*cfsPeriod < 1000) {
		return nil, fmt.Errorf("invalid --cpus %g: must be 0 (no quota) or at least 0.01 (the kernel's minimum quota is 1 ms)", o.cpus)
	}
	if o.shares != 0 && (o.shares < 2 || o.shares > 262144) {
		return nil, fmt.Errorf("invalid --shares %d: the kernel accepts 2 to 262144", o.shares)
	}
	if o.interval < 0 {
		return nil, fmt.Errorf("invalid --interval %s: must not be negative", o.interval)
	}
	o.command = fs.Args()
	if len(o.command) == 0 {
		o.command = defaultCommand
	}
	return o, nil
}

// parseSize reads a byte count such as 67108864, 64M, 64MiB or 1g. The suffixes are powers of
// 1024, as in docker's --memory.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "max" || t == "0" {
		return 0, nil
	}
	digits, mult := splitUnit(t)
	n, err := strconv.ParseInt(strings.TrimSpace(digits), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid --memory %q: want a positive byte count such as 67108864, 64M or 1G, or max", s)
	}
	return n * mult, nil
}

// splitUnit cuts a unit suffix off a lower-case size and returns its multiplier.
func splitUnit(t string) (string, int64) {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"kb", 1 << 10}, {"k", 1 << 10},
		{"mib", 1 << 20}, {"mb", 1 << 20}, {"m", 1 << 20},
		{"gib", 1 << 30}, {"gb", 1 << 30}, {"g", 1 << 30},
		{"b", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			return strings.TrimSuffix(t, u.suffix), u.mult
		}
	}
	return t, 1
}

// resources turns the options into the OCI resources that New applies.
func (o *options) resources() *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if o.memory > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &o.memory}
	}
	if o.pids > 0 {
		r.Pids = &specs.LinuxPids{Limit: &o.pids}
	}
	if o.shares > 0 || o.cpus > 0 {
		r.CPU = &specs.LinuxCPU{}
		if o.shares > 0 {
			r.CPU.Shares = &o.shares
		}
		if o.cpus > 0 {
			quota, period := int64(o.cpus*cfsPeriod), uint64(cfsPeriod)
			r.CPU.Quota, r.CPU.Period = &quota, &period
		}
	}
	return r
}

// expected returns the values the control files must read back for the limits asked for.
func (o *options) expected() map[string]string {
	w := map[string]string{}
	if o.memory > 0 {
		// The kernel rounds the limit down to whole pages.
		page := int64(os.Getpagesize())
		w["memory.limit_in_bytes"] = strconv.FormatInt(o.memory/page*page, 10)
	}
	if o.pids > 0 {
		w["pids.max"] = strconv.FormatInt(o.pids, 10)
	}
	if o.shares > 0 {
		w["cpu.shares"] = strconv.FormatUint(o.shares, 10)
	}
	if o.cpus > 0 {
		w["cpu.cfs_quota_us"] = strconv.FormatInt(int64(o.cpus*cfsPeriod), 10)
		w["cpu.cfs_period_us"] = strconv.Itoa(cfsPeriod)
	}
	return w
}

// report is what --json prints: everything the human-readable lines say.
type report struct {
	Cgroup     string            `json:"cgroup"`
	Command    []string          `json:"command"`
	Paths      map[string]string `json:"paths"`
	Limits     map[string]string `json:"limits"`
	Stats      *cgroups.Metrics  `json:"stats,omitempty"`
	OOMEvents  uint64            `json:"oom_events"`
	OOMFired   bool              `json:"oom_fired"`
	ExitStatus int               `json:"exit_status"` // the command's; -1 if it did not run
	Deleted    bool              `json:"deleted"`
	Errors     []string          `json:"errors,omitempty"`
}

// demo is one run: where messages go, and what has been learnt so far.
type demo struct {
	opts   *options
	out    io.Writer // the human-readable report
	errOut io.Writer
	rep    report
}

func (d *demo) logf(format string, args ...any) {
	if !d.opts.json {
		fmt.Fprintf(d.out, "cgdemo: "+format+"\n", args...)
	}
}

// fail records an error of cgdemo itself (not of the command) and prints it.
func (d *demo) fail(err error) {
	d.rep.Errors = append(d.rep.Errors, err.Error())
	fmt.Fprintf(d.errOut, "cgdemo: %v\n", err)
}

func run(args []string) int {
	opts, err := parseOptions(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "cgdemo: %v\n", err)
		return 2
	}
	d := &demo{opts: opts, out: os.Stdout, errOut: os.Stderr}
	d.rep.ExitStatus = -1
	status := d.run()
	if opts.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&d.rep); err != nil {
			fmt.Fprintf(os.Stderr, "cgdemo: %v\n", err)
			return 1
		}
	}
	return status
}

func (d *demo) run() int {
	if os.Geteuid() != 0 {
		d.fail(errors.New("must run as root: it creates cgroups under /sys/fs/cgroup"))
		return 1
	}
	// Resolve the command first: a typo should fail before any cgroup exists.
	bin, err := exec.LookPath(d.opts.command[0])
	if err != nil {
		d.fail(err) // names the command already
		return 127
	}
	self, err := os.Executable()
	if err != nil {
		d.fail(fmt.Errorf("cannot find cgdemo's own executable to start the command: %w", err))
		return 1
	}

	// Signals are caught from here on, so that Ctrl-C at any point still deletes the cgroup.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer signal.Stop(sigs)

	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		d.fail(err)
		return 1
	}
	name := fmt.Sprintf("/cgdemo-%d-%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	d.rep.Cgroup, d.rep.Command = name, d.opts.command
	cg, err := cgroups.New(cgroups.V1, cgroups.StaticPath(name), d.opts.resources())
	if err != nil {
		if errors.Is(err, cgroups.ErrMountPointNotExist) {
			err = fmt.Errorf("%w (this machine has no cgroup v1 hierarchy; the library is for cgroup v1)", err)
		}
		d.fail(fmt.Errorf("create cgroup %s: %w", name, err))
		return 1
	}
	d.logf("created cgroup %s", name)
	status := d.runIn(cg, bin, self, sigs)
	d.rep.ExitStatus = status
	if err := d.remove(cg); err != nil {
		d.fail(err)
	} else {
		d.rep.Deleted = true
		d.logf("deleted cgroup %s", name)
	}
	if status == 0 && len(d.rep.Errors) > 0 {
		// The command succeeded but the library did not do its job: say so in the status.
		return 1
	}
	return status
}

// runIn runs the command in cg and reports on it. It returns the exit status.
func (d *demo) runIn(cg cgroups.Cgroup, bin, self string, sigs <-chan os.Signal) int {
	d.readLimits(cg)

	// Register before the command starts, so no OOM can slip by unseen.
	efd := -1
	if fd, err := cg.OOMEventFD(); err != nil {
		d.fail(fmt.Errorf("register the OOM eventfd (OOMs will not be reported): %w", err))
	} else {
		efd = int(fd)
		defer unix.Close(efd)
	}

	select {
	case s := <-sigs:
		d.fail(fmt.Errorf("interrupted by %v before the command started", s))
		return 128 + int(s.(syscall.Signal))
	default:
	}

	cmd, err := d.start(cg, bin, self)
	if err != nil {
		d.fail(err)
		return 1
	}
	d.logf("started %s (pid %d) in the cgroup", strings.Join(d.opts.command, " "), cmd.Process.Pid)

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var tick <-chan time.Time
	if d.opts.interval > 0 && !d.opts.json {
		t := time.NewTicker(d.opts.interval)
		defer t.Stop()
		tick = t.C
	}
	signalled := false
wait:
	for {
		select {
		case <-done:
			break wait
		case s := <-sigs:
			// Pass the first signal on so the command can exit cleanly; a second one kills it.
			if !signalled {
				d.logf("got %v: passing it on to the command (again to kill it)", s)
				_ = cmd.Process.Signal(s)
				signalled = true
			} else {
				_ = cmd.Process.Kill()
			}
		case <-tick:
			m, err := cg.Stat(cgroups.IgnoreNotExist)
			if m != nil {
				d.logf("running: %s", summary(m))
			}
			if err != nil {
				d.logf("stat: %v", err)
			}
		}
	}
	status := exitStatus(cmd.ProcessState)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		d.logf("command killed by signal %d (%v): status %d", ws.Signal(), ws.Signal(), status)
	} else {
		d.logf("command exited with status %d", status)
	}

	m, err := cg.Stat(cgroups.IgnoreNotExist)
	if err != nil {
		d.fail(fmt.Errorf("stat: %w", err))
	}
	d.rep.Stats = m
	if efd >= 0 {
		// Read it now: the kernel also signals the eventfd once when the cgroup is removed.
		d.rep.OOMEvents, err = eventCount(efd)
		if err != nil {
			d.fail(fmt.Errorf("read the OOM eventfd: %w", err))
		}
		d.rep.OOMFired = d.rep.OOMEvents > 0
	}
	d.printFinal(m, efd >= 0)
	return status
}

// start starts the command in cg: cgdemo starts a copy of itself, puts it into the cgroup, and
// only then lets it exec the command.
func (d *demo) start(cg cgroups.Cgroup, bin, self string) (*exec.Cmd, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	cmd := exec.Command(self, append([]string{childArg, bin}, d.opts.command...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if d.opts.json {
		cmd.Stdout = os.Stderr // stdout carries only the JSON report
	}
	cmd.ExtraFiles = []*os.File{r} // fd 3 in the child
	err = cmd.Start()
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", self, err)
	}
	if err := cg.Add(cgroups.Process{Pid: cmd.Process.Pid}); err != nil {
		// Closing the pipe unwritten makes the child exit without running the command.
		w.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("add pid %d to the cgroup: %w", cmd.Process.Pid, err)
	}
	if _, err := w.Write([]byte{1}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("release the command: %w", err)
	}
	return cmd, nil
}

// execInCgroup is the child side of start: wait for the parent's go, then become the command.
func execInCgroup(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "cgdemo: internal mode: want a binary and its argv")
		return 2
	}
	sync := os.NewFile(3, "sync")
	var b [1]byte
	if n, _ := sync.Read(b[:]); n != 1 {
		return 125 // the parent could not put us into the cgroup and said so already
	}
	sync.Close()
	err := unix.Exec(args[0], args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "cgdemo: exec %s: %v\n", args[0], err)
	return 126
}

// readLimits prints the limits as the kernel reports them, read back from the control files.
func (d *demo) readLimits(cg cgroups.Cgroup) {
	d.rep.Paths, d.rep.Limits = map[string]string{}, map[string]string{}
	files := map[cgroups.Name][]string{
		cgroups.Memory: {"memory.limit_in_bytes"},
		cgroups.Pids:   {"pids.max"},
		cgroups.Cpu:    {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"},
	}
	want := d.opts.expected()
	for _, s := range cg.Subsystems() {
		p, ok := s.(interface{ Path(string) string })
		if !ok {
			continue
		}
		dir := p.Path(d.rep.Cgroup)
		d.rep.Paths[string(s.Name())] = dir
		for _, f := range files[s.Name()] {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				d.fail(fmt.Errorf("read back %s: %w", f, err))
				continue
			}
			v := strings.TrimSpace(string(b))
			d.rep.Limits[f] = v
			d.logf("limit %-22s = %s%s", f, v, explain(f, v))
			if w, ok := want[f]; ok && w != v {
				d.fail(fmt.Errorf("the kernel reports %s = %s, but %s was asked for", f, v, w))
			}
		}
	}
	for _, want := range []cgroups.Name{cgroups.Memory, cgroups.Pids, cgroups.Cpu} {
		if _, ok := d.rep.Paths[string(want)]; !ok {
			d.fail(fmt.Errorf("the %s controller is not mounted: its limit is not applied", want))
		}
	}
}

// explain adds a readable form to a limit's raw value.
func explain(file, v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return ""
	case file == "memory.limit_in_bytes":
		if n >= 1<<62 {
			return " (no limit)"
		}
		return " (" + bytes(uint64(n)) + ")"
	case file == "cpu.cfs_quota_us" && n < 0:
		return " (no quota)"
	case file == "cpu.cfs_quota_us":
		return fmt.Sprintf(" (%.0f%% of one CPU per period)", float64(n)*100/cfsPeriod)
	}
	return ""
}

// summary is one line of the stats that matter here.
func summary(m *cgroups.Metrics) string {
	var parts []string
	if mem := m.Memory; mem != nil && mem.Usage != nil {
		parts = append(parts, fmt.Sprintf("memory %s (max %s)", bytes(mem.Usage.Usage), bytes(mem.Usage.Max)))
	}
	if p := m.Pids; p != nil {
		parts = append(parts, fmt.Sprintf("pids %d", p.Current))
	}
	if c := m.CPU; c != nil && c.Usage != nil {
		s := "cpu " + seconds(c.Usage.Total)
		if t := c.Throttling; t != nil && t.Periods > 0 {
			s += fmt.Sprintf(", throttled %d/%d periods", t.ThrottledPeriods, t.Periods)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no statistics (the controllers report none)"
	}
	return strings.Join(parts, " | ")
}

func (d *demo) printFinal(m *cgroups.Metrics, haveOOM bool) {
	if d.opts.json {
		return
	}
	if m == nil {
		m = &cgroups.Metrics{}
	}
	d.logf("stats of %s after the command:", d.rep.Cgroup)
	if mem := m.Memory; mem != nil && mem.Usage != nil {
		d.logf("  memory: usage %s, max usage %s, limit %s, failcnt %d", bytes(mem.Usage.Usage),
			bytes(mem.Usage.Max), bytes(mem.Usage.Limit), mem.Usage.Failcnt)
	} else {
		d.logf("  memory: no statistics")
	}
	if p := m.Pids; p != nil {
		limit := "max"
		if p.Limit > 0 {
			limit = strconv.FormatUint(p.Limit, 10)
		}
		d.logf("  pids:   current %d, limit %s", p.Current, limit)
	} else {
		d.logf("  pids:   no statistics")
	}
	if c := m.CPU; c != nil && c.Usage != nil && c.Usage.Total > 0 {
		d.logf("  cpu:    %s in total (user %s, system %s)", seconds(c.Usage.Total),
			seconds(c.Usage.User), seconds(c.Usage.Kernel))
		if t := c.Throttling; t != nil {
			d.logf("  cpu:    throttled in %d of %d periods, for %s", t.ThrottledPeriods, t.Periods,
				seconds(t.ThrottledTime))
		}
	} else {
		d.logf("  cpu:    no statistics")
	}
	oomKills := ""
	if o := m.MemoryOomControl; o != nil {
		oomKills = fmt.Sprintf(" (memory.oom_control: oom_kill %d)", o.OomKill)
	}
	switch {
	case !haveOOM:
		d.logf("  oom:    unknown, no eventfd%s", oomKills)
	case d.rep.OOMFired:
		d.logf("  oom:    the OOM eventfd fired (%d event(s))%s", d.rep.OOMEvents, oomKills)
	default:
		d.logf("  oom:    the OOM eventfd did not fire%s", oomKills)
	}
}

// eventCount returns the eventfd's counter without blocking (0 if nothing was signalled).
func eventCount(efd int) (uint64, error) {
	fds := []unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil || n == 0 {
		return 0, err
	}
	var b [8]byte
	if _, err := unix.Read(efd, b[:]); err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// remove kills whatever the command left in the cgroup (background children) and deletes it.
// The cgroup is frozen while its processes are listed and killed, when it has a freezer, so none
// can fork or exit and have its pid reused in between. Every step is bounded.
func (d *demo) remove(cg cgroups.Cgroup) error {
	for i := 0; i < 50; i++ {
		if len(members(cg)) == 0 {
			break
		}
		frozen := cg.Freeze() == nil
		pids := members(cg)
		if i == 0 {
			d.logf("killing %d process(es) left in the cgroup", len(pids))
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if frozen {
			_ = cg.Thaw()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cg.Delete(); err != nil {
		return fmt.Errorf("delete cgroup %s: %w", d.rep.Cgroup, err)
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

func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func bytes(n uint64) string {
	switch {
	case n >= 1<<62:
		return "max"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func seconds(ns uint64) string {
	return fmt.Sprintf("%.3f s", float64(ns)/1e9)
}
