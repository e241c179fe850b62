package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cgroupkit/cgroups"
)

var createCmd = &command{
	name:     "create",
	synopsis: "PATH [limits]",
	short:    "create a cgroup in every mounted controller, with limits",
	long: `Creates the cgroup PATH (relative to each controller's mount, e.g. /batch/job1) in every
mounted cgroup v1 controller and applies the limits given. Missing parents are created too. It
fails if PATH already exists: use 'cgctl set' to change an existing cgroup. If a limit cannot be
applied, what was created is removed again.
` + limitsHelp + `
examples:
  cgctl create /batch
  cgctl create /batch/job1 --memory 1G --memory-swap 1G --cpus 1.5 --pids 200
  cgctl create /sandbox --device-deny a --device-allow "c 1:3 rwm" --device-allow "c 1:5 rwm"`,
	run: runCreate,
}

func runCreate(c *cli, args []string) error {
	fs := c.flags()
	var l limits
	l.register(fs)
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, false)
	if err != nil {
		return err
	}
	if c.systemd && !strings.HasSuffix(p, ".slice") {
		return usagef("unit %s: a scope cannot exist without a process: create a .slice, or run a command in a new scope with 'cgctl exec --systemd'", p)
	}
	res, err := l.resources()
	if err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	if _, err := c.subsystems(); err != nil {
		return err
	}
	_, err = cgroups.Load(c.hierarchy, cgroups.StaticPath(p))
	if err == nil {
		return fmt.Errorf("cgroup %s: already exists (use 'cgctl set' to change its limits)", p)
	}
	if c.systemd && !errors.Is(err, cgroups.ErrCgroupDeleted) {
		return systemdError(p, err)
	}
	if _, err := cgroups.New(c.hierarchy, cgroups.StaticPath(p), res); err != nil {
		if c.systemd {
			return systemdError(p, err)
		}
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	return nil
}

var setCmd = &command{
	name:     "set",
	synopsis: "PATH limits...",
	short:    "change the limits of an existing cgroup",
	long: `Writes the limits given to the existing cgroup PATH; the others are left as they are.
Values are checked before anything is written. A memory limit below what the cgroup uses fails
with the kernel's EBUSY (the error says the usage).
` + limitsHelp + `
examples:
  cgctl set /batch/job1 --memory 2G --memory-swap 2G
  cgctl set /batch/job1 --cpus max --pids max
  cgctl set /batch/job1 --cpuset-cpus 0-1 --cpuset-mems 0`,
	run: runSet,
}

func runSet(c *cli, args []string) error {
	fs := c.flags()
	var l limits
	l.register(fs)
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, false)
	if err != nil {
		return err
	}
	if l.empty() {
		return usagef("no limit given: nothing to set (see the limits in 'cgctl set --help')")
	}
	res, err := l.resources()
	if err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}
	if err := cg.Update(res); err != nil {
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	return nil
}

var deleteCmd = &command{
	name:     "delete",
	synopsis: "[-r] PATH",
	short:    "delete a cgroup (-r: with its descendants, bottom-up)",
	long: `Deletes the cgroup PATH from every controller it exists in. Without -r it refuses a cgroup
that has child cgroups; with -r the descendants are removed first, deepest first. A cgroup that
still has processes is not deleted (move or kill them first): the error says how many.

examples:
  cgctl delete /batch/job1
  cgctl delete -r /batch`,
	run: runDelete,
}

func runDelete(c *cli, args []string) error {
	fs := c.flags()
	recursive := fs.Bool("r", false, "also delete the descendants of PATH, bottom-up")
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, false)
	if err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}
	if c.systemd {
		// Stopping the unit is systemctl stop: systemd kills its processes and removes its
		// cgroups (a scope is never empty, so refusing one with processes would refuse all).
		if err := cg.Delete(); err != nil {
			return systemdError(p, err)
		}
		return nil
	}
	if !*recursive {
		for _, s := range cg.Subsystems() {
			dir := dirOf(s, p)
			if dir == "" {
				continue
			}
			if kids := childDirs(dir); len(kids) > 0 {
				return fmt.Errorf("cgroup %s: has child cgroups in %s (%s): use 'cgctl delete -r' to delete them too",
					p, dir, strings.Join(kids, ", "))
			}
		}
	}
	// Checked first, so that a cgroup in use is left whole rather than deleted in some
	// controllers (or with some of its children) and not in others.
	if pids := members(cg); len(pids) > 0 {
		return fmt.Errorf("cgroup %s: not deleted: it or a descendant still has %d process(es) (%s): move or kill them first (cgctl ls %s -p)",
			p, len(pids), pidList(pids), p)
	}
	if err := cg.Delete(); err != nil {
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	return nil
}

