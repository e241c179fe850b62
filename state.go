package cgroups

// State is the state of a cgroup as State reports it.
type State string

// The states of a cgroup.
const (
	// Unknown means the state could not be read.
	Unknown State = ""
	// Thawed means the cgroup's own freezer state is THAWED, or it has no freezer.
	Thawed State = "thawed"
	// Frozen means the cgroup itself is frozen (freezer.self_freezing is 1). A cgroup frozen
	// only because an ancestor is frozen is reported Thawed, as opencontainers/cgroups does.
	Frozen State = "frozen"
	// Freezing means a freeze of the cgroup itself is in progress.
	Freezing State = "freezing"
	// Deleted means the cgroup no longer exists in any of its hierarchies.
	Deleted State = "deleted"
)
