package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	freezerStateFile        = "freezer.state"
	freezerSelfFreezingFile = "freezer.self_freezing"
	freezerParentFile       = "freezer.parent_freezing"

	freezerFrozen   = "FROZEN"
	freezerFreezing = "FREEZING"
	freezerThawed   = "THAWED"
)

// The bounds of Freeze and Thaw. The v1 freezer can stay FREEZING for as long as the cgroup's
// tasks keep forking or sit in uninterruptible sleeps, so a freeze is a bounded game of chances:
// at most freezeMaxTries writes of FROZEN within freezeTimeout, with a thaw and a pause every
// freezeThawEvery tries (runc's trick: it lets new children reach the cgroup and be frozen on
// the next round). 10 s is long enough for hundreds of busy tasks on a loaded machine, and short
// enough that a caller holding the cgroup is not stuck for good.
var (
	freezeTimeout   = 10 * time.Second
	freezeMaxTries  = 1000
	freezeThawEvery = 50
	freezeThawPause = 10 * time.Millisecond
	thawTimeout     = 2 * time.Second
	thawMaxTries    = 100
)

// freezerController is the freezer controller.
type freezerController struct {
	mountedAt

	// afterWrite, when set (by tests), is called after each successful write of freezer.state.
	afterWrite func(path, value string)
}

// NewFreezer returns the freezer controller of the hierarchy mounted at root/freezer.
func NewFreezer(root string) *freezerController {
	return newFreezer(filepath.Join(root, string(Freezer)))
}

func newFreezer(mount string) *freezerController {
	return &freezerController{mountedAt: newMountedAt(mount)}
}

// Name returns "freezer".
func (c *freezerController) Name() Name { return Freezer }

// Freeze freezes every task of the cgroup and its descendants, and returns once freezer.state
// reads FROZEN. It is bounded (about 10 s and 1000 tries); while the state is FREEZING it writes
// FROZEN again, and now and then thaws and pauses, which lets tasks that keep forking settle. If
// it gives up, or on any error, it thaws the cgroup and makes sure it reads THAWED before
// returning, so a cgroup is never left FROZEN or FREEZING by a failed Freeze; giving up returns
// an error wrapping ErrFreezeTimeout that gives the last state seen.
func (c *freezerController) Freeze(path string) (err error) {
	start := time.Now()
	deadline := start.Add(freezeTimeout)
	last := ""
	defer func() {
		if err == nil {
			return
		}
		if terr := c.thaw(path); terr != nil {
			err = fmt.Errorf("%w; and thawing it back failed: %w", err, terr)
		}
	}()
	pause := 10 * time.Microsecond
	tries := 0
	for ; tries < freezeMaxTries && (tries == 0 || time.Now().Before(deadline)); tries++ {
		if tries > 0 && tries%freezeThawEvery == 0 {
			if err := c.writeState(path, freezerThawed); err != nil {
				return err
			}
			time.Sleep(freezeThawPause)
		}
		if err := c.writeState(path, freezerFrozen); err != nil {
			return err
		}
		last, err = c.readState(path)
		if err != nil {
			return err
		}
		switch last {
		case freezerFrozen:
			return nil
		case freezerFreezing:
		default:
			// THAWED right after writing FROZEN: someone else thawed it; try again.
		}
		time.Sleep(pause)
		if pause < time.Millisecond {
			pause *= 2
		}
	}
	return fmt.Errorf("%w: %s still reads %s after %d tries in %v", ErrFreezeTimeout,
		c.stateFilePath(path), last, tries, time.Since(start).Round(time.Millisecond))
}

// Thaw thaws the cgroup and returns once freezer.state reads THAWED. A cgroup under a frozen
// parent cannot thaw (it stays FROZEN with freezer.parent_freezing 1): that is an error wrapping
// ErrFreezeTimeout at once, not a wait.
func (c *freezerController) Thaw(path string) error {
	return c.thaw(path)
}

func (c *freezerController) thaw(path string) error {
	deadline := time.Now().Add(thawTimeout)
	last := ""
	tries := 0
	for ; tries < thawMaxTries && (tries == 0 || time.Now().Before(deadline)); tries++ {
		if err := c.writeState(path, freezerThawed); err != nil {
			return err
		}
		var err error
		if last, err = c.readState(path); err != nil {
			return err
		}
		if last == freezerThawed {
			return nil
		}
		if pf, err := c.fs.readUint(path, freezerParentFile); err == nil && pf != 0 {
			return fmt.Errorf("%w: %s reads %s after writing THAWED: an ancestor cgroup is frozen (%s is 1); thaw the ancestor",
				ErrFreezeTimeout, c.stateFilePath(path), last, freezerParentFile)
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%w: %s still reads %s after %d tries to thaw", ErrFreezeTimeout,
		c.stateFilePath(path), last, tries)
}

// FreezerState returns the freezer state of the cgroup itself: Frozen only when it is frozen by
// its own freezer.state (freezer.self_freezing is 1); a cgroup frozen or freezing only because an
// ancestor is reads FROZEN or FREEZING but is reported Thawed, as opencontainers/cgroups does, so
// that a caller does not try to thaw what it did not freeze. A missing cgroup is an error
// wrapping os.ErrNotExist.
func (c *freezerController) FreezerState(path string) (State, error) {
	s, err := c.readState(path)
	if err != nil {
		return Unknown, err
	}
	var st State
	switch s {
	case freezerThawed:
		return Thawed, nil
	case freezerFrozen:
		st = Frozen
	case freezerFreezing:
		st = Freezing
	default:
		return Unknown, &FileError{Op: "parse", Path: c.stateFilePath(path),
			Err: fmt.Errorf("%w: unknown freezer state %q", ErrInvalidFormat, s)}
	}
	self, err := c.fs.readUint(path, freezerSelfFreezingFile)
	if errors.Is(err, os.ErrNotExist) {
		if ok, _ := c.fs.exists(path); ok {
			// A kernel without freezer.self_freezing (before 3.13): trust freezer.state.
			return st, nil
		}
	}
	if err != nil {
		return Unknown, err
	}
	if self == 0 {
		return Thawed, nil
	}
	return st, nil
}

func (c *freezerController) writeState(path, value string) error {
	if err := c.fs.writeFile(path, freezerStateFile, value); err != nil {
		return err
	}
	if c.afterWrite != nil {
		c.afterWrite(path, value)
	}
	return nil
}

// readState reads freezer.state without allocating: the result is one of the constant strings
// or, for an unknown value, a copy.
func (c *freezerController) readState(path string) (string, error) {
	b := getBuf()
	data, err := c.fs.readFile(path, freezerStateFile, *b)
	if err != nil {
		putBuf(b, nil)
		return "", err
	}
	var s string
	switch v := trimSpace(data); string(v) {
	case freezerFrozen:
		s = freezerFrozen
	case freezerFreezing:
		s = freezerFreezing
	case freezerThawed:
		s = freezerThawed
	default:
		s = string(v)
	}
	putBuf(b, data)
	return s, nil
}

func (c *freezerController) stateFilePath(path string) string {
	rel, err := relPath(path, freezerStateFile)
	if err != nil {
		return freezerStateFile
	}
	return c.fs.join(rel)
}
