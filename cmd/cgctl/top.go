package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cgroupkit/cgroups"
	"golang.org/x/sys/unix"
)

var topCmd = &command{
	name:     "top",
	synopsis: "[PATH] [--sort cpu|mem|pids|io] [--delay D] [-n N] [--depth N] [--limit N]",
	short:    "live view of the busiest cgroups: cpu%, memory, pids, io",
	long: `Shows the cgroups below PATH (default /, at most --depth levels down) sorted by CPU use,
memory, number of tasks or block IO rate, refreshed every --delay, like top. On a terminal the
keys c, m, p and i change the sort order and q quits (so do Ctrl-C and -n N refreshes). When
stdout is not a terminal, it prints plain snapshots instead (one by default, -n N for more), each
measured over --delay. At most --limit rows are shown (0: as many as fit, or all when not on a
terminal).

CPU% is in percent of one CPU (200 is two CPUs busy); MEMORY is memory.usage_in_bytes; IO/s is
the bytes per second read and written (blkio).

examples:
  cgctl top
  cgctl top --sort mem --depth 1
  cgctl top /batch -n 3 --delay 2s > snapshots.txt`,
	run: runTop,
}

// topRow is one cgroup in a top view.
type topRow struct {
	path     string
	cpuPct   float64
	mem      uint64
	pids     uint64
	ioRate   float64 // bytes/s
	cpuTotal uint64
	ioTotal  uint64
}

type topOpts struct {
	base   string
	sortBy string
	delay  time.Duration
	n      int
	depth  int
	limit  int
	hier   cgroups.Hierarchy
	subs   []cgroups.Subsystem
	prevAt time.Time
	prev   map[string]*topRow
}

func runTop(c *cli, args []string) error {
	fl := c.flags()
	o := &topOpts{}
	fl.StringVar(&o.sortBy, "sort", "cpu", "sort by cpu, mem, pids or io")
	fl.DurationVar(&o.delay, "delay", time.Second, "time between refreshes (and the measuring interval)")
	fl.IntVar(&o.n, "n", 0, "stop after N refreshes (0: until q on a terminal, 1 otherwise)")
	fl.IntVar(&o.depth, "depth", 3, "show cgroups at most this many levels below PATH (0: all)")
	fl.IntVar(&o.limit, "limit", 0, "show at most N cgroups (0: what fits the terminal, all otherwise)")
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	o.base = "/"
	if len(pos) > 0 {
		if o.base, err = onePath(pos, true); err != nil {
			return err
		}
	}
	switch o.sortBy {
	case "cpu", "mem", "pids", "io":
	default:
		return usagef("--sort %q: want cpu, mem, pids or io", o.sortBy)
	}
	if o.delay < 10*time.Millisecond || o.delay > time.Hour {
		return usagef("--delay %s: want 10ms to 1h", o.delay)
	}
	if o.n < 0 || o.depth < 0 || o.limit < 0 {
		return usagef("-n, --depth and --limit must be 0 or more")
	}
	if o.subs, o.hier, err = c.cachedHierarchy(); err != nil {
		return err
	}
	if len(walkTree(o.subs, o.base, 1)) == 0 {
		return fmt.Errorf("cgroup %s: does not exist in any mounted controller", o.base)
	}
	out, isFile := c.stdout.(*os.File)
	if isFile && isTerminal(int(out.Fd())) {
		return o.interactive(out)
	}
	return o.snapshots(c.stdout)
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// sample reads every cgroup once and computes the rates since the previous sample.
func (o *topOpts) sample() []*topRow {
	now := time.Now()
	elapsed := now.Sub(o.prevAt).Seconds()
	cur := map[string]*topRow{}
	var rows []*topRow
	for _, n := range walkTree(o.subs, o.base, o.depth) {
		m := statNode(o.hier, n.path)
		if m == nil {
			continue
		}
		r := &topRow{path: n.path}
		if m.Memory != nil && m.Memory.Usage != nil {
			r.mem = m.Memory.Usage.Usage
		}
		if m.Pids != nil {
			r.pids = m.Pids.Current
		}
		if m.CPU != nil && m.CPU.Usage != nil {
			r.cpuTotal = m.CPU.Usage.Total
		}
		r.ioTotal = ioBytes(m.Blkio)
		if p, ok := o.prev[n.path]; ok && elapsed > 0 {
			if r.cpuTotal >= p.cpuTotal {
				r.cpuPct = float64(r.cpuTotal-p.cpuTotal) / 1e9 / elapsed * 100
			}
			if r.ioTotal >= p.ioTotal {
				r.ioRate = float64(r.ioTotal-p.ioTotal) / elapsed
			}
		}
		cur[n.path] = r
		rows = append(rows, r)
	}
	o.prev, o.prevAt = cur, now
	o.sortRows(rows)
	return rows
}

// ioBytes sums the read and write bytes of the blkio counters the library fills.
func ioBytes(b *cgroups.BlkIOStat) uint64 {
	if b == nil {
		return 0
	}
	var sum uint64
	for _, e := range b.IoServiceBytesRecursive {
		if e.Op == "Read" || e.Op == "Write" {
			sum += e.Value
		}
	}
	return sum
}

func (o *topOpts) sortRows(rows []*topRow) {
	key := func(r *topRow) float64 {
		switch o.sortBy {
		case "mem":
			return float64(r.mem)
		case "pids":
			return float64(r.pids)
		case "io":
			return r.ioRate
		}
		return r.cpuPct
	}
	sort.SliceStable(rows, func(i, j int) bool {
		ki, kj := key(rows[i]), key(rows[j])
		if ki != kj {
			return ki > kj
		}
		return rows[i].path < rows[j].path
	})
}

func (o *topOpts) render(w io.Writer, rows []*topRow, limit int) {
	t := newTable(w)
	mark := func(col, key string) string {
		if o.sortBy == key {
			return col + "*"
		}
		return col
	}
	t.row(mark("CPU%", "cpu"), mark("MEMORY", "mem"), mark("PIDS", "pids"), mark("IO/s", "io"), "CGROUP")
	for i, r := range rows {
		if limit > 0 && i >= limit {
			break
		}
		t.row(fmt.Sprintf("%.1f", r.cpuPct), humanBytes(r.mem), strconv.FormatUint(r.pids, 10),
			humanBytes(uint64(r.ioRate)), r.path)
	}
	_ = t.flush()
}

// snapshots prints -n plain snapshots (default one), each measured over --delay.
func (o *topOpts) snapshots(w io.Writer) error {
	n := o.n
	if n == 0 {
		n = 1
	}
	o.sample()
	for i := 0; i < n; i++ {
		time.Sleep(o.delay)
		rows := o.sample()
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "cgctl top: %s, %d cgroups below %s, sorted by %s, over %s\n",
			time.Now().Format("15:04:05"), len(rows), o.base, o.sortBy, o.delay)
		o.render(w, rows, o.limit)
	}
	return nil
}

