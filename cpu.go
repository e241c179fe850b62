package cgroups

import "path/filepath"

// cpuController is the cpu controller.
type cpuController struct {
	mountedAt
}

// NewCpu returns the Cpu controller of the hierarchy mounted at root/Cpu.
func NewCpu(root string) *cpuController {
	return newCpu(filepath.Join(root, string(Cpu)))
}

func newCpu(mount string) *cpuController {
	return &cpuController{mountedAt: newMountedAt(mount)}
}

// Name returns "Cpu".
func (c *cpuController) Name() Name { return Cpu }
