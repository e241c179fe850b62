package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// blkioFixture returns the files of testdata/<dir> placed under prefix, for fixtureRoot.
func blkioFixture(t *testing.T, files map[string]string, dir, prefix string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{}
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Join(prefix, e.Name())] = string(b)
	}
	return files
}

func TestBlkioParsePartitions(t *testing.T) {
	data, err := os.ReadFile("testdata/proc/partitions")
	if err != nil {
		t.Fatal(err)
	}
	got := parsePartitions(data)
	want := map[devNum]string{
		{7, 0}: "/dev/loop0", {7, 1}: "/dev/loop1", {253, 0}: "/dev/zram0", {254, 0}: "/dev/vda",
		{254, 1}: "/dev/vda1", {8, 16}: "/dev/sdb",
	}
	if len(got) != len(want) {
		t.Errorf("parsePartitions: %d devices %v, want %d %v", len(got), got, len(want), want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("device %d:%d = %q, want %q", k.major, k.minor, got[k], v)
		}
	}
	// Nothing a broken or truncated file holds may panic.
	for _, s := range []string{"", "\n\n", "major", " 8\n", "8 0\n", "8 0 1\n", ":::: \x00\n", "8 0 1 sda", "-1 0 1 x\n"} {
		m := parsePartitions([]byte(s))
		if s == "8 0 1 sda" && m[devNum{8, 0}] != "/dev/sda" {
			t.Errorf("a last line without newline was not parsed: %v", m)
		}
	}
}

func TestBlkioParseStatFile(t *testing.T) {
	data, err := os.ReadFile("testdata/blkio-bfq/blkio.throttle.io_service_bytes_recursive")
	if err != nil {
		t.Fatal(err)
	}
	names := map[devNum]string{{7, 0}: "/dev/loop0", {254, 0}: "/dev/vda"}
	entries, err := parseBlkio(data, func(major, minor uint64) string { return names[devNum{major, minor}] })
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 18 {
		t.Fatalf("got %d entries, want 18 (the global Total line skipped)", len(entries))
	}
	first, last := entries[0], entries[17]
	if *first != (BlkIOEntry{Op: "Read", Device: "/dev/loop0", Major: 7, Minor: 0, Value: 4199424}) {
		t.Errorf("first entry %+v", *first)
	}
	if *last != (BlkIOEntry{Op: "Total", Device: "/dev/vda", Major: 254, Minor: 0, Value: 2134016}) {
		t.Errorf("last entry %+v", *last)
	}
	if entries[6].Device != "" || entries[6].Major != 253 {
		t.Errorf("unnamed device entry %+v", *entries[6])
	}

	// "M:m V" files (time, sectors) have no operation.
	entries, err = parseBlkio([]byte("8:0 1736\n8:16 5\n"), func(uint64, uint64) string { return "" })
	if err != nil || len(entries) != 2 || entries[1].Op != "" || entries[1].Minor != 16 || entries[1].Value != 5 {
		t.Errorf("time_recursive format: %v %+v", err, entries)
	}
	for _, s := range []string{"Total 0\n", "", "\n", "Total 0"} {
		if entries, err := parseBlkio([]byte(s), nil); err != nil || entries != nil {
			t.Errorf("parseBlkio(%q) = %v, %v; want no entries", s, entries, err)
		}
	}
	for _, s := range []string{"8:0 Read\n", "8 Read 1\n", "8:x Read 1\n", "8:0 Read 1 2\n", "8:0 Read x\n",
		"Total 1 2\n", ":0 Read 1\n", "8: Read 1\n"} {
		if _, err := parseBlkio([]byte(s), func(uint64, uint64) string { return "" }); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parseBlkio(%q): err %v, want ErrInvalidFormat", s, err)
		}
	}
}

