package cgroups

import "path/filepath"

// cpusetController is the cpuset controller.
type cpusetController struct {
	mountedAt
}

// NewCpuset returns the Cpuset controller of the hierarchy mounted at root/Cpuset.
func NewCpuset(root string) *cpusetController {
	return newCpuset(filepath.Join(root, string(Cpuset)))
}

func newCpuset(mount string) *cpusetController {
	return &cpusetController{mountedAt: newMountedAt(mount)}
}

// Name returns "Cpuset".
func (c *cpusetController) Name() Name { return Cpuset }
