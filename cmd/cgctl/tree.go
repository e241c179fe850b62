package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cgroupkit/cgroups"
)

// node is one cgroup of a tree walk: its path and the controllers it exists in.
type node struct {
	path        string
	depth       int // below the walk's base
	controllers []string
	dirs        map[string]string // controller -> directory
}

// walkTree returns base and its descendants, up to maxDepth levels below base (0: no limit), as
// the union of the controllers' trees (in cgroup v1 each controller has its own), in pre-order
// sorted by name. Directories that vanish during the walk are skipped.
func walkTree(subs []cgroups.Subsystem, base string, maxDepth int) []*node {
	byPath := map[string]*node{}
	for _, s := range subs {
		dir := dirOf(s, base)
		if dir == "" {
			continue
		}
		name := string(s.Name())
		_ = filepath.WalkDir(dir, func(d string, e fs.DirEntry, err error) error {
			if err != nil {
				if d == dir {
					return err
				}
				return nil
			}
			if !e.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(dir, d)
			p := base
			depth := 0
			if rel != "." {
				p = path.Join(base, filepath.ToSlash(rel))
				depth = strings.Count(rel, "/") + 1
			}
			if maxDepth > 0 && depth > maxDepth {
				return filepath.SkipDir
			}
			n := byPath[p]
			if n == nil {
				n = &node{path: p, depth: depth, dirs: map[string]string{}}
				byPath[p] = n
			}
			n.controllers = append(n.controllers, name)
			n.dirs[name] = d
			return nil
		})
	}
	out := make([]*node, 0, len(byPath))
	for _, n := range byPath {
		sort.Strings(n.controllers)
		out = append(out, n)
	}
	// Pre-order: sorting the paths with "/" below every other byte puts children right after
	// their parent.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.Slice(out, func(i, j int) bool { return key(out[i].path) < key(out[j].path) })
	return out
}

