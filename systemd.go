package cgroups

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SystemdDbus is the name of the systemd (D-Bus) subsystem of the Systemd hierarchy.
const SystemdDbus Name = "systemd"

// defaultSlice is the slice of a unit when Slice is given none.
const defaultSlice = "system.slice"

// ErrSystemdNotSupported is kept for code written against earlier versions of this package, in
// which the Systemd hierarchy was not implemented. Nothing returns it any more.
var ErrSystemdNotSupported = errors.New("cgroups: the systemd (D-Bus) hierarchy is not implemented in this version")

// ErrUnitNotStarted is returned by the operations that need the cgroup's directories (Stat,
// Processes, Freeze, New of a child...) on a systemd scope that waits for its first process: a
// scope cannot exist without one, so it starts at the first Add or AddProc.
var ErrUnitNotStarted = errors.New("cgroups: the systemd scope has no process yet: it starts at the first Add")

// Systemd is the Hierarchy that creates each cgroup as a systemd unit over D-Bus: its first
// subsystem is the SystemdController, followed by the cgroup v1 controllers of V1.
//
// The unit is started with the resources systemd can express as properties, so it never exists
// without its limits; the controllers then write the rest (and the same values again) in the
// unit's own cgroup, whose path comes from the unit's ControlGroup property. The controllers
// systemd does not manage on v1 (cpuset, freezer, net_cls, net_prio, perf_event, hugetlb, rdma,
// and cpuacct when it is not mounted with cpu) are created and joined by the library there.
//
// A scope needs a process: New starts it at once with WithPIDs, otherwise at the first Add or
// AddProc (the resources are kept until then, and Update changes them). A slice starts in New.
func Systemd() ([]Subsystem, error) {
	sd, err := NewSystemd("/sys/fs/cgroup")
	if err != nil {
		return nil, err
	}
	v1, err := V1()
	if err != nil {
		return nil, err
	}
	return append([]Subsystem{sd}, v1...), nil
}

// WithPIDs makes New of a systemd scope start the unit at once with these processes in it. They
// must be PIDs as systemd sees them (its PID namespace).
func WithPIDs(pids ...int) InitOpts {
	return func(c *InitConfig) error {
		for _, p := range pids {
			if p <= 0 {
				return fmt.Errorf("%w: pid %d", ErrInvalidPid, p)
			}
		}
		c.place.pids = append(c.place.pids, pids...)
		return nil
	}
}

// WithSystemdTimeout bounds the systemd jobs and calls of New, Load and the cgroup's later
// operations (default DefaultSystemdTimeout).
func WithSystemdTimeout(d time.Duration) InitOpts {
	return func(c *InitConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: systemd timeout %v", ErrInvalidValue, d)
		}
		c.place.timeout = d
		return nil
	}
}

// placeOptions is what New passes to a placer.
type placeOptions struct {
	pids    []int
	timeout time.Duration
}

// SystemdController is the subsystem that manages the cgroup as a systemd unit. It keeps the
// units of its cgroups by their Slice path.
type SystemdController struct {
	root string

	mu    sync.Mutex
	units map[string]*sdUnit
}

// sdUnit is one unit of a cgroup.
type sdUnit struct {
	name    string // "runc-test.scope"
	parent  string // "system.slice"
	slice   bool
	timeout time.Duration
	cgroup  string // the ControlGroup property once started, "" before
}

// NewSystemd returns the systemd controller for the hierarchy root.
func NewSystemd(root string) (*SystemdController, error) {
	return &SystemdController{root: root, units: map[string]*sdUnit{}}, nil
}

// Name returns "systemd".
func (s *SystemdController) Name() Name { return SystemdDbus }

