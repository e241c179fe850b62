package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/cgroupkit/cgroups"
	"golang.org/x/sys/unix"
)

var eventsCmd = &command{
	name:     "events",
	synopsis: "PATH [--oom] [--threshold SIZE[,swap]]... [--pressure LEVEL[,MODE]]... [--json] [--count N] [--timeout D]",
	short:    "stream a cgroup's OOM, threshold, pressure and removal events",
	long: `Watches the memory cgroup PATH and prints one line per event: the time, the cgroup, the kind
(oom, threshold, pressure, removed), how many kernel signals the line stands for, and the state
read with it (oom: memory.oom_control's oom_kill and under_oom; threshold: the usage and whether
it is above or below). --json prints one JSON object per line instead. Without --threshold or
--pressure it watches OOM; --oom adds OOM to them.

When the watch is registered, "cgctl: watching PATH for ..." goes to stderr: from then on no
event is missed. It ends on SIGINT or SIGTERM, after --count events, after --timeout, or when the
cgroup is removed (the removal line is printed last); all of these exit 0.

examples:
  cgctl events /batch/job1
  cgctl events /batch/job1 --json --threshold 900M --threshold 1G,swap --oom
  cgctl events /batch/job1 --pressure medium,hierarchy --count 1 --timeout 10m
  cgctl events --systemd --slice system.slice job.scope`,
	run: runEvents,
}

// watchSpec is one registration asked for on the command line, kept to describe its events.
type watchSpec struct {
	ev        cgroups.MemoryEvent
	desc      string
	threshold uint64
	swap      bool
	level     string
	mode      string
}

// thresholdFlag is a repeatable --threshold SIZE[,swap].
type thresholdFlag struct{ specs *[]watchSpec }

func (f thresholdFlag) String() string { return "" }

func (f thresholdFlag) Set(s string) error {
	size, opt, hasOpt := strings.Cut(s, ",")
	swap := false
	if hasOpt {
		if opt != "swap" {
			return fmt.Errorf("want SIZE or SIZE,swap, not %q", s)
		}
		swap = true
	}
	v, err := parseSize(size)
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("a threshold must be a size, not max")
	}
	desc := "threshold " + size
	if swap {
		desc += " (memory+swap)"
	}
	*f.specs = append(*f.specs, watchSpec{ev: cgroups.MemoryThresholdEvent(uint64(v), swap), desc: desc,
		threshold: uint64(v), swap: swap})
	return nil
}

// pressureFlag is a repeatable --pressure LEVEL[,MODE].
type pressureFlag struct{ specs *[]watchSpec }

func (f pressureFlag) String() string { return "" }

func (f pressureFlag) Set(s string) error {
	level, mode, _ := strings.Cut(s, ",")
	switch cgroups.MemoryPressureLevel(level) {
	case cgroups.LowPressure, cgroups.MediumPressure, cgroups.CriticalPressure:
	default:
		return fmt.Errorf("level %q: want low, medium or critical", level)
	}
	if mode == "" {
		mode = string(cgroups.DefaultMode)
	}
	switch cgroups.EventNotificationMode(mode) {
	case cgroups.DefaultMode, cgroups.LocalMode, cgroups.HierarchyMode:
	default:
		return fmt.Errorf("mode %q: want default, local or hierarchy", mode)
	}
	ev := cgroups.MemoryPressureEvent(cgroups.MemoryPressureLevel(level), cgroups.EventNotificationMode(mode))
	*f.specs = append(*f.specs, watchSpec{ev: ev, desc: "pressure " + level + "," + mode, level: level, mode: mode})
	return nil
}

