package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func netclsResources(id *uint32) *specs.LinuxResources {
	return &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: id}}
}

func TestNetClsFixtureCreateUpdate(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"net_cls/net_cls.classid": "0\n"})
	c := NewNetCls(root)
	if c.Name() != NetCLS {
		t.Fatalf("Name() = %q", c.Name())
	}
	// Create makes the directory; the kernel would provide the file, the fixture needs it made.
	defaultFilePerm = 0o666
	defer func() { defaultFilePerm = 0 }()

	id := uint32(0x100001)
	if err := c.Create("/a/b", netclsResources(&id)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "net_cls", "a", "b", "net_cls.classid")
	if got := readTestFile(t, file); got != "1048577" {
		t.Fatalf("classid = %q, want 1048577", got)
	}

	// nil ClassID and nil Network leave the value alone.
	for _, r := range []*specs.LinuxResources{nil, {}, netclsResources(nil)} {
		if err := c.Update("/a/b", r); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, file); got != "1048577" {
			t.Fatalf("after no-op update %+v: classid = %q", r, got)
		}
	}

	// 0 resets the class id (containerd skips 0 and cannot reset).
	zero := uint32(0)
	if err := c.Update("/a/b", netclsResources(&zero)); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, file); got != "0" {
		t.Fatalf("classid after reset = %q, want 0", got)
	}
}

func TestNetClsFixtureBadPath(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"net_cls/net_cls.classid": "0\n"})
	c := NewNetCls(root)
	id := uint32(1)
	err := c.Update("/../../etc", netclsResources(&id))
	if !errors.Is(err, ErrInvalidPath) {
		t.Fatalf("Update(/../../etc) = %v, want ErrInvalidPath", err)
	}
	// Without defaultFilePerm a missing cgroup is an error naming the file, never a created file.
	err = c.Update("/missing", netclsResources(&id))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Update(/missing) = %v, want ErrNotExist", err)
	}
	if _, serr := os.Stat(filepath.Join(root, "net_cls", "missing")); !os.IsNotExist(serr) {
		t.Fatalf("Update created %s", filepath.Join(root, "net_cls", "missing"))
	}
}