// pidList shows up to five pids, with their command names.
func pidList(pids []int) string {
	var parts []string
	for i, pid := range pids {
		if i == 5 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", pid, comm(pid)))
	}
	return strings.Join(parts, ", ")
}

// childDirs lists the child cgroups of a cgroup directory.
func childDirs(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

var getCmd = &command{
	name:     "get",
	synopsis: "PATH [-r FILE]... [--json]",
	short:    "show a cgroup's limits (typed), or raw control files",
	long: `Without -r, prints the limits of the cgroup PATH as cgctl's flags name them, each with the
control file it comes from: memory, memory-swap, cpus, cpu-shares, cpuset-cpus, cpuset-mems, pids,
blkio-weight, devices, and the freezer state. With --json they are typed values: numbers in bytes,
CPUs, counts; -1 means no limit.

With -r FILE (repeatable) it prints the raw content of control files instead. The controller is
the file's prefix (memory.stat is in memory); files every controller has (cgroup.procs, tasks)
need the controller named: -r pids:cgroup.procs.

examples:
  cgctl get /batch/job1
  cgctl get /batch/job1 --json
  cgctl get /batch/job1 -r memory.limit_in_bytes -r cpu.shares
  cgctl get /batch/job1 -r memory:cgroup.procs`,
	run: runGet,
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (f *stringsFlag) String() string { return strings.Join(*f, ",") }

func (f *stringsFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}

func runGet(c *cli, args []string) error {
	fs := c.flags()
	var raw stringsFlag
	fs.Var(&raw, "r", "print the raw content of this control file (repeatable; CONTROLLER:FILE for shared files)")
	asJSON := fs.Bool("json", false, "print JSON")
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, true)
	if err != nil {
		return err
	}
	if c.systemd {
		if _, err := c.load(p); err != nil {
			return err
		}
	}
	type fileRef struct{ controller, file, arg string }
	var refs []fileRef
	for _, r := range raw {
		ctl, file, ok := strings.Cut(r, ":")
		if !ok {
			file = r
			ctl, _, _ = strings.Cut(r, ".")
		}
		if file == "" || file == "." || file == ".." || strings.ContainsAny(file, "/\x00\n") {
			return usagef("invalid control file name %q", r)
		}
		if !ok && (file == "tasks" || strings.HasPrefix(file, "cgroup.") || file == "notify_on_release") {
			return usagef("%s is in every controller: name one, e.g. -r memory:%s", file, file)
		}
		refs = append(refs, fileRef{ctl, file, r})
	}
	subs, err := c.subsystems()
	if err != nil {
		return err
	}
	dirs := map[string]string{} // controller -> directory of p
	for _, s := range subs {
		if d := dirOf(s, p); d != "" {
			if _, err := os.Stat(d); err == nil {
				dirs[string(s.Name())] = d
			}
		}
	}
	if len(dirs) == 0 {
		return fmt.Errorf("cgroup %s: does not exist in any mounted controller", p)
	}
	if len(refs) == 0 {
		return c.printSettings(p, dirs, *asJSON)
	}
	values := map[string]string{}
	var order []string
	for _, r := range refs {
		dir, ok := dirs[r.controller]
		if !ok {
			return fmt.Errorf("cgroup %s: file %s: controller %q is not mounted or the cgroup is not in it", p, r.file, r.controller)
		}
		b, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			return fmt.Errorf("cgroup %s: read %s: %w", p, filepath.Join(dir, r.file), unwrapPathError(err))
		}
		values[r.arg] = strings.TrimRight(string(b), "\n")
		order = append(order, r.arg)
	}
	if *asJSON {
		return writeJSON(c.stdout, values)
	}
	for _, k := range order {
		fmt.Fprintf(c.stdout, "%s: %s\n", k, strings.ReplaceAll(values[k], "\n", "\n\t"))
	}
	return nil
}

