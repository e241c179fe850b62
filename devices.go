package cgroups

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devicesController is the devices controller.
type devicesController struct {
	mountedAt

	// afterWrite, when set (by tests), is called after each successful rule write.
	afterWrite func(path, file, value string)
}

// NewDevices returns the devices controller of the hierarchy mounted at root/devices.
func NewDevices(root string) *devicesController {
	return newDevices(filepath.Join(root, string(Devices)))
}

func newDevices(mount string) *devicesController {
	return &devicesController{mountedAt: newMountedAt(mount)}
}

// Name returns "devices".
func (c *devicesController) Name() Name { return Devices }

// Create creates the cgroup and applies the device rules of resources. Every rule is validated
// before the directory is made. Without device rules the cgroup keeps the policy it inherits from
// its parent (allow all under an unrestricted parent), as in containerd.
func (c *devicesController) Create(path string, resources *specs.LinuxResources) error {
	target, err := devTargetOf(resources)
	if err != nil {
		return err
	}
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	if target == nil {
		return nil
	}
	return c.setRules(path, target)
}

// Update makes the device rules of the cgroup those of resources. The rules describe the whole
// policy, applied in order to an allow-all start as at creation (an OCI list usually begins with
// a "deny a" rule); they are not a delta on the current rules. Only the difference with
// devices.list is written, so a process keeps its access to every device it still may use; only
// a change of the default policy (or an allow-all source, whose exceptions cannot be read) needs
// the disruptive "a" rule. devices.list is read back afterwards, and an error wrapping
// ErrDeviceRulesMismatch is returned if it is not the target. Nil or empty device rules change
// nothing.
func (c *devicesController) Update(path string, resources *specs.LinuxResources) error {
	target, err := devTargetOf(resources)
	if err != nil || target == nil {
		return err
	}
	return c.setRules(path, target)
}

func devTargetOf(resources *specs.LinuxResources) (*devEmulator, error) {
	if resources == nil || len(resources.Devices) == 0 {
		return nil, nil
	}
	return buildDevTarget(resources.Devices)
}

// setRules writes the transition from the current rules to target, then checks devices.list.
func (c *devicesController) setRules(path string, target *devEmulator) error {
	current, err := c.readRules(path)
	if err != nil {
		return err
	}
	for _, r := range current.transition(target) {
		if err := c.fs.writeFile(path, r.file(), r.value()); err != nil {
			return fmt.Errorf("cgroups: devices: %s: %w", r, err)
		}
		if c.afterWrite != nil {
			c.afterWrite(path, r.file(), r.value())
		}
	}
	after, err := c.readRules(path)
	if err != nil {
		return err
	}
	if !after.matches(target) {
		return fmt.Errorf("%w: %s has %s, want %s", ErrDeviceRulesMismatch,
			c.fs.join(filepath.Join(c.relDir(path), devicesListFile)), after, target)
	}
	return nil
}

// readRules parses the cgroup's devices.list.
func (c *devicesController) readRules(path string) (*devEmulator, error) {
	b := getBuf()
	data, err := c.fs.readFile(path, devicesListFile, *b)
	if err != nil {
		putBuf(b, nil)
		return nil, err
	}
	e, err := parseDevicesList(data)
	putBuf(b, data)
	if err != nil {
		return nil, &FileError{Op: "parse", Path: c.fs.join(filepath.Join(c.relDir(path), devicesListFile)), Err: err}
	}
	return e, nil
}

// relDir is the cgroup path relative to the mount, for messages.
func (c *devicesController) relDir(path string) string {
	rel, err := relPath(path, "")
	if err != nil || rel == "." {
		return ""
	}
	return rel
}
