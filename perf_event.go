package cgroups

import "path/filepath"

// PerfEventController is the perf_event controller. It has no files to write or read: a cgroup in it only groups processes for perf.
type PerfEventController struct {
	mountedAt
}

// NewPerfEvent returns the PerfEvent controller of the hierarchy mounted at root/PerfEvent.
func NewPerfEvent(root string) *PerfEventController {
	return newPerfEvent(filepath.Join(root, string(PerfEvent)))
}

func newPerfEvent(mount string) *PerfEventController {
	return &PerfEventController{mountedAt: newMountedAt(mount)}
}

// Name returns "PerfEvent".
func (c *PerfEventController) Name() Name { return PerfEvent }