// readProcs returns the processes of a node, the union over its controllers.
func readProcs(n *node) []int {
	seen := map[int]bool{}
	var out []int
	for _, ctl := range n.controllers {
		b, err := os.ReadFile(filepath.Join(n.dirs[ctl], "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	sort.Ints(out)
	return out
}

// cpuUsage reads cpuacct.usage of a node (ns), for the cpu% between two reads.
func cpuUsage(n *node) (uint64, bool) {
	dir, ok := n.dirs["cpuacct"]
	if !ok {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// cachedHierarchy reads the mounts once for a whole walk.
func (c *cli) cachedHierarchy() ([]cgroups.Subsystem, cgroups.Hierarchy, error) {
	subs, err := c.subsystems()
	if err != nil {
		return nil, nil, err
	}
	return subs, func() ([]cgroups.Subsystem, error) { return subs, nil }, nil
}

// statNode reads a node's metrics through the library (nil if it vanished).
func statNode(h cgroups.Hierarchy, p string) *cgroups.Metrics {
	cg, err := cgroups.Load(h, cgroups.StaticPath(p))
	if err != nil {
		return nil
	}
	m, _ := cg.Stat(cgroups.IgnoreNotExist)
	return m
}

var lsCmd = &command{
	name:     "ls",
	synopsis: "[PATH] [-p] [-d DEPTH] [--interval D] [--json]",
	short:    "tree of cgroups with processes, memory, cpu% and pids",
	long: `Prints the tree of cgroups below PATH (default /), the union of the trees of all mounted
controllers, with per cgroup: the number of processes (-p: each process with its command name),
memory usage and limit, CPU use in percent of one CPU over --interval, and the number of tasks
and their limit. The values come from the library's Stat. With --json, a list of objects in tree
order.

examples:
  cgctl ls
  cgctl ls /batch -p
  cgctl ls -d 1 --json`,
	run: runLs,
}

// lsEntry is one cgroup as ls --json prints it. Limits are -1 when there is none.
type lsEntry struct {
	Path        string   `json:"path"`
	Controllers []string `json:"controllers"`
	Procs       []int    `json:"procs"`
	MemoryUsage uint64   `json:"memory_usage_bytes"`
	MemoryLimit int64    `json:"memory_limit_bytes"`
	CPUUsage    uint64   `json:"cpu_usage_ns"`
	CPUPercent  float64  `json:"cpu_percent"`
	PidsCurrent uint64   `json:"pids_current"`
	PidsLimit   int64    `json:"pids_limit"`
	depth       int
}

func runLs(c *cli, args []string) error {
	fl := c.flags()
	showProcs := fl.Bool("p", false, "list each process (pid and command) under its cgroup")
	depth := fl.Int("d", 0, "show at most this many levels below PATH (0: all)")
	interval := fl.Duration("interval", 200*time.Millisecond, "sample CPU use over this long (0: no cpu%)")
	asJSON := fl.Bool("json", false, "print JSON")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	base := "/"
	if len(pos) > 0 {
		if base, err = onePath(pos, true); err != nil {
			return err
		}
	}
	if *depth < 0 || *interval < 0 || *interval > time.Minute {
		return usagef("-d must be 0 or more and --interval 0 to 1m")
	}
	subs, h, err := c.cachedHierarchy()
	if err != nil {
		return err
	}
	nodes := walkTree(subs, base, *depth)
	if len(nodes) == 0 {
		return fmt.Errorf("cgroup %s: does not exist in any mounted controller", base)
	}
	entries := sampleTree(h, nodes, *interval)
	if *asJSON {
		return writeJSON(c.stdout, entries)
	}
	w := newTable(c.stdout)
	w.row("CGROUP", "PROCS", "MEMORY", "MEM-LIMIT", "CPU%", "PIDS", "PIDS-LIMIT")
	for i, e := range entries {
		name := treeName(entries, i, base)
		cpu := "-"
		if *interval > 0 {
			cpu = fmt.Sprintf("%.1f", e.CPUPercent)
		}
		w.row(name, strconv.Itoa(len(e.Procs)), humanBytes(e.MemoryUsage), limitBytes(e.MemoryLimit), cpu,
			strconv.FormatUint(e.PidsCurrent, 10), limitCount(e.PidsLimit))
		if *showProcs {
			indent := strings.Repeat("  ", e.depth+1)
			for _, pid := range e.Procs {
				w.row(fmt.Sprintf("%s· %d %s", indent, pid, comm(pid)), "", "", "", "", "", "")
			}
		}
	}
	return w.flush()
}

// sampleTree reads every node twice, interval apart, for the CPU use in between.
func sampleTree(h cgroups.Hierarchy, nodes []*node, interval time.Duration) []*lsEntry {
	first := make([]uint64, len(nodes))
	start := time.Now()
	if interval > 0 {
		for i, n := range nodes {
			first[i], _ = cpuUsage(n)
		}
		time.Sleep(interval)
	}
	elapsed := time.Since(start)
	entries := make([]*lsEntry, 0, len(nodes))
	for i, n := range nodes {
		e := &lsEntry{Path: n.path, Controllers: n.controllers, Procs: readProcs(n), MemoryLimit: -1, PidsLimit: -1, depth: n.depth}
		if e.Procs == nil {
			e.Procs = []int{}
		}
		if m := statNode(h, n.path); m != nil {
			fillEntry(e, m)
		}
		if interval > 0 && e.CPUUsage >= first[i] && first[i] > 0 {
			e.CPUPercent = float64(e.CPUUsage-first[i]) / float64(elapsed.Nanoseconds()) * 100
		}
		entries = append(entries, e)
	}
	return entries
}

func fillEntry(e *lsEntry, m *cgroups.Metrics) {
	if mem := m.Memory; mem != nil && mem.Usage != nil {
		e.MemoryUsage = mem.Usage.Usage
		if mem.Usage.Limit > 0 && mem.Usage.Limit < unlimitedBytes {
			e.MemoryLimit = int64(mem.Usage.Limit)
		}
	}
	if cpu := m.CPU; cpu != nil && cpu.Usage != nil {
		e.CPUUsage = cpu.Usage.Total
	}
	if p := m.Pids; p != nil {
		e.PidsCurrent = p.Current
		if p.Limit > 0 {
			e.PidsLimit = int64(p.Limit)
		}
	}
}

// treeName draws entry i as a tree branch: the last path element, indented under its parent.
func treeName(entries []*lsEntry, i int, base string) string {
	e := entries[i]
	if e.depth == 0 {
		return e.Path
	}
	// Is there a later sibling (same parent) at this depth? Then ├─, else └─.
	last := true
	for _, o := range entries[i+1:] {
		if o.depth < e.depth {
			break
		}
		if o.depth == e.depth {
			last = false
			break
		}
	}
	branch := "├─ "
	if last {
		branch = "└─ "
	}
	return strings.Repeat("   ", e.depth-1) + branch + path.Base(e.Path)
}

func limitBytes(v int64) string {
	if v < 0 {
		return "max"
	}
	return humanBytes(uint64(v))
}

func limitCount(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// comm is a process's command name, or "?" if it is gone.
func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

var controllersCmd = &command{
	name:     "controllers",
	synopsis: "[--json]",
	short:    "list the controllers and their mount points (alias lssubsys)",
	long: `Lists the cgroup v1 controllers the kernel has (/proc/cgroups), with their hierarchy id, the
number of cgroups, whether they are enabled, and where each is mounted in this mount namespace
(co-mounted controllers share a mount point; "-" is not mounted). Named hierarchies such as
name=systemd are listed too.

examples:
  cgctl controllers
  cgctl lssubsys --json`,
	run: runControllers,
}

// controllerInfo is one line of controllers.
type controllerInfo struct {
	Name      string `json:"name"`
	Hierarchy int    `json:"hierarchy"`
	Cgroups   int    `json:"cgroups"`
	Enabled   bool   `json:"enabled"`
	Mount     string `json:"mount,omitempty"`
}

func runControllers(c *cli, args []string) error {
	fl := c.flags()
	asJSON := fl.Bool("json", false, "print JSON")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments: %s", strings.Join(pos, " "))
	}
	mounts := map[string]string{}
	if subs, err := c.hierarchy(); err == nil {
		for _, s := range subs {
			mounts[string(s.Name())] = dirOf(s, "/")
		}
	}
	var infos []controllerInfo
	f, err := os.Open("/proc/cgroups")
	if err != nil {
		return fmt.Errorf("read /proc/cgroups: %w", unwrapPathError(err))
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := map[string]bool{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		h, _ := strconv.Atoi(fields[1])
		n, _ := strconv.Atoi(fields[2])
		infos = append(infos, controllerInfo{Name: fields[0], Hierarchy: h, Cgroups: n, Enabled: fields[3] == "1", Mount: mounts[fields[0]]})
		seen[fields[0]] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read /proc/cgroups: %w", err)
	}
	var named []string
	for name := range mounts {
		if !seen[name] {
			named = append(named, name)
		}
	}
	sort.Strings(named)
	for _, name := range named {
		infos = append(infos, controllerInfo{Name: "name=" + name, Enabled: true, Mount: mounts[name]})
	}
	if *asJSON {
		return writeJSON(c.stdout, infos)
	}
	w := newTable(c.stdout)
	w.row("CONTROLLER", "HIERARCHY", "CGROUPS", "ENABLED", "MOUNT")
	for _, i := range infos {
		mount, h, n := i.Mount, strconv.Itoa(i.Hierarchy), strconv.Itoa(i.Cgroups)
		if mount == "" {
			mount = "-"
		}
		if strings.HasPrefix(i.Name, "name=") {
			h, n = "-", "-"
		}
		w.row(i.Name, h, n, strconv.FormatBool(i.Enabled), mount)
	}
	return w.flush()
}

var statCmd = &command{
	name:     "stat",
	synopsis: "PATH [--json]",
	short:    "print a cgroup's statistics (the library's Metrics)",
	long: `Reads every statistic of the cgroup PATH through the library's Stat (files a kernel lacks are
skipped) and prints them as a table of dotted names and values, or with --json as the Metrics
JSON (containerd's field names and tags, plus the added fields).

examples:
  cgctl stat /batch/job1
  cgctl stat /batch/job1 --json | jq .memory.usage`,
	run: runStat,
}

func runStat(c *cli, args []string) error {
	fl := c.flags()
	asJSON := fl.Bool("json", false, "print the Metrics as JSON")
	c.systemdFlags(fl)
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	p, err := c.onePath(pos, true)
	if err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}
	m, err := cg.Stat(cgroups.IgnoreNotExist)
	if err != nil && m == nil {
		return fmt.Errorf("cgroup %s: %w", p, err)
	}
	if *asJSON {
		if werr := writeJSON(c.stdout, m); werr != nil {
			return werr
		}
	} else {
		w := newTable(c.stdout)
		flatten(reflect.ValueOf(m), "", func(k, v string) { w.row(k, v) })
		if werr := w.flush(); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: some statistics could not be read: %w", p, err)
	}
	return nil
}

// flatten walks a Metrics value and calls emit for every leaf of the controllers that were read
// (nil sub-structs are skipped) with its dotted JSON name: memory.usage.max, blkio.io_service_bytes_recursive[8:0 Read], hugetlb[2MB].usage.
func flatten(v reflect.Value, prefix string, emit func(k, v string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			flatten(v.Elem(), prefix, emit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = strings.ToLower(f.Name)
			}
			// Identifying fields are in the element's [label], not repeated as leaves.
			if name == "op" || name == "device" || name == "major" || name == "minor" || name == "pagesize" {
				continue
			}
			k := name
			if prefix != "" {
				k = prefix + "." + name
			}
			flatten(v.Field(i), k, emit)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint64 { // per-CPU lists
			var parts []string
			for i := 0; i < v.Len(); i++ {
				parts = append(parts, strconv.FormatUint(v.Index(i).Uint(), 10))
			}
			if len(parts) > 0 {
				emit(prefix, strings.Join(parts, " "))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			flatten(v.Index(i), prefix+"["+elemLabel(v.Index(i), i)+"]", emit)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			flatten(v.MapIndex(k), prefix+"."+k.String(), emit)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		emit(prefix, strconv.FormatUint(v.Uint(), 10))
	case reflect.Int, reflect.Int64:
		emit(prefix, strconv.FormatInt(v.Int(), 10))
	case reflect.String:
		emit(prefix, v.String())
	}
}

// elemLabel names a list element by what identifies it: the device and op of a blkio entry, the
// page size of a hugetlb entry, the device of an rdma entry; else its index.
func elemLabel(v reflect.Value, i int) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return strconv.Itoa(i)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return strconv.Itoa(i)
	}
	var parts []string
	if f := v.FieldByName("Major"); f.IsValid() {
		parts = append(parts, fmt.Sprintf("%d:%d", f.Uint(), v.FieldByName("Minor").Uint()))
	}
	for _, name := range []string{"Device", "Op", "Pagesize"} {
		if f := v.FieldByName(name); f.IsValid() && f.String() != "" {
			parts = append(parts, f.String())
		}
	}
	if len(parts) == 0 {
		return strconv.Itoa(i)
	}
	return strings.Join(parts, " ")
}
