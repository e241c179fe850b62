package cgroups

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func netprioResources(p ...specs.LinuxInterfacePriority) *specs.LinuxResources {
	return &specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: p}}
}

func TestNetPrioCheckIfName(t *testing.T) {
	good := []string{"lo", "eth0", "a", "123456789012345", "veth-x_1.2", "wlp0s20f3"}
	for _, n := range good {
		if err := checkIfName(n); err != nil {
			t.Errorf("checkIfName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "1234567890123456", ".", "..", "a/b", "../x", "eth0:1", "a b", "a\tb",
		"lo\n", "lo\x00", "lo 5", "x\xa0y"}
	for _, n := range bad {
		err := checkIfName(n)
		if !errors.Is(err, ErrInvalidValue) {
			t.Errorf("checkIfName(%q) = %v, want ErrInvalidValue", n, err)
			continue
		}
		if !strings.Contains(err.Error(), strconvQuote(n)) {
			t.Errorf("error %q does not name the value %q", err, n)
		}
	}
}

func TestNetPrioFixtureUpdate(t *testing.T) {
	root := fixtureRoot(t, map[string]string{"net_prio/c/net_prio.ifpriomap": "lo 0\neth0 0\n"})
	c := NewNetPrio(root)
	if c.Name() != NetPrio {
		t.Fatalf("Name() = %q", c.Name())
	}
	file := filepath.Join(root, "net_prio", "c", "net_prio.ifpriomap")

	// A bad name anywhere in the list writes nothing at all, not even the good entries before it.
	err := c.Update("/c", netprioResources(
		specs.LinuxInterfacePriority{Name: "lo", Priority: 3},
		specs.LinuxInterfacePriority{Name: "eth0\nlo", Priority: 4}))
	if !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("Update with a bad name = %v, want ErrInvalidValue", err)
	}
	if got := readTestFile(t, file); got != "lo 0\neth0 0" {
		t.Fatalf("ifpriomap changed by a refused update: %q", got)
	}

	// On a plain file each write truncates, so the file shows the last of the one-pair writes.
	if err := c.Update("/c", netprioResources(
		specs.LinuxInterfacePriority{Name: "lo", Priority: 3},
		specs.LinuxInterfacePriority{Name: "eth0", Priority: 4})); err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, file); got != "eth0 4" {
		t.Fatalf("ifpriomap = %q, want the last single pair %q", got, "eth0 4")
	}

	// Nothing to do: no write.
	for _, r := range []*specs.LinuxResources{nil, {}, netprioResources()} {
		if err := c.Update("/missing", r); err != nil {
			t.Fatalf("Update(%+v) = %v, want nil", r, err)
		}
	}
}