func TestBlkioStatBFQFixture(t *testing.T) {
	files := blkioFixture(t, nil, "blkio-bfq", "blkio/c")
	files = blkioFixture(t, files, "proc", "proc")
	root := fixtureRoot(t, files)
	c := NewBlkio(root, ProcRoot(filepath.Join(root, "proc")))
	var m Metrics
	if err := c.Stat("/c", &m); err != nil {
		t.Fatal(err)
	}
	st := m.Blkio
	if st == nil {
		t.Fatal("Stat left Blkio nil")
	}
	if len(st.ThrottleIoServiceBytesRecursive) != 18 || len(st.ThrottleIoServicedRecursive) != 6 {
		t.Errorf("throttle: %d and %d entries", len(st.ThrottleIoServiceBytesRecursive), len(st.ThrottleIoServicedRecursive))
	}
	if len(st.BFQIoServiceBytesRecursive) != 6 || len(st.BFQIoServicedRecursive) != 6 {
		t.Errorf("bfq: %d and %d entries", len(st.BFQIoServiceBytesRecursive), len(st.BFQIoServicedRecursive))
	}
	// BFQ saw IO, so the legacy fields are the BFQ slices themselves, not copies.
	if len(st.IoServiceBytesRecursive) == 0 || &st.IoServiceBytesRecursive[0] != &st.BFQIoServiceBytesRecursive[0] ||
		&st.IoServicedRecursive[0] != &st.BFQIoServicedRecursive[0] {
		t.Errorf("legacy fields do not share the BFQ slices")
	}
	if e := st.BFQIoServicedRecursive[0]; *e != (BlkIOEntry{Op: "Read", Device: "/dev/loop0", Major: 7, Value: 1026}) {
		t.Errorf("bfq serviced[0] = %+v", *e)
	}
	if st.SectorsRecursive != nil || st.IoTimeRecursive != nil {
		t.Errorf("CFQ fields filled without CFQ")
	}

	// Without BFQ IO ("Total 0") the legacy fields fall back to throttle.
	if err := os.WriteFile(filepath.Join(root, "blkio/c/blkio.bfq.io_service_bytes_recursive"), []byte("Total 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "blkio/c/blkio.bfq.io_serviced_recursive"), []byte("Total 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m = Metrics{}
	if err := c.Stat("/c", &m); err != nil {
		t.Fatal(err)
	}
	st = m.Blkio
	if len(st.BFQIoServicedRecursive) != 0 || len(st.IoServiceBytesRecursive) != 18 ||
		&st.IoServiceBytesRecursive[0] != &st.ThrottleIoServiceBytesRecursive[0] ||
		&st.IoServicedRecursive[0] != &st.ThrottleIoServicedRecursive[0] {
		t.Errorf("legacy fields do not share the throttle slices: %d entries", len(st.IoServiceBytesRecursive))
	}

	// A kernel without BFQ (no bfq files) is no error.
	for _, f := range []string{"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"} {
		if err := os.Remove(filepath.Join(root, "blkio/c", f)); err != nil {
			t.Fatal(err)
		}
	}
	m = Metrics{}
	if err := c.Stat("/c", &m); err != nil || m.Blkio == nil || len(m.Blkio.IoServicedRecursive) != 6 {
		t.Errorf("Stat without BFQ files: %v %+v", err, m.Blkio)
	}

	// A malformed file is an error naming the file.
	if err := os.WriteFile(filepath.Join(root, "blkio/c/blkio.throttle.io_serviced_recursive"), []byte("8:0 Read x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := c.Stat("/c", &Metrics{})
	if !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), "blkio.throttle.io_serviced_recursive") {
		t.Errorf("Stat of a malformed file: %v", err)
	}
}

func TestBlkioStatCFQFixture(t *testing.T) {
	files := blkioFixture(t, map[string]string{"blkio/blkio.weight": "500\n"}, "blkio-cfq", "blkio/c")
	files = blkioFixture(t, files, "proc", "proc")
	files["proc/partitions"] += "   8        0  1000 sda\n"
	root := fixtureRoot(t, files)
	c := NewBlkio(root, ProcRoot(filepath.Join(root, "proc")))
	var m Metrics
	if err := c.Stat("/c", &m); err != nil {
		t.Fatal(err)
	}
	st := m.Blkio
	for name, l := range map[string][]*BlkIOEntry{
		"IoServiceBytesRecursive": st.IoServiceBytesRecursive, "IoServicedRecursive": st.IoServicedRecursive,
		"IoQueuedRecursive": st.IoQueuedRecursive, "IoServiceTimeRecursive": st.IoServiceTimeRecursive,
		"IoWaitTimeRecursive": st.IoWaitTimeRecursive, "IoMergedRecursive": st.IoMergedRecursive,
	} {
		if len(l) != 5 {
			t.Errorf("%s: %d entries, want 5", name, len(l))
		}
	}
	if len(st.IoTimeRecursive) != 1 || *st.IoTimeRecursive[0] != (BlkIOEntry{Device: "/dev/sda", Major: 8, Value: 1736}) {
		t.Errorf("IoTimeRecursive %+v", st.IoTimeRecursive)
	}
	if len(st.SectorsRecursive) != 1 || st.SectorsRecursive[0].Value != 25784 {
		t.Errorf("SectorsRecursive %+v", st.SectorsRecursive)
	}
	if st.IoServiceBytesRecursive[0].Value != 11030528 || st.IoServicedRecursive[4].Op != "Total" {
		t.Errorf("CFQ values: %+v %+v", *st.IoServiceBytesRecursive[0], *st.IoServicedRecursive[4])
	}
	if len(st.ThrottleIoServicedRecursive) != 0 {
		t.Errorf("throttle entries from \"Total 0\"")
	}
}

// TestBlkioPartitionsCache checks that the partitions file is read once, and again only for a
// device number that it did not know.
func TestBlkioPartitionsCache(t *testing.T) {
	root := fixtureRoot(t, map[string]string{
		"proc/partitions": "major minor  #blocks  name\n\n 254 0 100 vda\n",
		"blkio/c/blkio.throttle.io_serviced_recursive": "254:0 Read 1\n9:9 Read 2\nTotal 3\n",
	})
	c := NewBlkio(root, ProcRoot(filepath.Join(root, "proc")))
	names := func() (string, string) {
		t.Helper()
		var m Metrics
		if err := c.Stat("/c", &m); err != nil {
			t.Fatal(err)
		}
		l := m.Blkio.ThrottleIoServicedRecursive
		return l[0].Device, l[1].Device
	}
	if a, b := names(); a != "/dev/vda" || b != "" {
		t.Fatalf("first Stat: %q %q", a, b)
	}
	// Known numbers, including the one the file lacked, do not cause a read.
	part := filepath.Join(root, "proc/partitions")
	if err := os.WriteFile(part, []byte(" 254 0 100 renamed\n 9 9 1 md9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, b := names(); a != "/dev/vda" || b != "" {
		t.Fatalf("second Stat re-read partitions: %q %q", a, b)
	}
	// A new number does.
	if err := os.WriteFile(filepath.Join(root, "blkio/c/blkio.throttle.io_serviced_recursive"),
		[]byte("254:0 Read 1\n9:9 Read 2\n9:10 Read 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names() // meets 9:10 and re-reads the file
	if a, b := names(); a != "/dev/renamed" || b != "/dev/md9" {
		t.Fatalf("Stat after the re-read: %q %q", a, b)
	}
	// An unreadable partitions file leaves names empty and Stat working.
	if err := os.Remove(part); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "blkio/c/blkio.throttle.io_serviced_recursive"),
		[]byte("1:1 Read 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var m Metrics
	if err := c.Stat("/c", &m); err != nil || m.Blkio.ThrottleIoServicedRecursive[0].Device != "" {
		t.Fatalf("Stat without partitions: %v", err)
	}
}

func u16(v uint16) *uint16 { return &v }

func blkioDev(major, minor int64) specs.LinuxBlockIODevice {
	return specs.LinuxBlockIODevice{Major: major, Minor: minor}
}

func TestBlkioUpdateFixture(t *testing.T) {
	defaultFilePerm = 0o666
	t.Cleanup(func() { defaultFilePerm = 0 })

	throttle := func(major, minor int64, rate uint64) []specs.LinuxThrottleDevice {
		return []specs.LinuxThrottleDevice{{LinuxBlockIODevice: blkioDev(major, minor), Rate: rate}}
	}
	t.Run("CFQ", func(t *testing.T) {
		root := fixtureRoot(t, map[string]string{"blkio/blkio.weight": "500\n"})
		c := NewBlkio(root)
		err := c.Create("/c", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight: u16(200), LeafWeight: u16(300),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(8, 0), Weight: u16(400), LeafWeight: u16(0)}},
			ThrottleReadBpsDevice:   throttle(8, 0, 1),
			ThrottleReadIOPSDevice:  throttle(8, 0, 2),
			ThrottleWriteBpsDevice:  throttle(8, 0, 3),
			ThrottleWriteIOPSDevice: throttle(8, 0, 0),
		}})
		if err != nil {
			t.Fatal(err)
		}
		for file, want := range map[string]string{
			"blkio.weight": "200", "blkio.leaf_weight": "300", "blkio.weight_device": "8:0 400",
			"blkio.leaf_weight_device": "8:0 0", "blkio.throttle.read_bps_device": "8:0 1",
			"blkio.throttle.read_iops_device": "8:0 2", "blkio.throttle.write_bps_device": "8:0 3",
			"blkio.throttle.write_iops_device": "8:0 0",
		} {
			if got := readTestFile(t, filepath.Join(root, "blkio/c", file)); got != want {
				t.Errorf("%s = %q, want %q", file, got, want)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "blkio/c/blkio.bfq.weight")); err == nil {
			t.Error("BFQ file written on a CFQ kernel")
		}
	})
	t.Run("BFQ", func(t *testing.T) {
		root := fixtureRoot(t, map[string]string{"blkio/.keep": ""})
		c := NewBlkio(root)
		err := c.Create("/c", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight:       u16(1),
			WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(7, 0), Weight: u16(1000)}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, filepath.Join(root, "blkio/c/blkio.bfq.weight")); got != "1" {
			t.Errorf("blkio.bfq.weight = %q", got)
		}
		if got := readTestFile(t, filepath.Join(root, "blkio/c/blkio.bfq.weight_device")); got != "7:0 1000" {
			t.Errorf("blkio.bfq.weight_device = %q", got)
		}
		if _, err := os.Stat(filepath.Join(root, "blkio/c/blkio.weight")); err == nil {
			t.Error("CFQ file written on a BFQ kernel")
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		root := fixtureRoot(t, map[string]string{"blkio/c/.keep": ""})
		c := NewBlkio(root)
		for name, tc := range map[string]struct {
			bio  specs.LinuxBlockIO
			want error
		}{
			"bfq weight 0":     {specs.LinuxBlockIO{Weight: u16(0)}, ErrInvalidValue},
			"bfq weight 1001":  {specs.LinuxBlockIO{Weight: u16(1001)}, ErrInvalidValue},
			"bfq leaf weight":  {specs.LinuxBlockIO{LeafWeight: u16(100)}, errors.ErrUnsupported},
			"bfq device leaf":  {specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(7, 0), LeafWeight: u16(100)}}}, errors.ErrUnsupported},
			"device weight 0":  {specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(7, 0), Weight: u16(0)}}}, ErrInvalidValue},
			"device no weight": {specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(7, 0)}}}, ErrInvalidValue},
			"negative major":   {specs.LinuxBlockIO{ThrottleReadBpsDevice: throttle(-1, 0, 5)}, ErrInvalidValue},
			"negative minor":   {specs.LinuxBlockIO{ThrottleWriteIOPSDevice: throttle(8, -3, 5)}, ErrInvalidValue},
			"huge major":       {specs.LinuxBlockIO{ThrottleWriteBpsDevice: throttle(1<<12, 0, 5)}, ErrInvalidValue},
			"huge minor":       {specs.LinuxBlockIO{ThrottleReadIOPSDevice: throttle(8, 1<<20, 5)}, ErrInvalidValue},
			// A valid rule first: validation happens before any write.
			"late invalid": {specs.LinuxBlockIO{Weight: u16(100), ThrottleReadBpsDevice: throttle(8, 0, 5),
				ThrottleWriteBpsDevice: throttle(8, -1, 5)}, ErrInvalidValue},
		} {
			err := c.Update("/c", &specs.LinuxResources{BlockIO: &tc.bio})
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: err %v, want %v", name, err, tc.want)
			}
		}
		ents, err := os.ReadDir(filepath.Join(root, "blkio/c"))
		if err != nil || len(ents) != 1 {
			t.Errorf("invalid updates wrote files: %v %v", ents, err)
		}
	})
}

