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

// Create creates the cgroup and applies the device rules of resources, as Update does. Every
// rule is validated before the directory is made. Without device rules the cgroup keeps the
// policy it inherits from its parent (allow all under an unrestricted parent), as in containerd.
func (c *devicesController) Create(path string, resources *specs.LinuxResources) error {
	rules, err := devRulesOf(resources)
	if err != nil {
		return err
	}
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	if len(rules) == 0 {
		return nil
	}
	return c.setRules(path, rules, resources.Devices)
}

// Update applies the device rules of resources in order on top of the cgroup's current rules,
// as containerd/cgroups and the kernel do: an OCI list that begins with a "deny a" rule (the
// usual form) replaces the whole policy, and a shorter list adds to or takes from it. What is
// written is the minimal difference between devices.list and the result, so a process keeps its
// access to every device it still may use; only a change of the default policy needs the
// disruptive "a" rule. On a cgroup in allow-all mode, whose deny exceptions the kernel does not
// list, rules that keep allow-all are written as given, so the exceptions it cannot show are kept.
// A rule the kernel would silently ignore (taking one device out of a wider allowed wildcard) is
// refused before anything is written. devices.list is read back afterwards, and an error wrapping
// ErrDeviceRulesMismatch is returned if it is not the result. Nil or empty device rules change
// nothing.
func (c *devicesController) Update(path string, resources *specs.LinuxResources) error {
	rules, err := devRulesOf(resources)
	if err != nil || len(rules) == 0 {
		return err
	}
	return c.setRules(path, rules, resources.Devices)
}

func devRulesOf(resources *specs.LinuxResources) ([]devRule, error) {
	if resources == nil || len(resources.Devices) == 0 {
		return nil, nil
	}
	return ociDevRules(resources.Devices)
}

// setRules writes the rules on top of the current ones, then checks devices.list.
func (c *devicesController) setRules(path string, rules []devRule, oci []specs.LinuxDeviceCgroup) error {
	current, err := c.readRules(path)
	if err != nil {
		return err
	}
	target, err := current.applied(rules, oci)
	if err != nil {
		return err
	}
	writes := rules // allow-all stays allow-all: as given (see Update)
	if !current.defaultAllow || !target.defaultAllow {
		writes = current.transition(target)
	}
	for _, r := range writes {
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
