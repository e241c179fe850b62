package cgroups

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseUint(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "42\n": 42, " 7 ": 7, "18446744073709551615": math.MaxUint64, "-1": 0, "-9223372036854775808\n": 0,
	} {
		got, err := parseUint([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseUint(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "max", "18446744073709551616", "1.5", "12a", "-", "--1", "- 1"} {
		if _, err := parseUint([]byte(in)); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parseUint(%q): %v, want ErrInvalidFormat", in, err)
		}
	}
	if v, err := parseUintMax([]byte("max\n")); err != nil || v != math.MaxUint64 {
		t.Errorf("parseUintMax(max) = %d, %v", v, err)
	}
	if v, err := parseUintMax([]byte("12")); err != nil || v != 12 {
		t.Errorf("parseUintMax(12) = %d, %v", v, err)
	}
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "-1": -1, "9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64, " 5\n": 5,
	} {
		got, err := parseInt([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseInt(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"9223372036854775808", "-9223372036854775809", "", "-", "x"} {
		if _, err := parseInt([]byte(in)); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parseInt(%q): %v", in, err)
		}
	}
}

func TestParseFields(t *testing.T) {
	f, rest := nextField([]byte("  a\tb  c "))
	if string(f) != "a" || string(rest) != "b  c " {
		t.Errorf("nextField = %q, %q", f, rest)
	}
	l, rest := nextLine([]byte("x\ny"))
	if string(l) != "x" || string(rest) != "y" {
		t.Errorf("nextLine = %q, %q", l, rest)
	}
	if l, rest := nextLine([]byte("last")); string(l) != "last" || rest != nil {
		t.Errorf("nextLine(last) = %q, %q", l, rest)
	}
	if got := string(trimSpace([]byte("\t x y \r\n"))); got != "x y" {
		t.Errorf("trimSpace = %q", got)
	}
}

func TestParseKeyValue(t *testing.T) {
	data := []byte("cache 4096\nrss 8192\n\ntotal_rss -12\nhierarchical_memory_limit 9223372036854771712\n")
	got := map[string]uint64{}
	if err := forEachKeyValue(data, func(k []byte, v uint64) { got[string(k)] = v }); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"cache": 4096, "rss": 8192, "total_rss": 0, "hierarchical_memory_limit": 9223372036854771712}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	for in, line := range map[string]string{"a 1\nb\n": "line 2", "a 1 2\n": "line 1", "a 1\nb x\n": "line 2"} {
		err := forEachKeyValue([]byte(in), func([]byte, uint64) {})
		if !errors.Is(err, ErrInvalidFormat) || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: %v, want ErrInvalidFormat naming %s", in, err, line)
		}
	}
	var sum uint64
	allocs := testing.AllocsPerRun(100, func() {
		_ = forEachKeyValue(data, func(k []byte, v uint64) {
			switch string(k) {
			case "cache", "rss":
				sum += v
			}
		})
	})
	if allocs != 0 {
		t.Errorf("forEachKeyValue allocates %.0f times", allocs)
	}
}

func TestParseLists(t *testing.T) {
	got, err := parseUintList([]byte("123 456 789 \n"), nil)
	if err != nil || !reflect.DeepEqual(got, []uint64{123, 456, 789}) {
		t.Errorf("parseUintList = %v, %v", got, err)
	}
	if got, err := parseUintList([]byte("\n"), nil); err != nil || len(got) != 0 {
		t.Errorf("empty list = %v, %v", got, err)
	}
	if _, err := parseUintList([]byte("1 x"), nil); err == nil {
		t.Error("parseUintList accepted x")
	}
	var pids []int
	if err := parsePids([]byte("1\n22\n\n333\n"), func(p int) { pids = append(pids, p) }); err != nil || !reflect.DeepEqual(pids, []int{1, 22, 333}) {
		t.Errorf("parsePids = %v, %v", pids, err)
	}
	for _, bad := range []string{"-1\n", "99999999999\n", "1 2\n"} {
		if err := parsePids([]byte(bad), func(int) {}); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parsePids(%q): %v", bad, err)
		}
	}
}