// unitOf parses a Slice path ("/system.slice/runc-test.scope") into its unit.
func unitOf(p string) (*sdUnit, error) {
	p = path.Clean("/" + p)
	name, dir := path.Base(p), path.Dir(p)
	if err := checkUnitName(name); err != nil {
		return nil, err
	}
	u := &sdUnit{name: name, parent: "-.slice", timeout: DefaultSystemdTimeout}
	switch {
	case strings.HasSuffix(name, ".slice"):
		u.slice = true
	case strings.HasSuffix(name, ".scope"):
	default:
		return nil, fmt.Errorf("%w: unit %q is neither a .scope nor a .slice", ErrInvalidPath, name)
	}
	if dir != "/" {
		u.parent = path.Base(dir)
		want, err := expandSlice(u.parent)
		if err != nil {
			return nil, err
		}
		if want != dir {
			return nil, fmt.Errorf("%w: %q is not where systemd puts slice %s (%s): use Slice", ErrInvalidPath, p, u.parent, want)
		}
	}
	if u.slice && u.parent != "-.slice" && !strings.HasPrefix(name, strings.TrimSuffix(u.parent, ".slice")+"-") {
		return nil, fmt.Errorf("%w: systemd places a slice by its name, so %s cannot be in %s: name it %s-%s",
			ErrInvalidPath, name, u.parent, strings.TrimSuffix(u.parent, ".slice"), name)
	}
	return u, nil
}

func (u *sdUnit) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), u.timeout)
}

// place registers the unit of the cgroup at p and starts it when it can: a slice at once, a scope
// when it has processes.
func (s *SystemdController) place(p string, resources *specs.LinuxResources, o placeOptions) (bool, error) {
	u, err := unitOf(p)
	if err != nil {
		return false, err
	}
	if o.timeout > 0 {
		u.timeout = o.timeout
	}
	s.mu.Lock()
	s.units[p] = u
	s.mu.Unlock()
	if !u.slice && len(o.pids) == 0 {
		return false, nil
	}
	if err := s.startUnit(u, resources, o.pids); err != nil {
		s.forget(p)
		return false, err
	}
	return true, nil
}

// start starts the registered scope at p with its first processes.
func (s *SystemdController) start(p string, resources *specs.LinuxResources, pids []int) error {
	u, err := s.unit(p)
	if err != nil {
		return err
	}
	return s.startUnit(u, resources, pids)
}

func (s *SystemdController) unit(p string) (*sdUnit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.units[p]
	if !ok {
		return nil, fmt.Errorf("cgroups: no systemd unit for %s: %w", p, ErrCgroupDeleted)
	}
	return u, nil
}

func (s *SystemdController) forget(p string) {
	s.mu.Lock()
	delete(s.units, p)
	s.mu.Unlock()
}

// startUnit sends StartTransientUnit with the resources in it, waits for the job, and reads the
// unit's ControlGroup. A failed unit left with the same name is reset and the start retried once.
func (s *SystemdController) startUnit(u *sdUnit, resources *specs.LinuxResources, pids []int) error {
	ctx, cancel := u.ctx()
	defer cancel()
	settled := func(ctx context.Context) (bool, error) {
		st, err := unitState(ctx, u.name)
		return st == "active", err
	}
	start := func(conn *sddbus.Conn, version int, ch chan<- string) error {
		props := []sddbus.Property{
			sddbus.PropDescription("cgroups " + u.name),
			prop("DefaultDependencies", false),
			prop("MemoryAccounting", true),
			prop("CPUAccounting", true),
			prop("TasksAccounting", true),
			prop("BlockIOAccounting", true),
		}
		if !u.slice {
			// Delegate only on scopes: systemd refuses it on slices (InvalidArgs since 237).
			props = append(props, sddbus.PropSlice(u.parent), prop("Delegate", true))
			ps := make([]uint32, len(pids))
			for i, p := range pids {
				ps[i] = uint32(p)
			}
			props = append(props, sddbus.PropPids(ps...))
		}
		props = append(props, resourceProperties(resources, version)...)
		_, err := conn.StartTransientUnitContext(ctx, u.name, "replace", props, ch)
		return err
	}
	err := runJob(ctx, u.name, "start", start, settled)
	if dbusErrorName(err) == "org.freedesktop.systemd1.UnitExists" {
		// A failed (OOM-killed, timed-out) unit keeps its name until reset (runc#3780).
		if rerr := resetFailed(ctx, u.name); rerr != nil {
			return fmt.Errorf("systemd: start %s: %w; reset-failed: %w", u.name, err, rerr)
		}
		err = runJob(ctx, u.name, "start", start, settled)
	}
	if err != nil {
		if n := dbusErrorName(err); n != "" && !strings.Contains(err.Error(), u.name) {
			err = fmt.Errorf("systemd: start %s: %w", u.name, err)
		}
		_ = resetFailed(ctx, u.name)
		return err
	}
	cg, err := unitControlGroup(ctx, u.name)
	if err == nil && cg == "" {
		err = fmt.Errorf("systemd: unit %s is active but has no ControlGroup: %w", u.name, ErrCgroupDeleted)
	}
	if err == nil {
		cg, err = cleanCgroupPath(cg)
	}
	if err != nil {
		s.stopUnit(u)
		return fmt.Errorf("systemd: start %s: %w", u.name, err)
	}
	s.mu.Lock()
	u.cgroup = cg
	s.mu.Unlock()
	return nil
}

