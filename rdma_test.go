package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The rdma tests run on fixtures only: this machine's kernel has no rdma controller
// (CONFIG_CGROUP_RDMA is not set).

func u32(v uint32) *uint32 { return &v }

func TestRdmaParse(t *testing.T) {
	data, err := os.ReadFile("testdata/rdma/rdma.max")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseRdma(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || *entries[0] != (RdmaEntry{"mlx4_0", 2, 2000}) ||
		*entries[1] != (RdmaEntry{"ocrdma1", 3, math.MaxUint32}) {
		t.Errorf("rdma.max: %+v %+v", entries[0], entries[1])
	}
	// Key order does not matter, unknown keys are ignored, blank lines skipped.
	entries, err = parseRdma([]byte("\nmlx5_1 hca_object=max hca_future=3 hca_handle=9\n"))
	if err != nil || len(entries) != 1 || *entries[0] != (RdmaEntry{"mlx5_1", 9, math.MaxUint32}) {
		t.Errorf("reordered keys: %v %+v", err, entries)
	}
	for _, s := range []string{"mlx4_0 hca_handle\n", "mlx4_0 hca_handle=x\n", "mlx4_0 =5\n", "mlx4_0 hca_handle=4294967296\n"} {
		if _, err := parseRdma([]byte(s)); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parseRdma(%q): %v, want ErrInvalidFormat", s, err)
		}
	}
}

func TestRdmaStatFixture(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"rdma.max", "rdma.current"} {
		b, err := os.ReadFile(filepath.Join("testdata/rdma", f))
		if err != nil {
			t.Fatal(err)
		}
		files["rdma/c/"+f] = string(b)
	}
	// A device that appears between the two reads costs nothing (containerd dropped both lists).
	files["rdma/c/rdma.max"] += "hfi1_0 hca_handle=max hca_object=max\n"
	root := fixtureRoot(t, files)
	var m Metrics
	if err := NewRdma(root).Stat("/c", &m); err != nil {
		t.Fatal(err)
	}
	if m.Rdma == nil || len(m.Rdma.Current) != 2 || len(m.Rdma.Limit) != 3 {
		t.Fatalf("Stat: %+v", m.Rdma)
	}
	if *m.Rdma.Current[1] != (RdmaEntry{"ocrdma1", 1, 23}) || *m.Rdma.Limit[2] != (RdmaEntry{"hfi1_0", math.MaxUint32, math.MaxUint32}) {
		t.Errorf("Stat: %+v %+v", *m.Rdma.Current[1], *m.Rdma.Limit[2])
	}
	if err := NewRdma(root).Stat("/missing", &Metrics{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat of a missing cgroup: %v", err)
	}
}

func TestRdmaUpdateWritesEveryDevice(t *testing.T) {
	rdma := map[string]specs.LinuxRdma{
		"mlx5_1": {HcaHandles: u32(3), HcaObjects: u32(100)},
		"mlx4_0": {HcaObjects: u32(math.MaxUint32)},
		"none_0": {},
		"hfi1_0": {HcaHandles: u32(0)},
	}
	got, err := rdmaValues(rdma)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"hfi1_0 hca_handle=0", "mlx4_0 hca_object=max", "mlx5_1 hca_handle=3 hca_object=100"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("values %q, want %q", got, want)
	}
	// Update writes them all, one per write: a plain file keeps the last one.
	root := fixtureRoot(t, map[string]string{"rdma/c/rdma.max": ""})
	if err := NewRdma(root).Update("/c", &specs.LinuxResources{Rdma: rdma}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(root, "rdma/c/rdma.max")); got != want[2] {
		t.Errorf("rdma.max = %q, want the last device's line %q", got, want[2])
	}
}

func TestRdmaUpdateInvalid(t *testing.T) {
	defaultFilePerm = 0o666
	t.Cleanup(func() { defaultFilePerm = 0 })
	root := fixtureRoot(t, map[string]string{"rdma/c/.keep": ""})
	c := NewRdma(root)
	for _, dev := range []string{"", "mlx 0", "mlx\n0", "a=b", "x\t"} {
		err := c.Update("/c", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{
			"aaa_first": {HcaHandles: u32(1)},
			dev:         {HcaHandles: u32(1)},
		}})
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("device %q: %v, want ErrInvalidValue", dev, err)
		}
	}
	err := c.Update("/c", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaObjects: u32(math.MaxInt32 + 1)}}})
	if !errors.Is(err, ErrInvalidValue) {
		t.Errorf("hca_object above MaxInt32: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "rdma/c/rdma.max")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an invalid update wrote rdma.max (validation must come before any write): %v", err)
	}
	if err := c.Create("/d", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: u32(math.MaxInt32)}}}); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, filepath.Join(root, "rdma/d/rdma.max")); got != "mlx4_0 hca_handle=2147483647" {
		t.Errorf("Create wrote %q", got)
	}
}
