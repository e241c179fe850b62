package cgroups

import "path/filepath"

// PerfEventController is the perf_event controller. It has no files to write or read: a cgroup
// in it only groups processes, so that perf can count events per cgroup (perf -G).
type PerfEventController struct {
	mountedAt
}

// NewPerfEvent returns the perf_event controller of the hierarchy mounted at root/perf_event.
// New creates the cgroup directory, Add moves processes into it and Delete removes it; there is
// nothing to configure or read.
func NewPerfEvent(root string) *PerfEventController {
	return newPerfEvent(filepath.Join(root, string(PerfEvent)))
}

func newPerfEvent(mount string) *PerfEventController {
	return &PerfEventController{mountedAt: newMountedAt(mount)}
}

// Name returns PerfEvent ("perf_event").
func (c *PerfEventController) Name() Name { return PerfEvent }
