package cgroups

import "path/filepath"

// memoryController is the memory controller.
type memoryController struct {
	mountedAt
}

// NewMemory returns the memory controller of the hierarchy mounted at root/memory.
func NewMemory(root string, options ...func(*memoryController)) *memoryController {
	c := newMemory(filepath.Join(root, string(Memory)))
	for _, o := range options {
		o(c)
	}
	return c
}

func newMemory(mount string) *memoryController {
	return &memoryController{mountedAt: newMountedAt(mount)}
}

// Name returns "memory".
func (c *memoryController) Name() Name { return Memory }
