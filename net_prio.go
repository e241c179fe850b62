package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const netprioIfpriomap = "net_prio.ifpriomap"

// ifNameMax is the longest interface name the kernel accepts: IFNAMSIZ (16) less the NUL.
const ifNameMax = 15

// netprioController is the net_prio controller: it sets, per network interface, the priority of
// the packets sent by a cgroup's sockets. It has no statistics.
type netprioController struct {
	mountedAt
}

// NewNetPrio returns the net_prio controller of the hierarchy mounted at root/net_prio. With the
// usual co-mount, root/net_prio is a symlink to root/net_cls,net_prio, which works as well.
func NewNetPrio(root string) *netprioController {
	return newNetPrio(filepath.Join(root, string(NetPrio)))
}

func newNetPrio(mount string) *netprioController {
	return &netprioController{mountedAt: newMountedAt(mount)}
}

// Name returns NetPrio ("net_prio").
func (c *netprioController) Name() Name { return NetPrio }

// Create makes the cgroup directory and sets the interface priorities (see Update).
func (c *netprioController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update writes each Network.Priorities entry to net_prio.ifpriomap, one "<name> <priority>"
// per write(2) because the kernel reads only one pair per write. Interfaces that are not listed
// keep their priority. All names are checked before anything is written, so a bad entry changes
// nothing. The kernel looks an interface up in the network namespace of the writing process,
// so a name unknown there fails with ENODEV.
func (c *netprioController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.Network == nil || len(resources.Network.Priorities) == 0 {
		return nil
	}
	prios := resources.Network.Priorities
	for _, p := range prios {
		if err := checkIfName(p.Name); err != nil {
			return err
		}
	}
	for _, p := range prios {
		value := p.Name + " " + strconv.FormatUint(uint64(p.Priority), 10)
		if err := c.fs.writeFile(path, netprioIfpriomap, value); err != nil {
			if errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("cgroups: net_prio: no network interface %q in this process's network namespace: %w", p.Name, err)
			}
			return err
		}
	}
	return nil
}

// checkIfName applies the kernel's rules for an interface name (dev_valid_name): 1 to 15
// bytes, not "." or "..", and no '/', ':', whitespace or NUL. A name breaking them could not
// name an interface, and a space or newline would change what the kernel parses from the write.
func checkIfName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("cgroups: net_prio: interface name %q %s: %w", name, why, ErrInvalidValue)
	}
	if name == "" || len(name) > ifNameMax {
		return bad("must be 1 to 15 bytes long")
	}
	if name == "." || name == ".." {
		return bad("is not allowed")
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		// 0xa0 is a space to the kernel's Latin-1 isspace.
		case '/', ':', 0, ' ', '\t', '\n', '\v', '\f', '\r', 0xa0:
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	return nil
}
