package cgroups

// InitOpts configures New and Load.
type InitOpts func(*InitConfig) error

// InitCheck decides what happens when a controller is not active for the cgroup's Path (the Path
// returned ErrControllerNotActive): nil or ErrIgnoreSubsystem skips the controller, any other
// error fails New or Load.
type InitCheck func(Subsystem, Path, error) error

// InitConfig is the configuration built from InitOpts.
type InitConfig struct {
	// InitCheck can be used to check initialization errors from the subsystem.
	InitCheck InitCheck

	hierarchy Hierarchy
	// place is what New hands a subsystem that places the cgroup itself (the systemd
	// controller): the first processes and the timeout of its jobs.
	place placeOptions
}

func newInitConfig(opts []InitOpts) (*InitConfig, error) {
	c := &InitConfig{InitCheck: RequireDevices}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// AllowAny is an InitCheck that skips every controller that is not active.
func AllowAny(_ Subsystem, _ Path, _ error) error {
	return ErrIgnoreSubsystem
}

// RequireDevices is the default InitCheck: it skips controllers that are not active, except the
// devices controller, without which a container would have no device boundary.
func RequireDevices(s Subsystem, _ Path, _ error) error {
	if s.Name() == Devices {
		return ErrDevicesRequired
	}
	return ErrIgnoreSubsystem
}

// WithInitCheck sets the InitCheck of New or Load.
func WithInitCheck(check InitCheck) InitOpts {
	return func(c *InitConfig) error {
		c.InitCheck = check
		return nil
	}
}

// WithHierarchy makes New or Load use h instead of the hierarchy passed as their first argument.
// It eases moving code from containerd/cgroups v3, whose New and Load take the hierarchy as an
// option.
func WithHierarchy(h Hierarchy) InitOpts {
	return func(c *InitConfig) error {
		c.hierarchy = h
		return nil
	}
}
