package cgroups

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestHugetlbPageSizes(t *testing.T) {
	got, err := hugePageSizes("testdata/hugetlb-sysfs")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"64KB", "2MB", "32MB", "1GB"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sizes = %q, want %q", got, want)
	}
	// Entries of another form are skipped, not fatal: V1 must not fail on an odd sysfs.
	got, err = hugePageSizes("testdata/hugetlb-sysfs-bad")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2MB"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sizes = %q, want %q", got, want)
	}
	// No directory: an error wrapping ErrNotExist, so that V1 drops hugetlb.
	_, err = newHugetlbSysfs(t.TempDir(), filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing sysfs dir: err = %v, want ErrNotExist", err)
	}
}

func TestHugetlbPageSizeName(t *testing.T) {
	for kb, want := range map[uint64]string{
		64: "64KB", 512: "512KB", 1024: "1MB", 1536: "1MB", 2048: "2MB", 32768: "32MB",
		524288: "512MB", 1048576: "1GB", 16777216: "16GB",
	} {
		if got := hugePageSizeName(kb * 1024); got != want {
			t.Errorf("hugePageSizeName(%d kB) = %q, want %q", kb, got, want)
		}
	}
}

func TestHugetlbSystemSizes(t *testing.T) {
	if _, err := os.Stat(hugepagesDir); err != nil {
		t.Skipf("%s: %v", hugepagesDir, err)
	}
	c, err := NewHugetlb(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(hugepagesDir)
	if len(c.sizes) != len(ents) || len(c.sizes) == 0 {
		t.Fatalf("sizes %q for %d entries of %s", c.sizes, len(ents), hugepagesDir)
	}
	for _, s := range c.sizes {
		if !strings.HasSuffix(s, "B") {
			t.Errorf("odd size name %q", s)
		}
	}
}

// hugetlbFixture makes a hugetlb cgroup /c with the files of a 2MB and a 1GB page size, with or
// without the reservation files, and returns the controller and the cgroup's directory.
func hugetlbFixture(t *testing.T, rsvd bool) (*hugetlbController, string) {
	t.Helper()
	files := map[string]string{}
	for _, size := range []string{"2MB", "1GB"} {
		p := "hugetlb/c/hugetlb." + size + "."
		files[p+"limit_in_bytes"] = "9223372036854771712\n"
		files[p+"usage_in_bytes"] = "4194304\n"
		files[p+"max_usage_in_bytes"] = "6291456\n"
		files[p+"failcnt"] = "3\n"
		if rsvd {
			files[p+"rsvd.limit_in_bytes"] = "9223372036854771712\n"
			files[p+"rsvd.usage_in_bytes"] = "2097152\n"
			files[p+"rsvd.max_usage_in_bytes"] = "8388608\n"
			files[p+"rsvd.failcnt"] = "7\n"
		}
	}
	root := fixtureRoot(t, files)
	sysfs := fixtureRoot(t, map[string]string{
		"hugepages-2048kB/nr_hugepages":    "0\n",
		"hugepages-1048576kB/nr_hugepages": "0\n",
	})
	c, err := newHugetlbSysfs(filepath.Join(root, "hugetlb"), sysfs)
	if err != nil {
		t.Fatal(err)
	}
	return c, filepath.Join(root, "hugetlb", "c")
}

// snapshot returns every file under dir with its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[p] = "<dir>"
			return nil
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHugetlbFixtureUpdate(t *testing.T) {
	c, dir := hugetlbFixture(t, true)
	err := c.Update("/c", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
		{Pagesize: "2MB", Limit: 4194304},
		{Pagesize: "1GB", Limit: math.MaxUint64},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"hugetlb.2MB.limit_in_bytes":      "4194304",
		"hugetlb.2MB.rsvd.limit_in_bytes": "4194304",
		"hugetlb.1GB.limit_in_bytes":      "-1",
		"hugetlb.1GB.rsvd.limit_in_bytes": "-1",
	} {
		if got := readTestFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

func TestHugetlbFixtureUpdateNoRsvd(t *testing.T) {
	c, dir := hugetlbFixture(t, false)
	err := c.Update("/c", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
		{Pagesize: "2MB", Limit: 2097152}, {Pagesize: "1GB", Limit: 0},
	}})
	if err != nil {
		t.Fatalf("Update without rsvd files: %v", err)
	}
	if got := readTestFile(t, filepath.Join(dir, "hugetlb.2MB.limit_in_bytes")); got != "2097152" {
		t.Errorf("2MB limit = %q", got)
	}
	if got := readTestFile(t, filepath.Join(dir, "hugetlb.1GB.limit_in_bytes")); got != "0" {
		t.Errorf("1GB limit = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "hugetlb.2MB.rsvd.limit_in_bytes")); !os.IsNotExist(err) {
		t.Errorf("an rsvd file was created: %v", err)
	}
}

// A page size becomes part of a file name: anything but a size of this machine is refused before
// any write (the CVE-2023-45804 class: runc#4103).
func TestHugetlbFixtureHostilePagesize(t *testing.T) {
	c, dir := hugetlbFixture(t, true)
	root := filepath.Dir(filepath.Dir(dir))
	// A file the traversal would reach if the page size were used verbatim.
	if err := os.WriteFile(filepath.Join(root, "x.limit_in_bytes"), []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	defaultFilePerm = 0o666 // even with file creation on, nothing may be created
	defer func() { defaultFilePerm = 0 }()
	before := snapshot(t, root)
	for _, ps := range []string{"../../x", "2MB/../..", "2MB/../../../x", "3MB", "", "2mb", "2MB\n", "2MB.rsvd", "."} {
		err := c.Update("/c", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
			{Pagesize: "2MB", Limit: 2097152}, // valid, but must not be written either
			{Pagesize: ps, Limit: 1},
		}})
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("pagesize %q: err = %v, want ErrInvalidValue", ps, err)
			continue
		}
		if !strings.Contains(err.Error(), strconvQuote(ps)) {
			t.Errorf("error %q does not name the page size %q", err, ps)
		}
	}
	if after := snapshot(t, root); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused update changed the tree:\nbefore %v\nafter  %v", before, after)
	}
}

func TestHugetlbFixtureStat(t *testing.T) {
	for _, rsvd := range []bool{true, false} {
		c, _ := hugetlbFixture(t, rsvd)
		var m Metrics
		if err := c.Stat("/c", &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Hugetlb) != 2 {
			t.Fatalf("rsvd=%v: %d entries, want 2", rsvd, len(m.Hugetlb))
		}
		for i, size := range []string{"2MB", "1GB"} {
			want := HugetlbStat{Pagesize: size, Usage: 4194304, Max: 6291456, Failcnt: 3,
				Limit: 9223372036854771712}
			if rsvd {
				want.RsvdUsage, want.RsvdMax, want.RsvdFailcnt, want.RsvdLimit = 2097152, 8388608, 7,
					9223372036854771712
			}
			if got := *m.Hugetlb[i]; got != want {
				t.Errorf("rsvd=%v: entry %d = %+v, want %+v", rsvd, i, got, want)
			}
		}
	}
	// A missing cgroup is an error wrapping ErrNotExist (IgnoreNotExist can drop it).
	c, _ := hugetlbFixture(t, true)
	var m Metrics
	if err := c.Stat("/gone", &m); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat of a missing cgroup: %v", err)
	}
}
