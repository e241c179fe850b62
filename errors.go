package cgroups

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Errors returned by this package. They keep the messages of containerd/cgroups v1 so that code
// matching on them keeps working, and they work with errors.Is through any wrapping.
var (
	// ErrInvalidPid is returned when a process id is not greater than zero.
	ErrInvalidPid = errors.New("cgroups: pid must be greater than 0")
	// ErrMountPointNotExist is returned when no cgroup v1 hierarchy is mounted.
	ErrMountPointNotExist = errors.New("cgroups: cgroup mountpoint does not exist")
	// ErrInvalidFormat is returned when a control file cannot be parsed.
	ErrInvalidFormat = errors.New("cgroups: parsing file with invalid format failed")
	// ErrFreezerNotSupported is returned by Freeze and Thaw when the cgroup has no freezer.
	ErrFreezerNotSupported = errors.New("cgroups: freezer cgroup not supported on this system")
	// ErrMemoryNotSupported is returned by the memory event calls when the cgroup has no memory
	// controller.
	ErrMemoryNotSupported = errors.New("cgroups: memory cgroup not supported on this system")
	// ErrCgroupDeleted is returned by every method of a cgroup that has been deleted, and by Load
	// when the cgroup exists in none of the hierarchy's controllers.
	ErrCgroupDeleted = errors.New("cgroups: cgroup deleted")
	// ErrNoCgroupMountDestination is returned when a controller's mount point cannot be found.
	ErrNoCgroupMountDestination = errors.New("cgroups: cannot find cgroup mount destination")
	// ErrIgnoreSubsystem is returned by an InitCheck to skip a controller that is not active.
	ErrIgnoreSubsystem = errors.New("skip subsystem")
	// ErrDevicesRequired is returned by RequireDevices when the devices controller is not active.
	ErrDevicesRequired = errors.New("devices subsystem is required")
	// ErrControllerNotActive is returned by a Path when the controller is not active for it, for
	// example a controller listed in /proc/<pid>/cgroup that is not mounted.
	ErrControllerNotActive = errors.New("controller is not supported")
	// ErrInvalidPath is returned for a cgroup path or file name that could leave the hierarchy
	// root or cannot name a cgroup (a ".." component, a NUL byte, a newline).
	ErrInvalidPath = errors.New("cgroups: invalid cgroup path")
	// ErrInvalidValue is returned for a resource value that the library refuses to write, such
	// as a value with an embedded newline or a negative size.
	ErrInvalidValue = errors.New("cgroups: invalid value")
	// ErrFreezeTimeout is returned when a freezer cgroup does not reach the requested state in
	// time. The cgroup is left thawed.
	ErrFreezeTimeout = errors.New("cgroups: freezer did not reach the requested state in time")
	// ErrNotCgroupfs is returned when a control file does not live on a cgroup filesystem of the
	// same kind as its hierarchy root (for example after a symlink swap).
	ErrNotCgroupfs = errors.New("cgroups: file is not on the cgroup filesystem of its hierarchy")
	// ErrDeviceRulesMismatch is returned when devices.list does not match the requested rules
	// after an update.
	ErrDeviceRulesMismatch = errors.New("cgroups: device rules do not match after update")
)

// ErrorHandler is called with the error of a controller during Stat. It returns nil to ignore
// the error, or an error (the same one or another) to report it. Handlers passed to Stat are
// applied as a chain: each one sees what the previous one returned.
type ErrorHandler func(err error) error

// IgnoreNotExist ignores any error that is or wraps os.ErrNotExist (ENOENT), so that files a
// kernel does not have, such as memsw without swap accounting, do not fail Stat.
func IgnoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func errPassthrough(err error) error {
	return err
}

// FileError records a failed operation on one cgroup control file or directory: the operation,
// the full path, the value written if any, and the underlying error (usually a unix.Errno, so
// errors.Is(err, unix.EINVAL) and errors.Is(err, os.ErrNotExist) work).
type FileError struct {
	Op    string // "open", "read", "write", "mkdir", "rmdir", "readdir", "parse"
	Path  string
	Value string // the value written, for Op "write"
	Err   error
}

func (e *FileError) Error() string {
	reason := e.Err.Error()
	var errno unix.Errno
	if errors.As(e.Err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			reason += " (" + name + ")"
		}
	}
	if e.Op == "write" {
		return fmt.Sprintf("cgroups: write %q to %s: %s", e.Value, e.Path, reason)
	}
	return fmt.Sprintf("cgroups: %s %s: %s", e.Op, e.Path, reason)
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }
