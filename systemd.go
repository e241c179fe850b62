package cgroups

import (
	"errors"
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SystemdDbus is the name of the systemd (D-Bus) subsystem of the Systemd hierarchy.
const SystemdDbus Name = "systemd"

// defaultSlice is the slice of a unit when Slice is given none.
const defaultSlice = "system.slice"

// ErrSystemdNotSupported is returned by the Systemd hierarchy and the SystemdController until the
// D-Bus driver lands: creating units through systemd is not implemented in this version.
var ErrSystemdNotSupported = errors.New("cgroups: the systemd (D-Bus) hierarchy is not implemented in this version")

// Systemd is the Hierarchy that creates cgroups as systemd units over D-Bus. It is not implemented
// in this version and returns ErrSystemdNotSupported, so that code written for containerd/cgroups
// compiles and fails clearly instead of mis-creating cgroups behind systemd's back.
func Systemd() ([]Subsystem, error) {
	return nil, ErrSystemdNotSupported
}

// SystemdController is the subsystem that manages systemd units. Its methods return
// ErrSystemdNotSupported in this version.
type SystemdController struct {
	root string
}

// NewSystemd returns the systemd controller for the hierarchy root.
func NewSystemd(root string) (*SystemdController, error) {
	return &SystemdController{root: root}, nil
}

// Name returns "systemd".
func (s *SystemdController) Name() Name { return SystemdDbus }

// Create would start the unit; it returns ErrSystemdNotSupported in this version.
func (s *SystemdController) Create(path string, _ *specs.LinuxResources) error {
	return fmt.Errorf("create unit for %s: %w", path, ErrSystemdNotSupported)
}

// Delete would stop the unit; it returns ErrSystemdNotSupported in this version.
func (s *SystemdController) Delete(path string) error {
	return fmt.Errorf("stop unit for %s: %w", path, ErrSystemdNotSupported)
}

// Slice returns the Path of the unit name in the slice (system.slice when slice is empty), as
// systemd lays it out: the slice's dashes expand to its ancestors ("a-b.slice" is
// /a.slice/a-b.slice), and a name without a unit suffix is a scope ("runc-test" is
// runc-test.scope). Names are checked against systemd's rules and the error says why.
func Slice(slice, name string) Path {
	if slice == "" {
		slice = defaultSlice
	}
	dir, err := expandSlice(slice)
	if err != nil {
		return errorPath(err)
	}
	if strings.TrimSuffix(strings.TrimSuffix(name, ".slice"), ".scope") == "" {
		return errorPath(fmt.Errorf("%w: unit name %q is empty", ErrInvalidPath, name))
	}
	if !strings.HasSuffix(name, ".slice") && !strings.HasSuffix(name, ".scope") {
		name += ".scope"
	}
	if err := checkUnitName(name); err != nil {
		return errorPath(err)
	}
	p := path.Join(dir, name)
	return func(Name) (string, error) { return p, nil }
}

// expandSlice turns "a-b-c.slice" into "/a.slice/a-b.slice/a-b-c.slice" ("-.slice" is "/").
func expandSlice(slice string) (string, error) {
	if err := checkUnitName(slice); err != nil {
		return "", err
	}
	if !strings.HasSuffix(slice, ".slice") {
		return "", fmt.Errorf("%w: slice %q does not end in .slice", ErrInvalidPath, slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	base := strings.TrimSuffix(slice, ".slice")
	if base == "" || strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("%w: slice %q has an empty dash-separated component", ErrInvalidPath, slice)
	}
	var b strings.Builder
	prefix := ""
	for _, comp := range strings.Split(base, "-") {
		b.WriteString("/" + prefix + comp + ".slice")
		prefix += comp + "-"
	}
	return b.String(), nil
}

// checkUnitName applies systemd's rules for unit names: 1 to 255 bytes of [A-Za-z0-9:_.\-@].
func checkUnitName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: unit name %q must be 1 to 255 bytes", ErrInvalidPath, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":_.\\-@", c) >= 0 {
			continue
		}
		return fmt.Errorf("%w: unit name %q has the character %q, which systemd does not allow", ErrInvalidPath, name, c)
	}
	return nil
}
