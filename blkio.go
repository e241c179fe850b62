package cgroups

import "path/filepath"

// blkioController is the blkio controller.
type blkioController struct {
	mountedAt
	procRoot string
}

// NewBlkio returns the blkio controller of the hierarchy mounted at root/blkio.
func NewBlkio(root string, options ...func(controller *blkioController)) *blkioController {
	c := newBlkio(filepath.Join(root, string(Blkio)), "/proc")
	for _, o := range options {
		o(c)
	}
	return c
}

// ProcRoot sets the /proc directory whose partitions file names the block devices.
func ProcRoot(path string) func(controller *blkioController) {
	return func(c *blkioController) { c.procRoot = path }
}

func newBlkio(mount, procRoot string) *blkioController {
	return &blkioController{mountedAt: newMountedAt(mount), procRoot: procRoot}
}

// Name returns "blkio".
func (c *blkioController) Name() Name { return Blkio }
