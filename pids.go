package cgroups

import "path/filepath"

// pidsController is the pids controller.
type pidsController struct {
	mountedAt
}

// NewPids returns the Pids controller of the hierarchy mounted at root/Pids.
func NewPids(root string) *pidsController {
	return newPids(filepath.Join(root, string(Pids)))
}

func newPids(mount string) *pidsController {
	return &pidsController{mountedAt: newMountedAt(mount)}
}

// Name returns "Pids".
func (c *pidsController) Name() Name { return Pids }
