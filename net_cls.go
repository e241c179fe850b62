package cgroups

import (
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const netclsClassID = "net_cls.classid"

// netclsController is the net_cls controller: it tags the packets of a cgroup's sockets with a
// class id for tc and iptables. It has no statistics.
type netclsController struct {
	mountedAt
}

// NewNetCls returns the net_cls controller of the hierarchy mounted at root/net_cls. With the
// usual co-mount, root/net_cls is a symlink to root/net_cls,net_prio, which works as well.
func NewNetCls(root string) *netclsController {
	return newNetCls(filepath.Join(root, string(NetCLS)))
}

func newNetCls(mount string) *netclsController {
	return &netclsController{mountedAt: newMountedAt(mount)}
}

// Name returns NetCLS ("net_cls").
func (c *netclsController) Name() Name { return NetCLS }

// Create makes the cgroup directory and sets its class id (see Update).
func (c *netclsController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update writes Network.ClassID to net_cls.classid. A nil ClassID leaves the class id as it is;
// 0 is written like any other value, because it is how a class id is reset (containerd skips
// 0 and so can never clear one).
func (c *netclsController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.Network == nil || resources.Network.ClassID == nil {
		return nil
	}
	return c.fs.writeFile(path, netclsClassID, strconv.FormatUint(uint64(*resources.Network.ClassID), 10))
}