// eventLine is one event as --json prints it.
type eventLine struct {
	Time      string  `json:"time"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	Count     uint64  `json:"count"`
	OOMKill   *uint64 `json:"oom_kill,omitempty"`
	UnderOOM  *bool   `json:"under_oom,omitempty"`
	Threshold *uint64 `json:"threshold,omitempty"`
	Swap      *bool   `json:"swap,omitempty"`
	Usage     *uint64 `json:"usage,omitempty"`
	Above     *bool   `json:"above,omitempty"`
	Level     string  `json:"level,omitempty"`
	Mode      string  `json:"mode,omitempty"`
	Error     string  `json:"error,omitempty"`
}

func runEvents(c *cli, args []string) error {
	fl := c.flags()
	var specs []watchSpec
	oom := fl.Bool("oom", false, "watch OOM (the default when no --threshold or --pressure is given)")
	fl.Var(thresholdFlag{&specs}, "threshold", "watch memory usage crossing SIZE (SIZE,swap: memory+swap usage); repeatable")
	fl.Var(pressureFlag{&specs}, "pressure", "watch memory pressure LEVEL (low, medium, critical)[,MODE (default, local, hierarchy)]; repeatable")
	asJSON := fl.Bool("json", false, "print one JSON object per event")
	count := fl.Int("count", 0, "stop after N events (0: no limit)")
	timeout := fl.Duration("timeout", 0, "stop after this long, e.g. 30s, 10m (0: no limit)")
	c.systemdFlags(fl)
	pos, err := c.parse(fl, args)
	if err != nil {
		return err
	}
	if *count < 0 {
		return usagef("--count %d: want 0 (no limit) or more", *count)
	}
	if *timeout < 0 {
		return usagef("--timeout %v: want 0 (no limit) or a positive duration", *timeout)
	}
	p, err := c.onePath(pos, false)
	if err != nil {
		return err
	}
	if *oom || len(specs) == 0 {
		specs = append([]watchSpec{{ev: cgroups.OOMEvent(), desc: "oom"}}, specs...)
	}
	if err := requireRoot(); err != nil {
		return err
	}
	cg, err := c.load(p)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	mon, err := cgroups.NewEventMonitor(ctx)
	if err != nil {
		return fmt.Errorf("cgroup %s: event monitor: %w", p, err)
	}
	defer mon.Close()
	events := make([]cgroups.MemoryEvent, len(specs))
	descs := make([]string, len(specs))
	byEvent := map[cgroups.MemoryEvent]*watchSpec{}
	for i := range specs {
		events[i], descs[i] = specs[i].ev, specs[i].desc
		byEvent[specs[i].ev] = &specs[i]
	}
	if err := mon.Watch(cg, events...); err != nil {
		return fmt.Errorf("cgroup %s: watch: %w", p, err)
	}
	fmt.Fprintf(c.stderr, "cgctl: watching %s for %s\n", p, strings.Join(descs, ", "))

	n := 0
	for ev := range mon.Events() {
		line := describeEvent(ev, byEvent[ev.Event])
		if *asJSON {
			b, _ := json.Marshal(line)
			fmt.Fprintf(c.stdout, "%s\n", b)
		} else {
			fmt.Fprintln(c.stdout, formatEvent(line))
		}
		if f, ok := c.stdout.(*os.File); ok {
			_ = f.Sync()
		}
		n++
		if ev.Kind == cgroups.EventRemoved || (*count > 0 && n >= *count) {
			return nil
		}
	}
	// The channel closes when the context ends (signal or timeout: a normal end) or the
	// monitor failed.
	if err := mon.Close(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("cgroup %s: event monitor: %w", p, err)
	}
	if ctx.Err() == nil {
		return fmt.Errorf("cgroup %s: the event monitor stopped", p)
	}
	return nil
}

func describeEvent(ev cgroups.Event, spec *watchSpec) eventLine {
	l := eventLine{
		Time:  ev.Time.Format(time.RFC3339Nano),
		Path:  ev.Path,
		Kind:  ev.Kind.String(),
		Count: ev.Count,
	}
	if ev.Err != nil {
		l.Error = ev.Err.Error()
	}
	switch ev.Kind {
	case cgroups.EventOOM:
		if ev.Err == nil {
			l.OOMKill, l.UnderOOM = ptr(ev.OOMKill), ptr(ev.UnderOOM)
		}
	case cgroups.EventThreshold:
		if spec != nil {
			l.Threshold, l.Swap = ptr(spec.threshold), ptr(spec.swap)
		}
		if ev.Err == nil {
			l.Usage, l.Above = ptr(ev.Usage), ptr(ev.Above)
		}
	case cgroups.EventPressure:
		if spec != nil {
			l.Level, l.Mode = spec.level, spec.mode
		}
	}
	return l
}

// formatEvent is the plain line: time, path, kind, count=N, then the kind's state as key=value.
func formatEvent(l eventLine) string {
	parts := []string{l.Time, l.Path, l.Kind, "count=" + strconv.FormatUint(l.Count, 10)}
	if l.OOMKill != nil {
		parts = append(parts, fmt.Sprintf("oom_kill=%d", *l.OOMKill), "under_oom="+strconv.FormatBool(*l.UnderOOM))
	}
	if l.Threshold != nil {
		t := "threshold=" + humanBytes(*l.Threshold)
		if *l.Swap {
			t += ",swap"
		}
		parts = append(parts, t)
	}
	if l.Usage != nil {
		side := "below"
		if *l.Above {
			side = "above"
		}
		parts = append(parts, "usage="+humanBytes(*l.Usage), side)
	}
	if l.Level != "" {
		parts = append(parts, "level="+l.Level, "mode="+l.Mode)
	}
	if l.Error != "" {
		parts = append(parts, "error="+strconv.Quote(l.Error))
	}
	return strings.Join(parts, " ")
}
