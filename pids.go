package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pidsController is the pids controller.
type pidsController struct {
	mountedAt
}

// NewPids returns the pids controller of the hierarchy mounted at root/pids.
func NewPids(root string) *pidsController {
	return newPids(filepath.Join(root, string(Pids)))
}

func newPids(mount string) *pidsController {
	return &pidsController{mountedAt: newMountedAt(mount)}
}

// Name returns "pids".
func (c *pidsController) Name() Name { return Pids }

// Create makes the cgroup directory and applies the pids limit.
func (c *pidsController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update writes pids.max with the semantics of runtime-spec v1.3.0: a nil Limit leaves the file
// as it is, -1 means no limit ("max"), and any other non-negative value, 0 included, is written
// as the limit (the spec says 0 is a valid limit and must be treated as such; containerd skips
// it and runc turns it into 1). Values below -1 have no meaning in the spec and are refused
// rather than guessed at.
func (c *pidsController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.Pids == nil || resources.Pids.Limit == nil {
		return nil
	}
	value, err := pidsMaxValue(*resources.Pids.Limit)
	if err != nil {
		return err
	}
	return c.fs.writeFile(path, "pids.max", value)
}

// pidsMaxValue turns a runtime-spec pids limit into the text pids.max takes.
func pidsMaxValue(limit int64) (string, error) {
	switch {
	case limit == -1:
		return "max", nil
	case limit < -1:
		return "", fmt.Errorf("%w: pids limit %d: use -1 for no limit, or a count >= 0", ErrInvalidValue, limit)
	}
	return strconv.FormatInt(limit, 10), nil
}

// Stat reads pids.current and pids.max, and, where the kernel has them (5.x and later),
// pids.peak and the "max" count of pids.events: how many forks the limit refused. A limit of
// "max" reads as 0, as in containerd.
func (c *pidsController) Stat(path string, stats *Metrics) error {
	current, err := c.fs.readUint(path, "pids.current")
	if err != nil {
		return err
	}
	limit, err := c.fs.readUint(path, "pids.max")
	if err != nil {
		return err
	}
	if limit == ^uint64(0) {
		limit = 0
	}
	st := &PidsStat{Current: current, Limit: limit}
	if st.Peak, err = c.fs.readUint(path, "pids.peak"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if st.Events, err = c.readEvents(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	stats.Pids = st
	return nil
}

// readEvents returns the "max" counter of pids.events.
func (c *pidsController) readEvents(path string) (uint64, error) {
	b := getBuf()
	data, err := c.fs.readFile(path, "pids.events", *b)
	if err != nil {
		putBuf(b, nil)
		return 0, err
	}
	var n uint64
	err = forEachKeyValue(data, func(key []byte, v uint64) {
		if string(key) == "max" {
			n = v
		}
	})
	putBuf(b, data)
	if err != nil {
		return 0, &FileError{Op: "parse", Path: filepath.Join(c.Path(path), "pids.events"), Err: err}
	}
	return n, nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *pidsController) withFS(fs *fsRoot) Subsystem {
	return &pidsController{mountedAt: c.withRoot(fs)}
}
