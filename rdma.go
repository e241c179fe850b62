package cgroups

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rdmaController is the rdma controller.
type rdmaController struct {
	mountedAt
}

// NewRdma returns the rdma controller of the hierarchy mounted at root/rdma.
func NewRdma(root string) *rdmaController {
	return newRdma(filepath.Join(root, string(Rdma)))
}

func newRdma(mount string) *rdmaController {
	return &rdmaController{mountedAt: newMountedAt(mount)}
}

// Name returns "rdma".
func (c *rdmaController) Name() Name { return Rdma }

// Create makes the cgroup directory and applies the rdma limits.
func (c *rdmaController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// Update writes the limits of every device in resources.Rdma to rdma.max, one device per write
// (the kernel reads one device per write), in sorted device order so that a failure is
// reproducible. containerd wrote only one device, picked by map order. A device with neither
// limit set is skipped; a limit that is left nil keeps its current value, because the kernel
// changes only the keys it is given. math.MaxUint32 is written as "max", so a limit read by Stat
// can be written back. Every device is validated before anything is written.
func (c *rdmaController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || len(resources.Rdma) == 0 {
		return nil
	}
	values, err := rdmaValues(resources.Rdma)
	if err != nil {
		return err
	}
	for _, v := range values {
		if err := c.fs.writeFile(path, "rdma.max", v); err != nil {
			return err
		}
	}
	return nil
}

// rdmaValues validates every device and returns the rdma.max lines to write, in device order.
func rdmaValues(rdma map[string]specs.LinuxRdma) ([]string, error) {
	devices := make([]string, 0, len(rdma))
	for dev := range rdma {
		devices = append(devices, dev)
	}
	sort.Strings(devices)
	values := make([]string, 0, len(devices))
	for _, dev := range devices {
		v, err := rdmaMaxValue(dev, rdma[dev])
		if err != nil {
			return nil, err
		}
		if v != "" {
			values = append(values, v)
		}
	}
	return values, nil
}

// rdmaMaxValue builds one rdma.max line, or "" when the device sets no limit.
func rdmaMaxValue(dev string, limits specs.LinuxRdma) (string, error) {
	if dev == "" || strings.ContainsAny(dev, " \t\n\r=\x00") {
		return "", fmt.Errorf("%w: rdma device name %q: must be non-empty, without spaces, newlines or '='", ErrInvalidValue, dev)
	}
	if limits.HcaHandles == nil && limits.HcaObjects == nil {
		return "", nil
	}
	v := dev
	for _, kv := range []struct {
		key   string
		value *uint32
	}{{"hca_handle", limits.HcaHandles}, {"hca_object", limits.HcaObjects}} {
		if kv.value == nil {
			continue
		}
		s, err := rdmaLimit(dev, kv.key, *kv.value)
		if err != nil {
			return "", err
		}
		v += " " + kv.key + "=" + s
	}
	return v, nil
}

// rdmaLimit formats one limit. The kernel parses it as a non-negative int, so values above
// math.MaxInt32 cannot be set, except math.MaxUint32, which Stat uses for "max".
func rdmaLimit(dev, key string, v uint32) (string, error) {
	switch {
	case v == math.MaxUint32:
		return "max", nil
	case v > math.MaxInt32:
		return "", fmt.Errorf("%w: rdma %s %s=%d: above the kernel's maximum %d (use %d for no limit)",
			ErrInvalidValue, dev, key, v, math.MaxInt32, uint32(math.MaxUint32))
	}
	return strconv.FormatUint(uint64(v), 10), nil
}

// Stat reads rdma.current and rdma.max. Each file is parsed on its own, so a device that comes
// or goes between the two reads costs one entry rather than the whole statistics (containerd
// dropped both lists when their line counts differed).
func (c *rdmaController) Stat(path string, stats *Metrics) error {
	current, err := c.readRdma(path, "rdma.current")
	if err != nil {
		return err
	}
	limit, err := c.readRdma(path, "rdma.max")
	if err != nil {
		return err
	}
	stats.Rdma = &RdmaStat{Current: current, Limit: limit}
	return nil
}

func (c *rdmaController) readRdma(path, file string) ([]*RdmaEntry, error) {
	b := getBuf()
	data, err := c.fs.readFile(path, file, *b)
	if err != nil {
		putBuf(b, nil)
		return nil, err
	}
	entries, err := parseRdma(data)
	putBuf(b, data)
	if err != nil {
		return nil, &FileError{Op: "parse", Path: filepath.Join(c.Path(path), file), Err: err}
	}
	return entries, nil
}

// parseRdma parses lines of "<device> hca_handle=N hca_object=M" in any key order; "max" is
// math.MaxUint32 and unknown keys (a newer kernel's resources) are ignored.
func parseRdma(data []byte) ([]*RdmaEntry, error) {
	var entries []*RdmaEntry
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(trimSpace(line)) == 0 {
			continue
		}
		dev, rest := nextField(line)
		e := &RdmaEntry{Device: string(dev)}
		for len(rest) > 0 {
			var kv []byte
			kv, rest = nextField(rest)
			if len(kv) == 0 {
				break
			}
			i := bytes.IndexByte(kv, '=')
			if i <= 0 {
				return entries, fmt.Errorf("%w: line %d: %q is not key=value", ErrInvalidFormat, n, kv)
			}
			key, val := kv[:i], kv[i+1:]
			var v uint32
			if string(val) == "max" {
				v = math.MaxUint32
			} else {
				u, err := parseUint(val)
				if err != nil || u > math.MaxUint32 {
					return entries, fmt.Errorf("%w: line %d: %q is not a count", ErrInvalidFormat, n, kv)
				}
				v = uint32(u)
			}
			switch string(key) {
			case "hca_handle":
				e.HcaHandles = v
			case "hca_object":
				e.HcaObjects = v
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *rdmaController) withFS(fs *fsRoot) Subsystem {
	return &rdmaController{mountedAt: c.withRoot(fs)}
}