// resolve returns the cgroup path of the unit at p in every hierarchy.
func (s *SystemdController) resolve(p string) (string, error) {
	u, err := s.unit(p)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.cgroup == "" {
		return "", fmt.Errorf("%s: %w", u.name, ErrUnitNotStarted)
	}
	return u.cgroup, nil
}

// attach finds the running unit of p (Load): a unit that is not active is ErrCgroupDeleted.
func (s *SystemdController) attach(p string, o placeOptions) error {
	u, err := unitOf(p)
	if err != nil {
		return err
	}
	if o.timeout > 0 {
		u.timeout = o.timeout
	}
	ctx, cancel := u.ctx()
	defer cancel()
	st, err := unitState(ctx, u.name)
	if err != nil {
		return fmt.Errorf("systemd: load %s: %w", u.name, err)
	}
	if st != "active" && st != "reloading" && st != "activating" {
		return fmt.Errorf("systemd: unit %s is %s: %w", u.name, st, ErrCgroupDeleted)
	}
	cg, err := unitControlGroup(ctx, u.name)
	if err != nil {
		return fmt.Errorf("systemd: load %s: %w", u.name, err)
	}
	if cg == "" {
		return fmt.Errorf("systemd: unit %s has no cgroup: %w", u.name, ErrCgroupDeleted)
	}
	if u.cgroup, err = cleanCgroupPath(cg); err != nil {
		return err
	}
	s.mu.Lock()
	s.units[p] = u
	s.mu.Unlock()
	return nil
}

// libraryOwned tells whether systemd leaves controller n to the library on cgroup v1: it realises
// only cpu, cpuacct (when co-mounted with cpu), blkio, memory, devices, pids and its own name=systemd.
func (s *SystemdController) libraryOwned(n Name) bool {
	switch n {
	case Cpu, Blkio, Memory, Devices, Pids, SystemdDbus:
		return false
	case Cpuacct:
		mounts, err := selfMounts.get()
		if err != nil {
			return false
		}
		cpu, ok1 := findMount(mounts, "cpu")
		acct, ok2 := findMount(mounts, "cpuacct")
		return !ok1 || !ok2 || cpu.Mountpoint != acct.Mountpoint
	}
	return true
}

// Create starts the unit of path with resources. Only a slice can start this way: a scope needs
// a process, so use New with WithPIDs, or New and then Add.
func (s *SystemdController) Create(path string, resources *specs.LinuxResources) error {
	started, err := s.place(path, resources, placeOptions{})
	if err != nil {
		return err
	}
	if !started {
		return fmt.Errorf("systemd: create %s: %w", path, ErrUnitNotStarted)
	}
	return nil
}

// Update sends what systemd owns of resources with SetUnitProperties (runtime, not persisted),
// so that systemd keeps the values across daemon-reload; the controllers write the cgroupfs files.
func (s *SystemdController) Update(path string, resources *specs.LinuxResources) error {
	u, err := s.unit(path)
	if err != nil {
		return err
	}
	if u.cgroup == "" {
		return nil // the core keeps the resources of a scope that has not started
	}
	ctx, cancel := u.ctx()
	defer cancel()
	return withBus(ctx, func(conn *sddbus.Conn, version int) error {
		props := resourceProperties(resources, version)
		if len(props) == 0 {
			return nil
		}
		if err := conn.SetUnitPropertiesContext(ctx, u.name, true, props...); err != nil {
			return fmt.Errorf("systemd: set properties of %s: %w", u.name, err)
		}
		return nil
	})
}

