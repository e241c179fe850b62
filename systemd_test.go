package cgroups

import (
	"errors"
	"testing"
)

func TestSlicePath(t *testing.T) {
	for _, tc := range []struct {
		slice, name, want string
	}{
		{"system.slice", "runc-test", "/system.slice/runc-test.scope"},
		{"", "runc-test", "/system.slice/runc-test.scope"},
		{"a-b.slice", "x.scope", "/a.slice/a-b.slice/x.scope"},
		{"a-b-c.slice", "d.slice", "/a.slice/a-b.slice/a-b-c.slice/d.slice"},
		{"-.slice", "top.slice", "/top.slice"},
		{"user.slice", `esc\x2dname`, `/user.slice/esc\x2dname.scope`},
	} {
		got, err := Slice(tc.slice, tc.name)(Cpu)
		if err != nil || got != tc.want {
			t.Errorf("Slice(%q, %q) = %q, %v; want %q", tc.slice, tc.name, got, err, tc.want)
		}
	}
}

func TestSliceRejectsBadNames(t *testing.T) {
	for _, tc := range []struct{ slice, name string }{
		{"system", "x"},          // no .slice suffix
		{"a--b.slice", "x"},      // empty component
		{"-a.slice", "x"},        // leading dash
		{"a-.slice", "x"},        // trailing dash
		{"system.slice", "a/b"},  // slash
		{"system.slice", "../x"}, // escape
		{"system.slice", "a b"},  // space
		{"system.slice", ""},     // empty
	} {
		_, err := Slice(tc.slice, tc.name)(Cpu)
		if !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Slice(%q, %q): err = %v, want ErrInvalidPath", tc.slice, tc.name, err)
		}
	}
}

func TestSystemdNotSupported(t *testing.T) {
	if _, err := New(Systemd, Slice("system.slice", "runc-test"), nil); !errors.Is(err, ErrSystemdNotSupported) {
		t.Fatalf("New(Systemd): %v, want ErrSystemdNotSupported", err)
	}
}