// unwrapPathError drops the path of an *fs.PathError whose path the message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// settings is what get prints: typed values, -1 for no limit, absent when not available.
type settings struct {
	Memory       *int64   `json:"memory,omitempty"`
	MemorySwap   *int64   `json:"memory_swap,omitempty"`
	CPUs         *float64 `json:"cpus,omitempty"` // -1: no quota
	CPUShares    *uint64  `json:"cpu_shares,omitempty"`
	CpusetCpus   *string  `json:"cpuset_cpus,omitempty"`
	CpusetMems   *string  `json:"cpuset_mems,omitempty"`
	Pids         *int64   `json:"pids,omitempty"`
	BlkioWeight  *uint64  `json:"blkio_weight,omitempty"`
	Devices      []string `json:"devices,omitempty"`
	FreezerState *string  `json:"freezer_state,omitempty"`
}

// unlimitedBytes: the v1 memory controller reports "no limit" as the largest page-aligned
// counter, 9223372036854771712 on 4 KiB pages; anything from 2^62 up is treated as none.
const unlimitedBytes = 1 << 62

func readTrim(dir, file string) (string, bool) {
	if dir == "" {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func readInt(dir, file string) (int64, bool) {
	s, ok := readTrim(dir, file)
	if !ok {
		return 0, false
	}
	if s == "max" {
		return -1, true
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		if u >= unlimitedBytes {
			return -1, true
		}
		return int64(u), true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func readSettings(dirs map[string]string) *settings {
	var st settings
	if v, ok := readInt(dirs["memory"], "memory.limit_in_bytes"); ok {
		st.Memory = &v
	}
	if v, ok := readInt(dirs["memory"], "memory.memsw.limit_in_bytes"); ok {
		st.MemorySwap = &v
	}
	q, okq := readInt(dirs["cpu"], "cpu.cfs_quota_us")
	per, okp := readInt(dirs["cpu"], "cpu.cfs_period_us")
	if okq && okp && per > 0 {
		cpus := -1.0
		if q > 0 {
			cpus = float64(q) / float64(per)
		}
		st.CPUs = &cpus
	}
	if v, ok := readInt(dirs["cpu"], "cpu.shares"); ok && v >= 0 {
		u := uint64(v)
		st.CPUShares = &u
	}
	if v, ok := readTrim(dirs["cpuset"], "cpuset.cpus"); ok {
		st.CpusetCpus = &v
	}
	if v, ok := readTrim(dirs["cpuset"], "cpuset.mems"); ok {
		st.CpusetMems = &v
	}
	if v, ok := readInt(dirs["pids"], "pids.max"); ok {
		st.Pids = &v
	}
	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if s, ok := readTrim(dirs["blkio"], f); ok {
			// blkio.bfq.weight reads "default 100"; blkio.weight a number.
			fields := strings.Fields(s)
			if len(fields) > 0 {
				if u, err := strconv.ParseUint(fields[len(fields)-1], 10, 64); err == nil {
					st.BlkioWeight = &u
					break
				}
			}
		}
	}
	if s, ok := readTrim(dirs["devices"], "devices.list"); ok && s != "" {
		st.Devices = strings.Split(s, "\n")
	}
	if s, ok := readTrim(dirs["freezer"], "freezer.state"); ok {
		st.FreezerState = &s
	}
	return &st
}

func (c *cli) printSettings(p string, dirs map[string]string, asJSON bool) error {
	st := readSettings(dirs)
	if asJSON {
		return writeJSON(c.stdout, st)
	}
	w := newTable(c.stdout)
	w.row("SETTING", "VALUE", "FILE")
	limit := func(v int64) string {
		if v < 0 {
			return "max"
		}
		return humanBytes(uint64(v))
	}
	if st.Memory != nil {
		w.row("memory", limit(*st.Memory), "memory.limit_in_bytes")
	}
	if st.MemorySwap != nil {
		w.row("memory-swap", limit(*st.MemorySwap), "memory.memsw.limit_in_bytes")
	}
	if st.CPUs != nil {
		v := "max"
		if *st.CPUs > 0 {
			v = strconv.FormatFloat(*st.CPUs, 'f', -1, 64)
		}
		w.row("cpus", v, "cpu.cfs_quota_us / cpu.cfs_period_us")
	}
	if st.CPUShares != nil {
		w.row("cpu-shares", strconv.FormatUint(*st.CPUShares, 10), "cpu.shares")
	}
	if st.CpusetCpus != nil {
		w.row("cpuset-cpus", *st.CpusetCpus, "cpuset.cpus")
	}
	if st.CpusetMems != nil {
		w.row("cpuset-mems", *st.CpusetMems, "cpuset.mems")
	}
	if st.Pids != nil {
		v := "max"
		if *st.Pids >= 0 {
			v = strconv.FormatInt(*st.Pids, 10)
		}
		w.row("pids", v, "pids.max")
	}
	if st.BlkioWeight != nil {
		w.row("blkio-weight", strconv.FormatUint(*st.BlkioWeight, 10), "blkio.weight")
	}
	for i, d := range st.Devices {
		name := ""
		if i == 0 {
			name = "devices"
		}
		w.row(name, d, "devices.list")
	}
	if st.FreezerState != nil {
		w.row("freezer", *st.FreezerState, "freezer.state")
	}
	return w.flush()
}

var classifyCmd = &command{
	name:     "classify",
	synopsis: "PATH PID...",
	short:    "move processes into a cgroup",
	long: `Moves each process PID (all its threads) into the cgroup PATH, in every controller the
cgroup exists in. The cgroup must exist.

examples:
  cgctl classify /batch/job1 1234
  cgctl classify /batch/job1 $(pgrep -f worker)`,
	run: runClassify,
}

func runClassify(c *cli, args []string) error {
	fs := c.flags()
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("want a cgroup PATH and at least one PID")
	}
	p, err := c.onePath(pos[:1], true)
	if err != nil {
		return err
	}
	var pids []int
	for _, a := range pos[1:] {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 || strings.HasPrefix(a, "+") {
			return usagef("invalid PID %q: want a positive process id", a)
		}
		pids = append(pids, n)
	}
	if err := requireRoot(); err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := cg.Add(cgroups.Process{Pid: pid}); err != nil {
			return fmt.Errorf("cgroup %s: add pid %d: %w", p, pid, err)
		}
	}
	return nil
}

var freezeCmd = &command{
	name:     "freeze",
	synopsis: "PATH",
	short:    "freeze every process of a cgroup (freezer)",
	long: `Freezes the processes of the cgroup PATH and its descendants through the freezer
controller, and waits (bounded) until the kernel reports FROZEN. On a timeout the cgroup is left
thawed and cgctl exits 1.

examples:
  cgctl freeze /batch/job1
  cgctl get /batch/job1 -r freezer.state`,
	run: func(c *cli, args []string) error { return runFreeze(c, args, true) },
}

var thawCmd = &command{
	name:     "thaw",
	synopsis: "PATH",
	short:    "thaw a frozen cgroup",
	long: `Thaws the processes of the cgroup PATH (freezer controller).

example:
  cgctl thaw /batch/job1`,
	run: func(c *cli, args []string) error { return runFreeze(c, args, false) },
}

func runFreeze(c *cli, args []string, freeze bool) error {
	fs := c.flags()
	c.systemdFlags(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, false)
	if err != nil {
		return err
	}
	if err := requireRoot(); err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}
	if freeze {
		err = cg.Freeze()
	} else {
		err = cg.Thaw()
	}
	if errors.Is(err, cgroups.ErrFreezerNotSupported) {
		return fmt.Errorf("cgroup %s: the freezer controller is not mounted, or the cgroup is not in it", p)
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	return nil
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
