package cgroups

import "path/filepath"

// devicesController is the devices controller.
type devicesController struct {
	mountedAt
}

// NewDevices returns the Devices controller of the hierarchy mounted at root/Devices.
func NewDevices(root string) *devicesController {
	return newDevices(filepath.Join(root, string(Devices)))
}

func newDevices(mount string) *devicesController {
	return &devicesController{mountedAt: newMountedAt(mount)}
}

// Name returns "Devices".
func (c *devicesController) Name() Name { return Devices }
