package cgroups

import "path/filepath"

// hugetlbController is the hugetlb controller.
type hugetlbController struct {
	mountedAt
	sizes []string
}

// NewHugetlb returns the hugetlb controller of the hierarchy mounted at root/hugetlb. It fails
// when the huge page sizes of /sys/kernel/mm/hugepages cannot be read.
func NewHugetlb(root string) (*hugetlbController, error) {
	return newHugetlb(filepath.Join(root, string(Hugetlb)))
}

func newHugetlb(mount string) (*hugetlbController, error) {
	return &hugetlbController{mountedAt: newMountedAt(mount)}, nil
}

// Name returns "hugetlb".
func (c *hugetlbController) Name() Name { return Hugetlb }
