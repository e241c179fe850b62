package cgroups

import "path/filepath"

// netclsController is the net_cls controller.
type netclsController struct {
	mountedAt
}

// NewNetCls returns the NetCLS controller of the hierarchy mounted at root/NetCLS.
func NewNetCls(root string) *netclsController {
	return newNetCls(filepath.Join(root, string(NetCLS)))
}

func newNetCls(mount string) *netclsController {
	return &netclsController{mountedAt: newMountedAt(mount)}
}

// Name returns "NetCLS".
func (c *netclsController) Name() Name { return NetCLS }
