package cgroups

import "path/filepath"

// rdmaController is the rdma controller.
type rdmaController struct {
	mountedAt
}

// NewRdma returns the Rdma controller of the hierarchy mounted at root/Rdma.
func NewRdma(root string) *rdmaController {
	return newRdma(filepath.Join(root, string(Rdma)))
}

func newRdma(mount string) *rdmaController {
	return &rdmaController{mountedAt: newMountedAt(mount)}
}

// Name returns "Rdma".
func (c *rdmaController) Name() Name { return Rdma }
