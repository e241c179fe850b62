package cgroups

import (
	"errors"
	"fmt"
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
	if len(active) == 0 {
		return nil, ErrCgroupDeleted
	}
	return &cgroup{path: path, subsystems: active}, nil
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
	path := subPath(c.path, name)
	var made createdDirs
	for _, s := range c.subsystems {
		p, err := path(s.Name())
		if err != nil {
			return nil, made.rollback(err)
		}
		if err := initializeSubsystem(s, p, resources, &made); err != nil {
			return nil, made.rollback(err)
		}
	}
	return &cgroup{path: path, subsystems: append([]Subsystem(nil), c.subsystems...)}, nil
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
	for _, s := range c.subsystems {
		p, err := c.path(s.Name())
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
	c.err = ErrCgroupDeleted
	return nil
}

// removeTree removes a cgroup directory and its descendants, bottom-up. A missing directory is
// already removed (co-mounted controllers share one).
func removeTree(dir string, budget time.Duration) error {
	root, rel := splitAbs(dir)
	deadline := time.Now().Add(budget)
	return removeRel(root, rel, deadline)
}

func removeRel(root *fsRoot, rel string, deadline time.Time) error {
	if err := root.removePlainFiles(rel); err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
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
	var done []string
	for _, s := range inApplyOrder(c.subsystems) {
		u, ok := s.(updater)
		if !ok {
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