// Delete stops the unit of path, waits for it, and resets it if it failed, so that its name can
// be used again. systemd then removes its cgroup in the hierarchies it manages.
func (s *SystemdController) Delete(path string) error {
	u, err := s.unit(path)
	if err != nil {
		if u, err = unitOf(path); err != nil {
			return err
		}
		u.cgroup = "unknown"
	}
	if u.cgroup == "" {
		s.forget(path)
		return nil
	}
	if err := s.stopUnit(u); err != nil {
		return err
	}
	s.forget(path)
	return nil
}

func (s *SystemdController) stopUnit(u *sdUnit) error {
	ctx, cancel := u.ctx()
	defer cancel()
	err := runJob(ctx, u.name, "stop", func(conn *sddbus.Conn, _ int, ch chan<- string) error {
		_, err := conn.StopUnitContext(ctx, u.name, "replace", ch)
		return err
	}, func(ctx context.Context) (bool, error) {
		st, err := unitState(ctx, u.name)
		return st == "inactive" || st == "failed" || st == "", err
	})
	if dbusErrorName(err) == "org.freedesktop.systemd1.NoSuchUnit" {
		err = nil
	}
	if rerr := resetFailed(ctx, u.name); rerr != nil && err == nil {
		err = fmt.Errorf("systemd: reset-failed %s: %w", u.name, rerr)
	}
	return err
}

// SystemdEscape escapes s the way systemd-escape does, so that any id can be part of a unit name:
// "/" becomes "-", and every byte outside [A-Za-z0-9:_.] (a dash too, which is structural in
// slice names), and a leading ".", becomes \xNN.
func SystemdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0, !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '.'):
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Slice returns the Path of the unit name in the slice (system.slice when slice is empty), as
// systemd lays it out: the slice's dashes expand to its ancestors ("a-b.slice" is
// /a.slice/a-b.slice), and a name without a unit suffix is a scope ("runc-test" is
// runc-test.scope). Names are checked against systemd's rules and the error says why.
func Slice(slice, name string) Path {
	if slice == "" {
		slice = defaultSlice
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return errorPath(err)
	}
	if strings.TrimSuffix(strings.TrimSuffix(name, ".slice"), ".scope") == "" {
		return errorPath(fmt.Errorf("%w: unit name %q is empty", ErrInvalidPath, name))
	}
	if !strings.HasSuffix(name, ".slice") && !strings.HasSuffix(name, ".scope") {
		name += ".scope"
	}
	if err := checkUnitName(name); err != nil {
		return errorPath(err)
	}
	p := path.Join(dir, name)
	return func(Name) (string, error) { return p, nil }
}

// expandSlice turns "a-b-c.slice" into "/a.slice/a-b.slice/a-b-c.slice" ("-.slice" is "/").
func expandSlice(slice string) (string, error) {
	if err := checkUnitName(slice); err != nil {
		return "", err
	}
	if !strings.HasSuffix(slice, ".slice") {
		return "", fmt.Errorf("%w: slice %q does not end in .slice", ErrInvalidPath, slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	base := strings.TrimSuffix(slice, ".slice")
	if base == "" || strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("%w: slice %q has an empty dash-separated component", ErrInvalidPath, slice)
	}
	var b strings.Builder
	prefix := ""
	for _, comp := range strings.Split(base, "-") {
		b.WriteString("/" + prefix + comp + ".slice")
		prefix += comp + "-"
	}
	return b.String(), nil
}

// checkUnitName applies systemd's rules for unit names: 1 to 255 bytes of [A-Za-z0-9:_.\-@].
func checkUnitName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: unit name %q must be 1 to 255 bytes", ErrInvalidPath, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":_.\\-@", c) >= 0 {
			continue
		}
		return fmt.Errorf("%w: unit name %q has the character %q, which systemd does not allow", ErrInvalidPath, name, c)
	}
	return nil
}
