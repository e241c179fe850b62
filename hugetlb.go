package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hugepagesDir is where the kernel lists the huge page sizes it supports, one
// "hugepages-<N>kB" directory each. Tests point newHugetlbSysfs at a fixture instead.
const hugepagesDir = "/sys/kernel/mm/hugepages"

// hugetlbController is the hugetlb controller: limits and usage of huge pages, per page size.
type hugetlbController struct {
	mountedAt
	sizes []string // the kernel's names of the page sizes ("2MB", "1GB"), smallest first
}

// NewHugetlb returns the hugetlb controller of the hierarchy mounted at root/hugetlb. It fails
// when the huge page sizes of /sys/kernel/mm/hugepages cannot be read; when that directory does
// not exist (a kernel without huge pages) the error wraps os.ErrNotExist.
func NewHugetlb(root string) (*hugetlbController, error) {
	return newHugetlb(filepath.Join(root, string(Hugetlb)))
}

func newHugetlb(mount string) (*hugetlbController, error) {
	sizes, err := systemHugePageSizes()
	if err != nil {
		return nil, err
	}
	return &hugetlbController{mountedAt: newMountedAt(mount), sizes: sizes}, nil
}

// newHugetlbSysfs builds the controller with the page sizes listed in sysfsDir, for tests.
func newHugetlbSysfs(mount, sysfsDir string) (*hugetlbController, error) {
	sizes, err := hugePageSizes(sysfsDir)
	if err != nil {
		return nil, err
	}
	return &hugetlbController{mountedAt: newMountedAt(mount), sizes: sizes}, nil
}

// The page sizes are fixed at boot, so the system's are read once per process.
var (
	sysHugeOnce  sync.Once
	sysHugeSizes []string
	sysHugeErr   error
)

func systemHugePageSizes() ([]string, error) {
	sysHugeOnce.Do(func() { sysHugeSizes, sysHugeErr = hugePageSizes(hugepagesDir) })
	return sysHugeSizes, sysHugeErr
}

// hugePageSizes reads the page sizes from a directory of "hugepages-<N>kB" entries and names
// them as the kernel names the hugetlb control files. Entries of another form are skipped.
func hugePageSizes(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cgroups: hugetlb: reading huge page sizes: %w", err)
	}
	type size struct {
		bytes uint64
		name  string
	}
	var sizes []size
	for _, e := range ents {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		kb, ok = strings.CutSuffix(kb, "kB")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(kb, 10, 64)
		if err != nil || n == 0 || n > math.MaxUint64/1024 {
			continue
		}
		sizes = append(sizes, size{n * 1024, hugePageSizeName(n * 1024)})
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i].bytes < sizes[j].bytes })
	names := make([]string, len(sizes))
	for i, s := range sizes {
		names[i] = s.name
	}
	return names, nil
}

// hugePageSizeName names a page size the way the kernel names its hugetlb.<size>.* files
// (mm/hugetlb_cgroup.c, mem_fmt): whole GB, else whole MB, else whole KB.
func hugePageSizeName(bytes uint64) string {
	switch {
	case bytes >= 1<<30:
		return strconv.FormatUint(bytes>>30, 10) + "GB"
	case bytes >= 1<<20:
		return strconv.FormatUint(bytes>>20, 10) + "MB"
	}
	return strconv.FormatUint(bytes>>10, 10) + "KB"
}

// Name returns Hugetlb ("hugetlb").
func (c *hugetlbController) Name() Name { return Hugetlb }

// Create makes the cgroup directory and sets its huge page limits (see Update).
func (c *hugetlbController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update writes each HugepageLimits entry to hugetlb.<size>.limit_in_bytes and, where the kernel
// has reservation accounting, to hugetlb.<size>.rsvd.limit_in_bytes: the runtime spec says the
// limit applies to reservations when they are supported, and limiting only faults would let a
// mapping reserve pages that later fail with SIGBUS. Every page size must be one this machine
// has; it becomes part of a file name, so anything else ("../x", "2MB/..") is refused before
// anything is written. A limit of MaxUint64 is written as -1, the kernel's "no limit".
func (c *hugetlbController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || len(resources.HugepageLimits) == 0 {
		return nil
	}
	limits := resources.HugepageLimits
	for _, l := range limits {
		if !c.hasSize(l.Pagesize) {
			return fmt.Errorf("cgroups: hugetlb: page size %q is not one of this machine's (%s): %w",
				l.Pagesize, strings.Join(c.sizes, ", "), ErrInvalidValue)
		}
	}
	rsvd := true
	for _, l := range limits {
		value := "-1"
		if l.Limit != math.MaxUint64 {
			value = strconv.FormatUint(l.Limit, 10)
		}
		if err := c.fs.writeFile(path, "hugetlb."+l.Pagesize+".limit_in_bytes", value); err != nil {
			return err
		}
		if !rsvd {
			continue
		}
		if err := c.fs.writeFile(path, "hugetlb."+l.Pagesize+".rsvd.limit_in_bytes", value); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			rsvd = false // a kernel before 5.7: no reservation files for any size
		}
	}
	return nil
}

func (c *hugetlbController) hasSize(s string) bool {
	for _, size := range c.sizes {
		if s == size {
			return true
		}
	}
	return false
}

// Stat appends one HugetlbStat per page size: usage, maximum usage, failures and limit, plus the
// reservation counters (zero on kernels without them).
func (c *hugetlbController) Stat(path string, stats *Metrics) error {
	all := make([]HugetlbStat, len(c.sizes))
	for i, size := range c.sizes {
		s := &all[i]
		s.Pagesize = size
		prefix := "hugetlb." + size + "."
		for _, f := range [...]struct {
			file string
			dst  *uint64
		}{
			{"usage_in_bytes", &s.Usage},
			{"max_usage_in_bytes", &s.Max},
			{"failcnt", &s.Failcnt},
			{"limit_in_bytes", &s.Limit},
		} {
			v, err := c.fs.readUint(path, prefix+f.file)
			if err != nil {
				return err
			}
			*f.dst = v
		}
		for i, f := range [...]struct {
			file string
			dst  *uint64
		}{
			{"rsvd.usage_in_bytes", &s.RsvdUsage},
			{"rsvd.max_usage_in_bytes", &s.RsvdMax},
			{"rsvd.failcnt", &s.RsvdFailcnt},
			{"rsvd.limit_in_bytes", &s.RsvdLimit},
		} {
			v, err := c.fs.readUint(path, prefix+f.file)
			if err != nil {
				if i == 0 && errors.Is(err, os.ErrNotExist) {
					break // no reservation accounting in this kernel
				}
				return err
			}
			*f.dst = v
		}
		stats.Hugetlb = append(stats.Hugetlb, s)
	}
	return nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *hugetlbController) withFS(fs *fsRoot) Subsystem {
	return &hugetlbController{mountedAt: c.withRoot(fs), sizes: c.sizes}
}
