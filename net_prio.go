package cgroups

import "path/filepath"

// netprioController is the net_prio controller.
type netprioController struct {
	mountedAt
}

// NewNetPrio returns the NetPrio controller of the hierarchy mounted at root/NetPrio.
func NewNetPrio(root string) *netprioController {
	return newNetPrio(filepath.Join(root, string(NetPrio)))
}

func newNetPrio(mount string) *netprioController {
	return &netprioController{mountedAt: newMountedAt(mount)}
}

// Name returns "NetPrio".
func (c *netprioController) Name() Name { return NetPrio }