// blkioTestDir is the blkio directory of a test cgroup.
func blkioTestDir(t *testing.T, cg Cgroup) (*blkioController, string) {
	t.Helper()
	for _, s := range cg.Subsystems() {
		if b, ok := s.(*blkioController); ok {
			return b, b.mount
		}
	}
	t.Skip("no blkio controller mounted")
	return nil, ""
}

// TestBlkioIntegrationWeight sets the proportional weight on the real kernel. This kernel
// (6.18, CONFIG_IOSCHED_BFQ off) has neither CFQ nor BFQ files, so there the test checks that a
// weight request fails with a clear, matchable error and writes nothing; on a kernel with BFQ it
// reads the weight back.
func TestBlkioIntegrationWeight(t *testing.T) {
	cg, path := newTestCgroup(t, nil)
	c, mount := blkioTestDir(t, cg)
	dir := filepath.Join(mount, path)
	if _, err := os.Stat(filepath.Join(mount, "blkio.weight")); err == nil {
		t.Skip("CFQ kernel: this test covers BFQ and weightless kernels")
	}
	_, statErr := os.Stat(filepath.Join(dir, "blkio.bfq.weight"))
	err := c.Update(path, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300)}})
	if errors.Is(statErr, os.ErrNotExist) {
		t.Logf("no BFQ on this kernel: %v", err)
		if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, os.ErrNotExist) ||
			!strings.Contains(err.Error(), "no BFQ") {
			t.Fatalf("weight without CFQ and BFQ: err %v, want a clear unsupported error", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(dir, "blkio.bfq.weight")); got != "300" {
		t.Errorf("blkio.bfq.weight = %q after Create with 300", got)
	}
	if err := cg.Update(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(700)}}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(dir, "blkio.bfq.weight")); got != "700" {
		t.Errorf("blkio.bfq.weight = %q after Update to 700", got)
	}
	// vda uses mq-deadline, not bfq: a per-device weight must say so.
	if _, err := os.Stat("/sys/dev/block/254:0"); err == nil {
		err := c.Update(path, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: blkioDev(254, 0), Weight: u16(300)}}}})
		if sched, _ := os.ReadFile("/sys/dev/block/254:0/queue/scheduler"); !strings.Contains(string(sched), "[bfq]") &&
			(!errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "BFQ")) {
			t.Errorf("per-device weight on a non-bfq device: %v", err)
		}
	}
}

