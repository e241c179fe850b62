package cgroups

// Parsers for the cgroup file formats. They work on []byte and do not allocate per line: keys
// are handed out as sub-slices, and a switch on string(key) compiles to comparisons without a
// conversion.

import (
	"bytes"
	"fmt"
	"strconv"
)

func strconvQuote(s string) string { return strconv.Quote(s) }

// trimSpace trims ASCII spaces, tabs and newlines.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// parseUint parses a decimal unsigned value. A negative value (some memory counters can go below
// zero through kernel accounting races) is 0; "max" is math.MaxUint64 only where the caller says
// so, through parseUintMax.
func parseUint(b []byte) (uint64, error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty value", ErrInvalidFormat)
	}
	if b[0] == '-' {
		if _, err := parseDigits(b[1:]); err != nil {
			return 0, fmt.Errorf("%w: %q is not a number", ErrInvalidFormat, b)
		}
		return 0, nil
	}
	v, err := parseDigits(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrInvalidFormat, b, err)
	}
	return v, nil
}

// parseUintMax is parseUint with "max" meaning MaxUint64.
func parseUintMax(b []byte) (uint64, error) {
	if string(trimSpace(b)) == "max" {
		return ^uint64(0), nil
	}
	return parseUint(b)
}

func parseDigits(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("no digits")
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid digit %q", c)
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, fmt.Errorf("value out of range")
		}
		v = v*10 + d
	}
	return v, nil
}

// parseInt parses a decimal signed value.
func parseInt(b []byte) (int64, error) {
	b = trimSpace(b)
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, err := parseDigits(b)
	if err != nil || u > 1<<63 || (!neg && u == 1<<63) {
		return 0, fmt.Errorf("%w: %q is not an int64", ErrInvalidFormat, b)
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// nextLine splits data at the first newline.
func nextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// nextField splits a line at the first run of spaces or tabs.
func nextField(line []byte) (field, rest []byte) {
	line = trimLeft(line)
	i := 0
	for i < len(line) && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	return line[:i], trimLeft(line[i:])
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// forEachKeyValue calls fn for every "key value" line of a flat keyed file such as memory.stat
// or cpu.stat. A line without two fields, or with a value that is not a number, is an error that
// names the line number.
func forEachKeyValue(data []byte, fn func(key []byte, value uint64)) error {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(trimSpace(line)) == 0 {
			continue
		}
		key, rest := nextField(line)
		val, extra := nextField(rest)
		if len(key) == 0 || len(val) == 0 || len(trimSpace(extra)) != 0 {
			return fmt.Errorf("%w: line %d: %q is not \"key value\"", ErrInvalidFormat, n, line)
		}
		v, err := parseUint(val)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		fn(key, v)
	}
	return nil
}

// parseUintList parses space-separated unsigned values (cpuacct.usage_percpu, with its trailing
// space), appending to dst.
func parseUintList(data []byte, dst []uint64) ([]uint64, error) {
	for {
		var f []byte
		f, data = nextField(trimSpace(data))
		if len(f) == 0 {
			return dst, nil
		}
		v, err := parseUint(f)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
}

// parsePids parses cgroup.procs or tasks: one decimal pid per line.
func parsePids(data []byte, fn func(pid int)) error {
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		line = trimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := parseDigits(line)
		if err != nil || v > 1<<31 {
			return fmt.Errorf("%w: pid %q", ErrInvalidFormat, line)
		}
		fn(int(v))
	}
	return nil
}
