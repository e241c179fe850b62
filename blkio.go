package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// blkioController is the blkio controller.
type blkioController struct {
	mountedAt
	procRoot string

	// mode says which proportional-weight files the kernel has: CFQ's blkio.weight family, or
	// BFQ's blkio.bfq.weight (CFQ was removed in Linux 5.0). It is detected once, at the mount
	// root, on first use; a failed detection is retried by the next call.
	modeMu sync.Mutex
	mode   blkioMode

	// devices maps device numbers to "/dev/<name>" from <procRoot>/partitions. It is read on
	// the first Stat and again only when a Stat meets a device number it does not know; an
	// entry with an empty name records a number that the last read did not list, so a device
	// missing from partitions does not cause a read on every Stat.
	devMu   sync.Mutex
	devices map[devNum]string
}

type blkioMode int

const (
	blkioModeUnknown blkioMode = iota
	blkioModeCFQ
	blkioModeBFQ
)

type devNum struct{ major, minor uint64 }

// NewBlkio returns the blkio controller of the hierarchy mounted at root/blkio.
func NewBlkio(root string, options ...func(controller *blkioController)) *blkioController {
	c := newBlkio(filepath.Join(root, string(Blkio)), "/proc")
	for _, o := range options {
		o(c)
	}
	return c
}

// ProcRoot sets the /proc directory whose partitions file names the block devices.
func ProcRoot(path string) func(controller *blkioController) {
	return func(c *blkioController) { c.procRoot = path }
}

func newBlkio(mount, procRoot string) *blkioController {
	return &blkioController{mountedAt: newMountedAt(mount), procRoot: procRoot}
}

// Name returns "blkio".
func (c *blkioController) Name() Name { return Blkio }

// detectMode finds out, once, whether the kernel has CFQ's blkio.weight at the mount root.
// BFQ's files exist only below the root, so their absence there proves nothing; the absence of
// blkio.weight is what says CFQ is gone.
func (c *blkioController) detectMode() (blkioMode, error) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	if c.mode != blkioModeUnknown {
		return c.mode, nil
	}
	b := getBuf()
	data, err := c.fs.readFile("/", "blkio.weight", *b)
	putBuf(b, data)
	switch {
	case err == nil:
		c.mode = blkioModeCFQ
	case errors.Is(err, os.ErrNotExist):
		c.mode = blkioModeBFQ
	default:
		return blkioModeUnknown, err
	}
	return c.mode, nil
}

// Create makes the cgroup directory and applies the block IO resources.
func (c *blkioController) Create(path string, resources *specs.LinuxResources) error {
	if _, err := c.fs.mkdirAll(path); err != nil {
		return err
	}
	return c.Update(path, resources)
}

// blkioWrite is one validated value for one file.
type blkioWrite struct {
	file, value string
	dev         *devNum // the device of a per-device weight, for a clearer EOPNOTSUPP
}

// Update applies resources.BlockIO, one rule per write, in containerd's order: weight, leaf
// weight, per-device weights, then the read bps, read iops, write bps and write iops throttles.
// Everything is validated before the first write. Without CFQ the weights go to BFQ's
// blkio.bfq.weight and blkio.bfq.weight_device; BFQ has no leaf weights, so asking for one
// there is an error rather than a silent no-op. A throttle rate of 0 removes that device's rule:
// it is how a limit is cleared.
func (c *blkioController) Update(path string, resources *specs.LinuxResources) error {
	if resources == nil || resources.BlockIO == nil {
		return nil
	}
	bio := resources.BlockIO
	mode := blkioModeUnknown
	if bio.Weight != nil || bio.LeafWeight != nil || len(bio.WeightDevice) > 0 {
		var err error
		if mode, err = c.detectMode(); err != nil {
			return err
		}
	}
	writes, err := blkioWrites(bio, mode)
	if err != nil {
		return err
	}
	for _, w := range writes {
		if err := c.fs.writeFile(path, w.file, w.value); err != nil {
			return explainBlkioError(w, err)
		}
	}
	return nil
}

// explainBlkioError says what a kernel errno means for the file it came from.
func explainBlkioError(w blkioWrite, err error) error {
	switch {
	case w.dev != nil && w.file == "blkio.bfq.weight_device" && errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("cgroups: blkio weight for device %d:%d: the device does not use the BFQ I/O scheduler "+
			"(per-device weights need bfq in /sys/dev/block/%d:%d/queue/scheduler): %w",
			w.dev.major, w.dev.minor, w.dev.major, w.dev.minor, err)
	case (w.file == "blkio.bfq.weight" || w.file == "blkio.bfq.weight_device") && errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("cgroups: blkio weight: the kernel has no CFQ (no blkio.weight) and no BFQ "+
			"(no %s: CONFIG_IOSCHED_BFQ is off or the bfq module is not loaded): %w: %w", w.file, errors.ErrUnsupported, err)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("cgroups: blkio: no block device %q: %w", w.value, err)
	}
	return err
}

