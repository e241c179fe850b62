package cgroups

import "path/filepath"

// namedController is a named hierarchy with no controller, such as name=systemd. A cgroup in it
// only groups processes.
type namedController struct {
	mountedAt
	name Name
}

// NewNamed returns the named hierarchy name mounted at root/name.
func NewNamed(root string, name Name) *namedController {
	return newNamed(filepath.Join(root, string(name)), name)
}

func newNamed(mount string, name Name) *namedController {
	return &namedController{mountedAt: newMountedAt(mount), name: name}
}

// Name returns the hierarchy's name.
func (n *namedController) Name() Name { return n.name }
