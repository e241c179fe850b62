package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// New creates a cgroup at path in every controller of hierarchy and applies resources to it,
// cpuset and devices first. Nil resources means no limits. A controller for which path returns
// ErrControllerNotActive is passed to the InitCheck (by default RequireDevices). If anything
// fails, New removes the directories it created and returns the error.
func New(hierarchy Hierarchy, path Path, resources *specs.LinuxResources, opts ...InitOpts) (Cgroup, error) {
	config, err := newInitConfig(opts)
	if err != nil {
		return nil, err
	}
	if config.hierarchy != nil {
		hierarchy = config.hierarchy
	}
	subsystems, err := hierarchy()
	if err != nil {
		return nil, err
	}
	if resources == nil {
		resources = &specs.LinuxResources{}
	}
	if owner, rest := findPlacer(subsystems); owner != nil {
		return newPlaced(owner, rest, path, resources, config)
	}
	var active []Subsystem
	var made createdDirs
	for _, s := range inApplyOrder(subsystems) {
		p, err := path(s.Name())
		if err != nil {
			if errors.Is(err, ErrControllerNotActive) {
				if err := config.InitCheck(s, path, err); err != nil && err != ErrIgnoreSubsystem {
					return nil, made.rollback(err)
				}
				continue
			}
			return nil, made.rollback(err)
		}
		if err := initializeSubsystem(s, p, resources, &made); err != nil {
			return nil, made.rollback(err)
		}
		active = append(active, s)
	}
	return &cgroup{path: path, subsystems: active}, nil
}