// blkioWrites validates bio and turns it into the writes Update makes.
func blkioWrites(bio *specs.LinuxBlockIO, mode blkioMode) ([]blkioWrite, error) {
	var writes []blkioWrite
	weightFile, weightDeviceFile := "blkio.weight", "blkio.weight_device"
	minWeight, minDeviceWeight := uint16(10), uint16(0) // CFQ: 0 removes a per-device weight
	if mode == blkioModeBFQ {
		weightFile, weightDeviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
		minWeight, minDeviceWeight = 1, 1
	}
	checkWeight := func(what string, w, low uint16) error {
		if low == 0 && w == 0 {
			return nil // CFQ: a per-device weight of 0 removes the device's rule
		}
		if w < max(low, minWeight) || w > 1000 {
			return fmt.Errorf("%w: blkio %s %d: %s takes %d..1000", ErrInvalidValue, what, w,
				weightFile, max(low, minWeight))
		}
		return nil
	}
	noLeaf := func(what string) error {
		return fmt.Errorf("cgroups: blkio %s: leaf weights exist only with the CFQ scheduler, which this kernel "+
			"does not have (BFQ has no leaf weight): %w", what, errors.ErrUnsupported)
	}
	if bio.Weight != nil {
		if err := checkWeight("weight", *bio.Weight, minWeight); err != nil {
			return nil, err
		}
		writes = append(writes, blkioWrite{file: weightFile, value: strconv.FormatUint(uint64(*bio.Weight), 10)})
	}
	if bio.LeafWeight != nil {
		if mode != blkioModeCFQ {
			return nil, noLeaf(fmt.Sprintf("leafWeight %d", *bio.LeafWeight))
		}
		if err := checkWeight("leafWeight", *bio.LeafWeight, minWeight); err != nil {
			return nil, err
		}
		writes = append(writes, blkioWrite{file: "blkio.leaf_weight", value: strconv.FormatUint(uint64(*bio.LeafWeight), 10)})
	}
	for _, wd := range bio.WeightDevice {
		dev, err := blkioDevice("weightDevice", wd.Major, wd.Minor)
		if err != nil {
			return nil, err
		}
		if wd.Weight == nil && wd.LeafWeight == nil {
			return nil, fmt.Errorf("%w: blkio weightDevice %d:%d sets neither weight nor leafWeight", ErrInvalidValue,
				wd.Major, wd.Minor)
		}
		if wd.Weight != nil {
			if err := checkWeight(fmt.Sprintf("weight for device %d:%d", wd.Major, wd.Minor), *wd.Weight, minDeviceWeight); err != nil {
				return nil, err
			}
			writes = append(writes, blkioWrite{file: weightDeviceFile, value: devValue(dev, uint64(*wd.Weight)), dev: &dev})
		}
		if wd.LeafWeight != nil {
			if mode != blkioModeCFQ {
				return nil, noLeaf(fmt.Sprintf("leafWeight %d for device %d:%d", *wd.LeafWeight, wd.Major, wd.Minor))
			}
			if err := checkWeight(fmt.Sprintf("leafWeight for device %d:%d", wd.Major, wd.Minor), *wd.LeafWeight, 0); err != nil {
				return nil, err
			}
			writes = append(writes, blkioWrite{file: "blkio.leaf_weight_device", value: devValue(dev, uint64(*wd.LeafWeight)), dev: &dev})
		}
	}
	for _, t := range []struct {
		file  string
		rules []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", bio.ThrottleReadBpsDevice},
		{"blkio.throttle.read_iops_device", bio.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_bps_device", bio.ThrottleWriteBpsDevice},
		{"blkio.throttle.write_iops_device", bio.ThrottleWriteIOPSDevice},
	} {
		for _, r := range t.rules {
			dev, err := blkioDevice(t.file, r.Major, r.Minor)
			if err != nil {
				return nil, err
			}
			writes = append(writes, blkioWrite{file: t.file, value: devValue(dev, r.Rate)})
		}
	}
	return writes, nil
}

// blkioDevice checks a device number from the spec, where major and minor are int64.
func blkioDevice(what string, major, minor int64) (devNum, error) {
	// Linux dev_t has a 12-bit major and a 20-bit minor; larger numbers cannot name a device.
	if major < 0 || minor < 0 || major >= 1<<12 || minor >= 1<<20 {
		return devNum{}, fmt.Errorf("%w: blkio %s device %d:%d: major must be 0..4095 and minor 0..1048575",
			ErrInvalidValue, what, major, minor)
	}
	return devNum{uint64(major), uint64(minor)}, nil
}

func devValue(d devNum, v uint64) string {
	return strconv.FormatUint(d.major, 10) + ":" + strconv.FormatUint(d.minor, 10) + " " + strconv.FormatUint(v, 10)
}

// Stat reads the blkio statistics. The CFQ files are read where the kernel has them (the eight
// containerd fields); the throttle and BFQ recursive files always, into the added fields. The
// legacy IoServiceBytesRecursive and IoServicedRecursive then share the slices of the first
// source with entries: CFQ, else BFQ, else throttle, so they are not empty just because CFQ is
// gone (containerd/cgroups#78), and with CFQ but no CFQ-scheduled IO they fall back as
// containerd's did (containerd/cgroups#147).
func (c *blkioController) Stat(path string, stats *Metrics) error {
	mode, err := c.detectMode()
	if err != nil {
		return err
	}
	r := blkioReader{c: c, path: path}
	st := &BlkIOStat{}
	cfqEntries := 0
	if mode == blkioModeCFQ {
		for _, f := range []struct {
			file string
			dst  *[]*BlkIOEntry
		}{
			{"blkio.sectors_recursive", &st.SectorsRecursive},
			{"blkio.io_service_bytes_recursive", &st.IoServiceBytesRecursive},
			{"blkio.io_serviced_recursive", &st.IoServicedRecursive},
			{"blkio.io_queued_recursive", &st.IoQueuedRecursive},
			{"blkio.io_service_time_recursive", &st.IoServiceTimeRecursive},
			{"blkio.io_wait_time_recursive", &st.IoWaitTimeRecursive},
			{"blkio.io_merged_recursive", &st.IoMergedRecursive},
			{"blkio.time_recursive", &st.IoTimeRecursive},
		} {
			if *f.dst, err = r.read(f.file, ""); err != nil {
				return err
			}
			cfqEntries += len(*f.dst)
		}
	}
	if st.ThrottleIoServiceBytesRecursive, err = r.read("blkio.throttle.io_service_bytes_recursive",
		"blkio.throttle.io_service_bytes"); err != nil {
		return err
	}
	if st.ThrottleIoServicedRecursive, err = r.read("blkio.throttle.io_serviced_recursive",
		"blkio.throttle.io_serviced"); err != nil {
		return err
	}
	if st.BFQIoServiceBytesRecursive, err = r.read("blkio.bfq.io_service_bytes_recursive", ""); err != nil {
		return err
	}
	if st.BFQIoServicedRecursive, err = r.read("blkio.bfq.io_serviced_recursive", ""); err != nil {
		return err
	}
	switch {
	case cfqEntries > 0:
	case len(st.BFQIoServiceBytesRecursive)+len(st.BFQIoServicedRecursive) > 0:
		st.IoServiceBytesRecursive, st.IoServicedRecursive = st.BFQIoServiceBytesRecursive, st.BFQIoServicedRecursive
	default:
		st.IoServiceBytesRecursive, st.IoServicedRecursive = st.ThrottleIoServiceBytesRecursive, st.ThrottleIoServicedRecursive
	}
	stats.Blkio = st
	return nil
}

// blkioReader reads the stat files of one Stat call; it allows one re-read of the partitions
// file per call.
type blkioReader struct {
	c         *blkioController
	path      string
	refreshed bool
}

// read parses file, or fallback when file does not exist. With neither present the result is
// nil and no error: these files depend on kernel options (BFQ loaded, throttling built in).
func (r *blkioReader) read(file, fallback string) ([]*BlkIOEntry, error) {
	b := getBuf()
	data, err := r.c.fs.readFile(r.path, file, *b)
	if errors.Is(err, os.ErrNotExist) && fallback != "" {
		file = fallback
		data, err = r.c.fs.readFile(r.path, file, *b)
	}
	if err != nil {
		putBuf(b, nil)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	entries, err := parseBlkio(data, r.deviceName)
	putBuf(b, data)
	if err != nil {
		return nil, &FileError{Op: "parse", Path: filepath.Join(r.c.Path(r.path), file), Err: err}
	}
	return entries, nil
}

func (r *blkioReader) deviceName(major, minor uint64) string {
	return r.c.deviceName(devNum{major, minor}, &r.refreshed)
}

// deviceName names a device from the cached partitions table, re-reading it at most once per
// Stat (refreshed) when the number is not known yet.
func (c *blkioController) deviceName(d devNum, refreshed *bool) string {
	c.devMu.Lock()
	defer c.devMu.Unlock()
	if name, ok := c.devices[d]; ok {
		return name
	}
	if !*refreshed {
		*refreshed = true
		// An unreadable partitions file leaves the devices unnamed rather than failing Stat:
		// the counters matter more than the names.
		if data, err := os.ReadFile(filepath.Join(c.procRoot, "partitions")); err == nil {
			c.devices = parsePartitions(data)
		}
		if name, ok := c.devices[d]; ok {
			return name
		}
	}
	if c.devices == nil {
		c.devices = map[devNum]string{}
	}
	c.devices[d] = ""
	return ""
}

// parsePartitions reads /proc/partitions ("major minor #blocks name" after a header line) into a
// map to "/dev/<name>". Lines that do not have that shape, the header and blank lines among
// them, are skipped; the first line for a number wins.
func parsePartitions(data []byte) map[devNum]string {
	m := make(map[devNum]string)
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		f1, rest := nextField(line)
		f2, rest := nextField(rest)
		_, rest = nextField(rest)
		name, rest := nextField(rest)
		if len(name) == 0 || len(trimSpace(rest)) != 0 {
			continue
		}
		major, err1 := parseDigits(f1)
		minor, err2 := parseDigits(f2)
		if err1 != nil || err2 != nil {
			continue
		}
		d := devNum{major, minor}
		if _, ok := m[d]; !ok {
			m[d] = "/dev/" + string(name)
		}
	}
	return m
}

// parseBlkio parses a blkio statistics file: lines of "M:m Op V" (io_service_bytes, io_serviced
// and the like) or "M:m V" (time, sectors), and a final "Total N" line, which is skipped. All
// entries of a file are allocated together.
func parseBlkio(data []byte, name func(major, minor uint64) string) ([]*BlkIOEntry, error) {
	n := 0
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if f, _ := nextField(line); len(f) > 0 && string(f) != "Total" {
			n++
		}
	}
	var slab []BlkIOEntry
	var entries []*BlkIOEntry
	if n > 0 {
		slab = make([]BlkIOEntry, n)
		entries = make([]*BlkIOEntry, 0, n)
	}
	for lineNo := 1; len(data) > 0; lineNo++ {
		var line []byte
		line, data = nextLine(data)
		dev, rest := nextField(line)
		if len(dev) == 0 {
			continue
		}
		f2, rest := nextField(rest)
		f3, rest := nextField(rest)
		if string(dev) == "Total" {
			if len(f3) != 0 {
				return nil, fmt.Errorf("%w: line %d: %q", ErrInvalidFormat, lineNo, line)
			}
			continue
		}
		op, val := f2, f3
		if len(f3) == 0 {
			op, val = nil, f2
		}
		major, minor, ok := splitDevNum(dev)
		if !ok || len(val) == 0 || len(trimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: line %d: %q is not \"major:minor [op] value\"", ErrInvalidFormat, lineNo, line)
		}
		v, err := parseUint(val)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		e := &slab[len(entries)]
		*e = BlkIOEntry{Op: blkioOp(op), Device: name(major, minor), Major: major, Minor: minor, Value: v}
		entries = append(entries, e)
	}
	return entries, nil
}

// splitDevNum parses "major:minor".
func splitDevNum(b []byte) (major, minor uint64, ok bool) {
	for i, c := range b {
		if c == ':' {
			var err1, err2 error
			major, err1 = parseDigits(b[:i])
			minor, err2 = parseDigits(b[i+1:])
			return major, minor, err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}

// blkioOp returns the operation name, without allocating for the ones the kernel prints.
func blkioOp(op []byte) string {
	switch string(op) {
	case "":
		return ""
	case "Read":
		return "Read"
	case "Write":
		return "Write"
	case "Sync":
		return "Sync"
	case "Async":
		return "Async"
	case "Discard":
		return "Discard"
	case "Total":
		return "Total"
	}
	return string(op)
}

// withFS returns a copy of the controller that reads through fs (see fsRebinder), with the same
// options.
func (c *blkioController) withFS(fs *fsRoot) Subsystem {
	return &blkioController{mountedAt: c.withRoot(fs), procRoot: c.procRoot}
}
