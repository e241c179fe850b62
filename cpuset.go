package cgroups

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cpusetController is the cpuset controller.
type cpusetController struct {
	mountedAt

	// prefix is "cpuset." on a normal mount and "" on a "noprefix" mount (Android and some old
	// setups name the files cpus, mems, ...). It is found once, from the files at the mount root.
	prefixOnce sync.Once
	prefix     string
}

// NewCpuset returns the cpuset controller of the hierarchy mounted at root/cpuset.
func NewCpuset(root string) *cpusetController {
	return newCpuset(filepath.Join(root, string(Cpuset)))
}

func newCpuset(mount string) *cpusetController {
	return &cpusetController{mountedAt: newMountedAt(mount)}
}

// Name returns "cpuset".
func (c *cpusetController) Name() Name { return Cpuset }

// filePrefix detects a noprefix mount: cpuset.cpus missing and cpus present at the root. Any
// other outcome, a root that cannot be read included, keeps the normal "cpuset." names, so an
// error shows up on the real file later rather than here.
func (c *cpusetController) filePrefix() string {
	c.prefixOnce.Do(func() {
		c.prefix = "cpuset."
		b := getBuf()
		defer putBuf(b, nil)
		if _, err := c.fs.readFile("/", "cpuset.cpus", *b); err != nil && isNotExist(err) {
			if _, err := c.fs.readFile("/", "cpus", *b); err == nil {
				c.prefix = ""
			}
		}
	})
	return c.prefix
}

// Create makes the cgroup and any missing parent, and makes sure that every cgroup from the
// mount root down to it has cpus and mems: a new cpuset starts with both empty, and no task can
// join a cpuset without them (ENOSPC). Wherever one is empty it gets its parent's value, top down.
// For the cgroup itself the requested CPU.Cpus and CPU.Mems are written instead where given.
//
// This may write cpuset.cpus or cpuset.mems of an existing ancestor, but only when they are
// empty, that is when the ancestor could hold no task anyway.
func (c *cpusetController) Create(path string, resources *specs.LinuxResources) error {
	var cpus, mems string
	if resources != nil && resources.CPU != nil {
		cpus, mems = resources.CPU.Cpus, resources.CPU.Mems
	}
	if err := c.checkList(path, "cpus", cpus); err != nil {
		return err
	}
	if err := c.checkList(path, "mems", mems); err != nil {
		return err
	}
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	rel := strings.Trim(filepath.Clean("/"+path), "/")
	if rel == "" {
		return c.write(path, cpus, mems) // the root always has cpus and mems
	}
	parts := strings.Split(rel, "/")
	buf := getBuf()
	defer putBuf(buf, nil)
	for i := 1; i <= len(parts); i++ {
		parent, dir := "/"+strings.Join(parts[:i-1], "/"), "/"+strings.Join(parts[:i], "/")
		last := i == len(parts)
		for _, name := range []string{"cpus", "mems"} {
			if last && (name == "cpus" && cpus != "" || name == "mems" && mems != "") {
				continue // written below with the requested value
			}
			if err := c.copyIfEmpty(parent, dir, name, buf); err != nil {
				return err
			}
		}
	}
	return c.write(path, cpus, mems)
}

// Update writes CPU.Cpus and CPU.Mems where given. Values the parent does not have fail with the
// kernel's error (EINVAL or ERANGE) naming the file and the value.
func (c *cpusetController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.CPU == nil {
		return nil
	}
	cpus, mems := resources.CPU.Cpus, resources.CPU.Mems
	if err := c.checkList(path, "cpus", cpus); err != nil {
		return err
	}
	if err := c.checkList(path, "mems", mems); err != nil {
		return err
	}
	return c.write(path, cpus, mems)
}

func (c *cpusetController) write(path, cpus, mems string) error {
	if cpus != "" {
		if err := c.fs.writeFile(path, c.filePrefix()+"cpus", cpus); err != nil {
			return err
		}
	}
	if mems != "" {
		if err := c.fs.writeFile(path, c.filePrefix()+"mems", mems); err != nil {
			return err
		}
	}
	return nil
}

// checkList accepts a kernel list ("0-3,8"): digits, commas and dashes only. The empty string
// means "not set".
func (c *cpusetController) checkList(path, name, v string) error {
	for i := 0; i < len(v); i++ {
		if ch := v[i]; (ch < '0' || ch > '9') && ch != ',' && ch != '-' {
			return fmt.Errorf("%w: %q for %s: a cpuset list has only digits, ',' and '-' (such as \"0-3,8\")",
				ErrInvalidValue, v, filepath.Join(c.Path(path), c.filePrefix()+name))
		}
	}
	return nil
}

// copyIfEmpty gives dir the parent's value of one file when dir's is empty. A missing file in
// dir counts as empty (fixture trees); a missing or empty parent value is left alone.
func (c *cpusetController) copyIfEmpty(parent, dir, name string, b *[]byte) error {
	file := c.filePrefix() + name
	data, err := c.fs.readFile(dir, file, *b)
	if err != nil && !isNotExist(err) {
		return err
	}
	if len(trimSpace(data)) != 0 {
		return nil
	}
	data, err = c.fs.readFile(parent, file, *b)
	if err != nil {
		return err
	}
	v := string(trimSpace(data))
	if v == "" {
		return nil
	}
	return c.fs.writeFile(dir, file, v)
}

// Stat fills stats.Cpuset (allocated if nil) from cpus, mems, effective_cpus, effective_mems and
// memory_pressure. The effective files are missing before Linux 3.16 (and left empty then).
func (c *cpusetController) Stat(path string, stats *Metrics) error {
	if stats.Cpuset == nil {
		stats.Cpuset = &CpusetStat{}
	}
	s := stats.Cpuset
	p := c.filePrefix()
	b := getBuf()
	buf := *b
	defer func() { putBuf(b, buf) }()
	read := func(name string, optional bool) (string, error) {
		data, err := c.fs.readFile(path, p+name, buf[:0])
		if err != nil {
			if optional && isNotExist(err) {
				return "", nil
			}
			return "", err
		}
		buf = data[:0]
		return string(trimSpace(data)), nil
	}
	var err error
	if s.Cpus, err = read("cpus", false); err != nil {
		return err
	}
	if s.Mems, err = read("mems", false); err != nil {
		return err
	}
	if s.EffectiveCpus, err = read("effective_cpus", true); err != nil {
		return err
	}
	if s.EffectiveMems, err = read("effective_mems", true); err != nil {
		return err
	}
	data, err := c.fs.readFile(path, p+"memory_pressure", buf[:0])
	if err != nil {
		return err
	}
	buf = data[:0]
	if s.MemoryPressure, err = parseUint(data); err != nil {
		return &FileError{Op: "parse", Path: filepath.Join(c.Path(path), p+"memory_pressure"), Err: err}
	}
	return nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *cpusetController) withFS(fs *fsRoot) Subsystem {
	return &cpusetController{mountedAt: c.withRoot(fs)}
}
