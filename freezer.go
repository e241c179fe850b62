package cgroups

import "path/filepath"

// freezerController is the freezer controller.
type freezerController struct {
	mountedAt
}

// NewFreezer returns the Freezer controller of the hierarchy mounted at root/Freezer.
func NewFreezer(root string) *freezerController {
	return newFreezer(filepath.Join(root, string(Freezer)))
}

func newFreezer(mount string) *freezerController {
	return &freezerController{mountedAt: newMountedAt(mount)}
}

// Name returns "Freezer".
func (c *freezerController) Name() Name { return Freezer }