// Load opens an existing cgroup. Controllers in which the cgroup does not exist are skipped; if
// it exists in none, Load returns ErrCgroupDeleted.
func Load(hierarchy Hierarchy, path Path, opts ...InitOpts) (Cgroup, error) {
	config, err := newInitConfig(opts)
	if err != nil {
		return nil, err
	}
	if config.hierarchy != nil {
		hierarchy = config.hierarchy
	}
	subsystems, err := hierarchy()
	if err != nil {
		return nil, err
	}
	var owner placer
	var ownerPath string
	if o, rest := findPlacer(subsystems); o != nil {
		if ownerPath, err = path(o.Name()); err != nil {
			return nil, err
		}
		if err := o.attach(ownerPath, config.place); err != nil {
			return nil, err
		}
		owner, subsystems, path = o, rest, placedPath(o, ownerPath)
	}
	var active []Subsystem
	for _, s := range inApplyOrder(subsystems) {
		p, err := path(s.Name())
		if err != nil {
			if isNotExist(err) {
				return nil, ErrCgroupDeleted
			}
			if errors.Is(err, ErrControllerNotActive) {
				if err := config.InitCheck(s, path, err); err != nil && err != ErrIgnoreSubsystem {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		if pt, ok := s.(pather); ok {
			ok, err := dirExists(pt.Path(p))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		active = append(active, s)
	}
	if owner != nil {
		return &cgroup{path: path, subsystems: append([]Subsystem{owner}, active...), owner: owner, ownerPath: ownerPath}, nil
	}
	if len(active) == 0 {
		return nil, ErrCgroupDeleted
	}
	return &cgroup{path: path, subsystems: active}, nil
}

// placer is a subsystem that places the cgroup itself instead of letting the core make its
// directories: the systemd controller, which starts a unit. New and Load call it before any other
// controller; the cgroup's path in every other hierarchy is then the one it reports (systemd's
// ControlGroup property), read lazily because a scope starts only with its first process. Its
// updater and deleter are called by the core first, with its own path (the unit's); the other
// operations skip it.
type placer interface {
	Subsystem
	// place registers the cgroup at p and starts it when it can (with o's PIDs, or when it needs
	// none); started says whether it did.
	place(p string, resources *specs.LinuxResources, o placeOptions) (started bool, err error)
	// start starts a registered cgroup that waited for its first processes.
	start(p string, resources *specs.LinuxResources, pids []int) error
	// attach finds an existing cgroup at p (Load); ErrCgroupDeleted when there is none.
	attach(p string, o placeOptions) error
	// resolve returns the cgroup path, the same in every hierarchy, of a started cgroup at p.
	resolve(p string) (string, error)
	// libraryOwned tells whether the library, not the placer, makes the cgroup's parent
	// directories in controller n, so that Delete removes them once they are empty.
	libraryOwned(n Name) bool
}

// findPlacer returns the first placer of subsystems and the other subsystems.
func findPlacer(subsystems []Subsystem) (placer, []Subsystem) {
	for i, s := range subsystems {
		if p, ok := s.(placer); ok {
			rest := append(append([]Subsystem(nil), subsystems[:i]...), subsystems[i+1:]...)
			return p, rest
		}
	}
	return nil, subsystems
}

// placedPath is the Path of a placed cgroup: where the placer put it, for every controller.
func placedPath(owner placer, ownerPath string) Path {
	return func(Name) (string, error) {
		return owner.resolve(ownerPath)
	}
}

// newPlaced is New for a hierarchy with a placer: the placer starts the cgroup (or registers it
// until the first Add), then the other controllers are created where it was placed.
func newPlaced(owner placer, rest []Subsystem, path Path, resources *specs.LinuxResources, config *InitConfig) (Cgroup, error) {
	ownerPath, err := path(owner.Name())
	if err != nil {
		return nil, err
	}
	started, err := owner.place(ownerPath, resources, config.place)
	if err != nil {
		return nil, err
	}
	c := &cgroup{path: placedPath(owner, ownerPath), owner: owner, ownerPath: ownerPath,
		subsystems: append([]Subsystem{owner}, rest...)}
	if !started {
		c.pending = resources
		return c, nil
	}
	if err := c.realize(resources, config.place.pids); err != nil {
		if d, ok := owner.(deleter); ok {
			if derr := d.Delete(ownerPath); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return nil, err
	}
	return c, nil
}

// realize creates the cgroup in the controllers other than the placer, at the placed path, applies
// resources there (what the placer could not express, and the same values again) and moves pids
// in. Controllers in which the placer already made the cgroup keep it. On failure it removes what
// it created.
func (c *cgroup) realize(resources *specs.LinuxResources, pids []int) error {
	var made createdDirs
	var active []Subsystem
	for _, s := range inApplyOrder(c.subsystems) {
		if s == Subsystem(c.owner) {
			continue
		}
		p, err := c.path(s.Name())
		if err == nil {
			err = initializeSubsystem(s, p, resources, &made)
		}
		if err != nil {
			return made.rollback(err)
		}
		active = append(active, s)
	}
	c.subsystems = append([]Subsystem{c.owner}, active...)
	for _, pid := range pids {
		if err := c.addLocked(Process{Pid: pid}, cgroupProcs, nil); err != nil {
			return made.rollback(err)
		}
	}
	return nil
}

// inApplyOrder returns the subsystems with cpuset first and devices second, the others in the
// hierarchy's order.
func inApplyOrder(subsystems []Subsystem) []Subsystem {
	out := append([]Subsystem(nil), subsystems...)
	sort.SliceStable(out, func(i, j int) bool {
		return applyRank(out[i].Name()) < applyRank(out[j].Name())
	})
	return out
}

// createdDirs records the directories New made, so that a failure removes exactly them.
type createdDirs struct {
	dirs []string // topmost created directory per controller, absolute
}

// initializeSubsystem creates the cgroup in one controller.
func initializeSubsystem(s Subsystem, p string, resources *specs.LinuxResources, made *createdDirs) error {
	// The core makes the directory itself, so it knows exactly what it created (and a failed New
	// removes only that); a controller's Create then finds it there.
	if pt, ok := s.(pather); ok {
		top, err := mkdirAllAbs(pt.Path(p))
		if top != "" {
			made.dirs = append(made.dirs, top)
		}
		if err != nil {
			return fmt.Errorf("cgroups: create %s: %w", s.Name(), err)
		}
	}
	if c, ok := s.(creator); ok {
		if err := c.Create(p, resources); err != nil {
			return fmt.Errorf("cgroups: create %s: %w", s.Name(), err)
		}
	}
	return nil
}

// rollback removes what New created, newest first, and returns cause with any failure to remove.
func (m *createdDirs) rollback(cause error) error {
	errs := []error{cause}
	for i := len(m.dirs) - 1; i >= 0; i-- {
		if err := removeTree(m.dirs[i], time.Second); err != nil {
			errs = append(errs, fmt.Errorf("cgroups: rollback: %w", err))
		}
	}
	return errors.Join(errs...)
}

// cgroup is a cgroup in the controllers of a hierarchy.
type cgroup struct {
	path Path

	mu         sync.Mutex
	subsystems []Subsystem
	err        error

	// owner, when set, placed the cgroup (a systemd unit at ownerPath); see placer.
	owner     placer
	ownerPath string
	// pending holds the resources of a placed cgroup that starts at its first Add.
	pending *specs.LinuxResources
}

// New creates a child cgroup name, in this cgroup's controllers, with resources.
func (c *cgroup) New(name string, resources *specs.LinuxResources) (Cgroup, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if err := checkPath(name); err != nil {
		return nil, err
	}
	if resources == nil {
		resources = &specs.LinuxResources{}
	}
	if c.pending != nil {
		return nil, ErrUnitNotStarted
	}
	path := subPath(c.path, name)
	var made createdDirs
	var subs []Subsystem
	for _, s := range c.subsystems {
		if s == Subsystem(c.owner) {
			continue // a child is a plain cgroup in the delegated unit
		}
		subs = append(subs, s)
		p, err := path(s.Name())
		if err != nil {
			return nil, made.rollback(err)
		}
		if err := initializeSubsystem(s, p, resources, &made); err != nil {
			return nil, made.rollback(err)
		}
	}
	return &cgroup{path: path, subsystems: subs}, nil
}

// Subsystems returns the controllers the cgroup is active in.
func (c *cgroup) Subsystems() []Subsystem {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Subsystem(nil), c.subsystems...)
}

// subsystemsFilter returns the subsystems with one of the names, or all with no names.
func (c *cgroup) subsystemsFilter(names ...Name) []Subsystem {
	if len(names) == 0 {
		return c.subsystems
	}
	var out []Subsystem
	for _, s := range c.subsystems {
		for _, n := range names {
			if s.Name() == n {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Add moves the process into the cgroup (cgroup.procs) in all its controllers, or the named ones.
func (c *cgroup) Add(process Process, names ...Name) error {
	return c.add(process, cgroupProcs, names)
}

// AddProc moves the process pid into the cgroup (cgroup.procs).
func (c *cgroup) AddProc(pid uint64, names ...Name) error {
	if pid > 1<<31 {
		return ErrInvalidPid
	}
	return c.add(Process{Pid: int(pid)}, cgroupProcs, names)
}

// AddTask moves one thread into the cgroup (tasks).
func (c *cgroup) AddTask(process Process, names ...Name) error {
	return c.add(process, cgroupTasks, names)
}

func (c *cgroup) add(process Process, file string, names []Name) error {
	if process.Pid <= 0 {
		return ErrInvalidPid
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.pending != nil {
		// A placed cgroup that waited for a process starts with this one.
		if err := c.owner.start(c.ownerPath, c.pending, []int{process.Pid}); err != nil {
			return fmt.Errorf("cgroups: add pid %d: %w", process.Pid, err)
		}
		resources := c.pending
		c.pending = nil
		if err := c.realize(resources, nil); err != nil {
			return fmt.Errorf("cgroups: add pid %d: %w", process.Pid, err)
		}
	}
	return c.addLocked(process, file, names)
}

// addLocked writes the pid into file in the cgroup of every named controller; c.mu is held.
func (c *cgroup) addLocked(process Process, file string, names []Name) error {
	pid := strconv.Itoa(process.Pid)
	done := map[string]bool{} // co-mounted controllers share a directory: one write each
	var joined []string
	for _, s := range c.subsystemsFilter(names...) {
		pt, ok := s.(pather)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return addError(process.Pid, s.Name(), err, joined)
		}
		dir := pt.Path(p)
		if done[dir] {
			continue
		}
		if err := writeProcs(dir, file, pid); err != nil {
			return addError(process.Pid, s.Name(), err, joined)
		}
		done[dir] = true
		joined = append(joined, string(s.Name()))
	}
	return nil
}

func addError(pid int, name Name, err error, joined []string) error {
	if len(joined) == 0 {
		return fmt.Errorf("cgroups: add pid %d to %s: %w", pid, name, err)
	}
	return fmt.Errorf("cgroups: add pid %d to %s: %w (it was already moved in: %s)",
		pid, name, err, strings.Join(joined, ", "))
}

// writeProcs writes a pid to cgroup.procs or tasks of dir. EINVAL is retried a bounded number of
// times: the kernel refuses a task that is still being created (TASK_NEW).
func writeProcs(dir, file, pid string) error {
	root, rel := splitAbs(dir)
	var err error
	for try := 0; try < 5; try++ {
		err = root.writeFile(rel, file, pid)
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
		time.Sleep(30 * time.Millisecond)
	}
	return err
}

// Processes returns the processes in the cgroup (and, if recursive, in its descendants) as the
// named controller lists them.
func (c *cgroup) Processes(subsystem Name, recursive bool) ([]Process, error) {
	return c.processes(subsystem, recursive, cgroupProcs)
}

// Tasks returns the threads in the cgroup (and, if recursive, in its descendants).
func (c *cgroup) Tasks(subsystem Name, recursive bool) ([]Task, error) {
	return c.processes(subsystem, recursive, cgroupTasks)
}

func (c *cgroup) processes(subsystem Name, recursive bool, file string) ([]Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	var pt pather
	for _, s := range c.subsystems {
		if s.Name() == subsystem {
			if p, ok := s.(pather); ok {
				pt = p
				break
			}
		}
	}
	if pt == nil {
		return nil, fmt.Errorf("cgroups: %s doesn't exist in %s subsystem", subsystem, subsystem)
	}
	p, err := c.path(subsystem)
	if err != nil {
		return nil, err
	}
	return listProcesses(pt.Path(p), subsystem, file, recursive)
}

// listProcesses reads file in dir and, if recursive, in every descendant. A child cgroup that
// vanishes during the walk is skipped; the cgroup itself missing is an error.
func listProcesses(dir string, subsystem Name, file string, recursive bool) ([]Process, error) {
	root, rel := splitAbs(dir)
	out, err := readPids(root, rel, file, subsystem, nil)
	if err != nil || !recursive {
		return out, err
	}
	stack := []string{rel}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		children, err := root.subdirs(cur)
		if err != nil {
			if isNotExist(err) && cur != rel {
				continue
			}
			return out, err
		}
		for _, ch := range children {
			child := cur + "/" + ch
			out, err = readPids(root, child, file, subsystem, out)
			if err != nil {
				if isNotExist(err) || errors.Is(err, unix.ENODEV) {
					continue
				}
				return out, err
			}
			stack = append(stack, child)
		}
	}
	return out, nil
}

// Delete removes the cgroup from every controller, child cgroups first. EBUSY from a cgroup with
// no processes left (a task still exiting, a dying child) is retried with a bounded backoff; a
// cgroup that still holds processes fails at once, naming the path. Every controller is tried;
// the error lists each path that could not be removed with its errno.
func (c *cgroup) Delete() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		if c.err == ErrCgroupDeleted {
			return nil
		}
		return c.err
	}
	var errs []error
	done := map[string]bool{}
	path := c.path
	if c.owner != nil && c.pending == nil {
		// Resolved before the placer forgets the unit it stops.
		p, err := c.path(c.owner.Name())
		if err != nil {
			return fmt.Errorf("cgroups: delete: %w", err)
		}
		path = func(Name) (string, error) { return p, nil }
	}
	if c.owner != nil {
		// The placer first: stopping the unit ends its processes and removes systemd's directories.
		if d, ok := c.owner.(deleter); ok {
			if err := d.Delete(c.ownerPath); err != nil {
				return fmt.Errorf("cgroups: delete %s: %w", c.owner.Name(), err)
			}
		}
		if c.pending != nil {
			c.err = ErrCgroupDeleted
			return nil
		}
	}
	for _, s := range c.subsystems {
		if s == Subsystem(c.owner) {
			continue
		}
		p, err := path(s.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("cgroups: delete %s: %w", s.Name(), err))
			continue
		}
		if d, ok := s.(deleter); ok {
			if err := d.Delete(p); err != nil {
				errs = append(errs, fmt.Errorf("cgroups: delete %s: %w", s.Name(), err))
			}
			continue
		}
		pt, ok := s.(pather)
		if !ok {
			continue
		}
		dir := pt.Path(p)
		if done[dir] {
			continue
		}
		done[dir] = true
		if err := removeTree(dir, time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cgroups: unable to remove paths: %w", errors.Join(errs...))
	}
	if c.owner != nil {
		c.removePlacedParents(path)
	}
	c.err = ErrCgroupDeleted
	return nil
}

// removePlacedParents removes the empty parents of a placed cgroup in the controllers whose
// parents the library, not the placer, makes (for systemd: the slice's directory in cpuset, which
// systemd does not manage), bottom-up, below the mount point; one that another cgroup still uses
// stays, and so does every parent in a controller the placer manages.
func (c *cgroup) removePlacedParents(path Path) {
	p, err := path(c.owner.Name())
	if err != nil {
		return
	}
	for _, s := range c.subsystems {
		pt, ok := s.(pather)
		if !ok || s == Subsystem(c.owner) || !c.owner.libraryOwned(s.Name()) {
			continue
		}
		mount := pt.Path("/")
		for dir := filepath.Dir(pt.Path(p)); strings.HasPrefix(dir, mount+"/"); dir = filepath.Dir(dir) {
			root, rel := splitAbs(dir)
			if err := root.rmdir(rel); err != nil && !isNotExist(err) {
				break // still used by another cgroup
			}
		}
	}
}

// removeTree removes a cgroup directory and its descendants, bottom-up. A missing directory is
// already removed (co-mounted controllers share one).
func removeTree(dir string, budget time.Duration) error {
	root, rel := splitAbs(dir)
	deadline := time.Now().Add(budget)
	return removeRel(root, rel, deadline)
}

func removeRel(root *fsRoot, rel string, deadline time.Time) error {
	delay := time.Millisecond
	childrenRemoved := false
	for {
		err := root.rmdir(rel)
		if err == nil || isNotExist(err) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOTEMPTY) {
			return err
		}
		// Child cgroups first (rmdir of a cgroup with children is EBUSY), once: the fast path
		// above, one rmdir, is the common case of a leaf.
		if !childrenRemoved {
			childrenRemoved = true
			children, lerr := root.subdirs(rel)
			if lerr != nil {
				if isNotExist(lerr) {
					return nil
				}
				return lerr
			}
			for _, ch := range children {
				if err := removeRel(root, rel+"/"+ch, deadline); err != nil {
					return err
				}
			}
			if len(children) > 0 {
				continue
			}
		}
		// A cgroup that still has processes will not empty by waiting: say so at once.
		if procs, perr := root.readFile(rel, cgroupProcs, nil); perr == nil && len(trimSpace(procs)) > 0 {
			n := 0
			_ = parsePids(procs, func(int) { n++ })
			return fmt.Errorf("%w (it contains %d process(es))", err, n)
		}
		if time.Now().Add(delay).After(deadline) {
			return err
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// MoveTo moves every process of this cgroup and its descendants into destination, once each.
// Processes that exit meanwhile are skipped.
func (c *cgroup) MoveTo(destination Cgroup) error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	seen := map[int]bool{}
	var pids []int
	for _, s := range c.subsystems {
		pt, ok := s.(pather)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			c.mu.Unlock()
			return err
		}
		procs, err := listProcesses(pt.Path(p), s.Name(), cgroupProcs, true)
		if err != nil {
			c.mu.Unlock()
			return err
		}
		for _, pr := range procs {
			if !seen[pr.Pid] {
				seen[pr.Pid] = true
				pids = append(pids, pr.Pid)
			}
		}
	}
	c.mu.Unlock()
	for _, pid := range pids {
		if err := destination.Add(Process{Pid: pid}); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			return err
		}
	}
	return nil
}

// Stat reads the statistics of every controller in one pass, without a goroutine per controller
// (they would only contend on the kernel's kernfs lock). A controller's error goes through the
// handlers as a chain, each seeing what the previous one returned; with no handler every error is
// reported. The metrics of the controllers that succeeded are returned even when an error is, so
// a caller can use them.
func (c *cgroup) Stat(handlers ...ErrorHandler) (*Metrics, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	stats := &Metrics{
		CPU: &CPUStat{Throttling: &Throttle{}, Usage: &CPUUsage{}},
	}
	var errs []error
	for _, s := range c.subsystems {
		st, ok := s.(stater)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err == nil {
			err = st.Stat(p, stats)
		}
		if err == nil {
			continue
		}
		for _, h := range handlers {
			if err = h(err); err == nil {
				break
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cgroups: stat %s: %w", s.Name(), err))
		}
	}
	return stats, errors.Join(errs...)
}

// Update applies resources to every controller, cpuset and devices first. Nil resources changes
// nothing. On a failure it stops and says which controllers were already updated.
func (c *cgroup) Update(resources *specs.LinuxResources) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if resources == nil {
		return nil
	}
	if c.pending != nil {
		// Not started yet: the resources it will start with change.
		c.pending = mergeResources(c.pending, resources)
		return nil
	}
	var done []string
	if c.owner != nil {
		thaw, err := c.freezeForDevices(resources)
		if err != nil {
			return err
		}
		defer thaw()
		if u, ok := c.owner.(updater); ok {
			if err := u.Update(c.ownerPath, resources); err != nil {
				return fmt.Errorf("cgroups: update %s: %w", c.owner.Name(), err)
			}
			done = append(done, string(c.owner.Name()))
		}
	}
	for _, s := range inApplyOrder(c.subsystems) {
		u, ok := s.(updater)
		if !ok || s == Subsystem(c.owner) {
			continue
		}
		p, err := c.path(s.Name())
		if err == nil {
			err = u.Update(p, resources)
		}
		if err != nil {
			if len(done) == 0 {
				return fmt.Errorf("cgroups: update %s: %w", s.Name(), err)
			}
			return fmt.Errorf("cgroups: update %s: %w (already updated: %s)", s.Name(), err,
				strings.Join(done, ", "))
		}
		done = append(done, string(s.Name()))
	}
	return nil
}

// freezeForDevices freezes a placed cgroup while its device rules change: systemd on v1 writes
// "deny all" before its allows, and a process opening a device in between would fail. A cgroup
// already frozen stays as it is; if the freeze fails nothing is updated (never a half-frozen
// update). The returned function thaws what it froze.
func (c *cgroup) freezeForDevices(resources *specs.LinuxResources) (func(), error) {
	noop := func() {}
	if resources.Devices == nil {
		return noop, nil
	}
	for _, s := range c.subsystems {
		f, ok := s.(freezer)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return noop, err
		}
		if fs, ok := s.(freezeStater); ok {
			if st, err := fs.FreezerState(p); err == nil && st == Frozen {
				return noop, nil
			}
		}
		if err := f.Freeze(p); err != nil {
			return noop, fmt.Errorf("cgroups: freeze before the device rules change: %w", err)
		}
		return func() { _ = f.Thaw(p) }, nil
	}
	return noop, nil
}

// mergeResources returns old with the parts resources sets replaced, as Update applies them.
func mergeResources(old, r *specs.LinuxResources) *specs.LinuxResources {
	out := *old
	if r.Devices != nil {
		out.Devices = r.Devices
	}
	if r.Memory != nil {
		out.Memory = r.Memory
	}
	if r.CPU != nil {
		out.CPU = r.CPU
	}
	if r.Pids != nil {
		out.Pids = r.Pids
	}
	if r.BlockIO != nil {
		out.BlockIO = r.BlockIO
	}
	if r.HugepageLimits != nil {
		out.HugepageLimits = r.HugepageLimits
	}
	if r.Network != nil {
		out.Network = r.Network
	}
	if r.Rdma != nil {
		out.Rdma = r.Rdma
	}
	if r.Unified != nil {
		out.Unified = r.Unified
	}
	return &out
}

// Freeze freezes every process of the cgroup. It is bounded: on failure the cgroup is left
// thawed, never FROZEN or FREEZING.
func (c *cgroup) Freeze() error {
	return c.freeze(true)
}

// Thaw thaws the cgroup.
func (c *cgroup) Thaw() error {
	return c.freeze(false)
}

func (c *cgroup) freeze(frozen bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	for _, s := range c.subsystems {
		f, ok := s.(freezer)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return err
		}
		if frozen {
			return f.Freeze(p)
		}
		return f.Thaw(p)
	}
	return ErrFreezerNotSupported
}

// OOMEventFD returns a new eventfd that counts OOM events of the cgroup. The caller owns it and
// must close it. The kernel also signals it once when the cgroup is removed.
func (c *cgroup) OOMEventFD() (uintptr, error) {
	return c.RegisterMemoryEvent(OOMEvent())
}

// RegisterMemoryEvent returns a new eventfd registered for event. The caller owns it and must
// close it. The kernel also signals it once when the cgroup is removed.
func (c *cgroup) RegisterMemoryEvent(event MemoryEvent) (uintptr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	for _, s := range c.subsystems {
		m, ok := s.(memoryEventer)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return 0, err
		}
		return m.RegisterMemoryEvent(p, event)
	}
	return 0, ErrMemoryNotSupported
}

// State returns the state of the cgroup: Deleted once it exists in none of its controllers,
// otherwise the freezer state of the cgroup itself.
func (c *cgroup) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == ErrCgroupDeleted {
		return Deleted
	}
	if c.err != nil {
		return Unknown
	}
	if c.pending != nil {
		return Thawed // a scope waiting for its first process: no process to freeze
	}
	anyExists, checked := false, false
	for _, s := range c.subsystems {
		pt, ok := s.(pather)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return Unknown
		}
		ok, err = dirExists(pt.Path(p))
		if err != nil {
			return Unknown
		}
		checked = true
		anyExists = anyExists || ok
	}
	if checked && !anyExists {
		c.err = ErrCgroupDeleted
		return Deleted
	}
	for _, s := range c.subsystems {
		f, ok := s.(freezeStater)
		if !ok {
			continue
		}
		p, err := c.path(s.Name())
		if err != nil {
			return Unknown
		}
		st, err := f.FreezerState(p)
		if err != nil {
			return Unknown
		}
		return st
	}
	return Thawed
}