// interactive refreshes the screen until q, Ctrl-C or -n refreshes. The terminal's settings
// are restored on every way out.
func (o *topOpts) interactive(out *os.File) error {
	keys := make(chan byte, 8)
	if isTerminal(0) {
		old, err := unix.IoctlGetTermios(0, unix.TCGETS)
		if err == nil {
			raw := *old
			raw.Lflag &^= unix.ICANON | unix.ECHO
			raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
			if unix.IoctlSetTermios(0, unix.TCSETS, &raw) == nil {
				defer func() { _ = unix.IoctlSetTermios(0, unix.TCSETS, old) }()
				go func() {
					var b [1]byte
					for {
						if n, err := os.Stdin.Read(b[:]); err != nil || n == 0 {
							close(keys)
							return
						}
						keys <- b[0]
					}
				}()
			}
		}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer signal.Stop(sigs)
	fmt.Fprint(out, "\x1b[?25l") // hide the cursor
	defer fmt.Fprint(out, "\x1b[?25h\n")

	o.sample()
	timer := time.NewTimer(o.delay)
	defer timer.Stop()
	rows := []*topRow(nil)
	for i := 0; o.n == 0 || i < o.n; {
		select {
		case <-sigs:
			return nil
		case k, ok := <-keys:
			if !ok {
				keys = nil
				continue
			}
			switch k {
			case 'q', 'Q':
				return nil
			case 'c':
				o.sortBy = "cpu"
			case 'm':
				o.sortBy = "mem"
			case 'p':
				o.sortBy = "pids"
			case 'i':
				o.sortBy = "io"
			default:
				continue
			}
			if rows != nil {
				o.sortRows(rows)
				o.draw(out, rows)
			}
		case <-timer.C:
			rows = o.sample()
			o.draw(out, rows)
			i++
			timer.Reset(o.delay)
		}
	}
	return nil
}

func (o *topOpts) draw(out *os.File, rows []*topRow) {
	limit := o.limit
	if limit == 0 {
		limit = 20
		if ws, err := unix.IoctlGetWinsize(int(out.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 4 {
			limit = int(ws.Row) - 4
		}
	}
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J")
	fmt.Fprintf(&b, "cgctl top: %s, %d cgroups below %s, every %s; sort: c cpu, m mem, p pids, i io; q quits\n\n",
		time.Now().Format("15:04:05"), len(rows), o.base, o.delay)
	o.render(&b, rows, limit)
	_, _ = io.WriteString(out, b.String())
}