// TestBlkioIntegrationThrottle sets throttle rules on the real disk (vda, 254:0), reads them back
// from the kernel, clears them with rate 0 and reads the statistics.
func TestBlkioIntegrationThrottle(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/sys/dev/block/254:0"); err != nil {
		t.Skipf("no block device 254:0 (vda) on this machine: %v", err)
	}
	rule := func(major, minor int64, rate uint64) specs.LinuxThrottleDevice {
		return specs.LinuxThrottleDevice{LinuxBlockIODevice: blkioDev(major, minor), Rate: rate}
	}
	devices := []specs.LinuxThrottleDevice{rule(254, 0, 1048576)}
	want := "254:0 1048576"
	if _, err := os.Stat("/sys/dev/block/253:0"); err == nil {
		// Two devices in one list: each rule is its own write, and the kernel keeps both.
		devices = append(devices, rule(253, 0, 4096))
		want = "253:0 4096\n254:0 1048576"
	}
	cg, path := newTestCgroup(t, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		ThrottleReadBpsDevice:   devices,
		ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{rule(254, 0, 2097152)},
		ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{rule(254, 0, 100)},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{rule(254, 0, 200)},
	}})
	c, mount := blkioTestDir(t, cg)
	dir := filepath.Join(mount, path)
	for file, w := range map[string]string{
		"blkio.throttle.read_bps_device": want, "blkio.throttle.write_bps_device": "254:0 2097152",
		"blkio.throttle.read_iops_device": "254:0 100", "blkio.throttle.write_iops_device": "254:0 200",
	} {
		if got := readTestFile(t, filepath.Join(dir, file)); got != w {
			t.Errorf("%s = %q, want %q", file, got, w)
		}
	}

	var m Metrics
	if err := c.Stat(path, &m); err != nil {
		t.Fatal(err)
	}
	if m.Blkio == nil {
		t.Fatal("Stat left Blkio nil")
	}
	// A device with a rule is listed in the throttle statistics, even without IO.
	found := false
	for _, e := range m.Blkio.ThrottleIoServiceBytesRecursive {
		if e.Major == 254 && e.Minor == 0 && e.Op == "Read" {
			found = true
			if e.Device != "/dev/vda" {
				t.Errorf("254:0 is named %q, want /dev/vda", e.Device)
			}
		}
	}
	if !found {
		t.Errorf("254:0 missing from throttle stats: %d entries", len(m.Blkio.ThrottleIoServiceBytesRecursive))
	}
	if len(m.Blkio.BFQIoServicedRecursive) == 0 && len(m.Blkio.IoServicedRecursive) > 0 &&
		&m.Blkio.IoServicedRecursive[0] != &m.Blkio.ThrottleIoServicedRecursive[0] {
		t.Error("legacy IoServicedRecursive does not share the throttle slice")
	}

	// Rate 0 removes the rule.
	zero := []specs.LinuxThrottleDevice{rule(254, 0, 0)}
	if err := cg.Update(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		ThrottleReadBpsDevice: zero, ThrottleWriteBpsDevice: zero, ThrottleReadIOPSDevice: zero, ThrottleWriteIOPSDevice: zero,
	}}); err != nil {
		t.Fatal(err)
	}
	wantRead := ""
	if len(devices) == 2 {
		wantRead = "253:0 4096"
	}
	for file, w := range map[string]string{
		"blkio.throttle.read_bps_device": wantRead, "blkio.throttle.write_bps_device": "",
		"blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
	} {
		if got := readTestFile(t, filepath.Join(dir, file)); got != w {
			t.Errorf("after clearing, %s = %q, want %q", file, got, w)
		}
	}

	// A device that does not exist is the kernel's ENODEV, named in the error.
	err := c.Update(path, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{rule(254, 99, 1)}}})
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "254:99") {
		t.Errorf("rule for a missing device: %v", err)
	}
}
