package cgroups

import "path/filepath"

// cpuacctController is the cpuacct controller.
type cpuacctController struct {
	mountedAt
}

// NewCpuacct returns the Cpuacct controller of the hierarchy mounted at root/Cpuacct.
func NewCpuacct(root string) *cpuacctController {
	return newCpuacct(filepath.Join(root, string(Cpuacct)))
}

func newCpuacct(mount string) *cpuacctController {
	return &cpuacctController{mountedAt: newMountedAt(mount)}
}

// Name returns "Cpuacct".
func (c *cpuacctController) Name() Name { return Cpuacct }
