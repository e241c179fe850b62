package cgroups

// The device rule emulator. The v1 devices controller keeps a default policy (allow all or deny
// all) and a list of exceptions, each an exact {type, major, minor} key with some of r, w and m.
// In allow-all mode the exceptions are denied devices, in deny-all mode they are allowed devices.
// A write to devices.allow or devices.deny either switches the default (type "a", which also
// clears the exceptions) or adds or removes permissions on one exact key: the kernel never
// splits a wildcard key, so removing "c 136:0" under "c 136:*" silently does nothing.
//
// Update builds two emulators, one from devices.list (what the cgroup has) and one from the
// requested OCI rules (what it should have), and writes only the difference, so that a process
// never loses access to a device it keeps. Only a change of the default policy needs the
// disruptive "a" write.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	devicesAllowFile = "devices.allow"
	devicesDenyFile  = "devices.deny"
	devicesListFile  = "devices.list"

	// devWildcard is a wildcard major or minor. The kernel stores it as ~0 (4294967295) and
	// prints it as "*".
	devWildcard = -1
	// devKernelWildcard is the kernel's own spelling of the wildcard as a number.
	devKernelWildcard = math.MaxUint32
)

// devPerms is a set of device permissions: read, write, mknod.
type devPerms uint8

const (
	devRead devPerms = 1 << iota
	devWrite
	devMknod

	devAll = devRead | devWrite | devMknod
)

// String gives the permissions in the kernel's order, "rwm".
func (p devPerms) String() string {
	var b [3]byte
	n := 0
	if p&devRead != 0 {
		b[n] = 'r'
		n++
	}
	if p&devWrite != 0 {
		b[n] = 'w'
		n++
	}
	if p&devMknod != 0 {
		b[n] = 'm'
		n++
	}
	return string(b[:n])
}

// parseDevPerms parses an access string: any of r, w and m, repeated or not (the kernel accepts
// "rrr"). It returns false for anything else, and for an empty string.
func parseDevPerms(s []byte) (devPerms, bool) {
	var p devPerms
	for _, c := range s {
		switch c {
		case 'r':
			p |= devRead
		case 'w':
			p |= devWrite
		case 'm':
			p |= devMknod
		default:
			return 0, false
		}
	}
	return p, len(s) > 0
}

// devKey is one exception's key: type 'b' or 'c', and a major and minor that may be devWildcard.
type devKey struct {
	typ          byte
	major, minor int64
}

func (k devKey) String() string {
	return string(k.typ) + " " + deviceNumber(k.major) + ":" + deviceNumber(k.minor)
}

func deviceNumber(n int64) string {
	if n == devWildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// covers tells whether k matches every device other matches (k is other or a wildcard of it).
func (k devKey) covers(other devKey) bool {
	return k.typ == other.typ &&
		(k.major == devWildcard || k.major == other.major) &&
		(k.minor == devWildcard || k.minor == other.minor)
}

// less orders keys by type, then major, then minor, a wildcard first.
func (k devKey) less(o devKey) bool {
	if k.typ != o.typ {
		return k.typ < o.typ
	}
	if k.major != o.major {
		return k.major < o.major
	}
	return k.minor < o.minor
}

// devRule is one validated rule: type 'a' (all devices) or an exact key, and what it grants or
// takes away.
type devRule struct {
	allow bool
	all   bool // type "a": the rule sets the default policy; key is unused
	key   devKey
	perms devPerms
}

func (r devRule) String() string {
	verb := "deny"
	if r.allow {
		verb = "allow"
	}
	if r.all {
		return verb + " a *:* " + r.perms.String()
	}
	return verb + " " + r.key.String() + " " + r.perms.String()
}

// value is the rule as written to devices.allow or devices.deny.
func (r devRule) value() string {
	if r.all {
		return "a *:* " + r.perms.String()
	}
	return r.key.String() + " " + r.perms.String()
}

func (r devRule) file() string {
	if r.allow {
		return devicesAllowFile
	}
	return devicesDenyFile
}

// ociDevRule validates one OCI rule and converts it. Type "" and "a" mean all devices, a nil or
// -1 major or minor is the wildcard, and so is 4294967295 (the kernel's ~0). An empty Access means
// "rwm", as the OCI runtimes read it. Anything the kernel would reject or silently misread is an
// error naming the rule.
func ociDevRule(i int, d specs.LinuxDeviceCgroup) (devRule, error) {
	bad := func(why string) (devRule, error) {
		return devRule{}, fmt.Errorf("%w: device rule %d %s: %s", ErrInvalidValue, i, describeOCIRule(d), why)
	}
	r := devRule{allow: d.Allow, perms: devAll}
	if d.Access != "" {
		p, ok := parseDevPerms([]byte(d.Access))
		if !ok {
			return bad(fmt.Sprintf("access %q is not made of r, w and m", d.Access))
		}
		r.perms = p
	}
	major, err := ociDevNum(d.Major)
	if err != nil {
		return bad("major " + err.Error())
	}
	minor, err := ociDevNum(d.Minor)
	if err != nil {
		return bad("minor " + err.Error())
	}
	switch d.Type {
	case "", "a":
		// The kernel ignores the rest of an "a" line: "allow a 1:3 r" allows everything. Refuse
		// numbers that would be silently dropped rather than grant or deny more than asked.
		if major != devWildcard || minor != devWildcard {
			return bad(`type "a" (all devices) cannot have a major or minor: the kernel ignores them and applies the rule to every device`)
		}
		if r.perms != devAll {
			return bad(`type "a" (all devices) needs access "rwm": the kernel applies an "a" rule to every permission`)
		}
		r.all = true
	case "b", "c":
		r.key = devKey{typ: d.Type[0], major: major, minor: minor}
	default:
		return bad(fmt.Sprintf("type %q is not a, b or c", d.Type))
	}
	return r, nil
}

func ociDevNum(n *int64) (int64, error) {
	if n == nil || *n == devWildcard || *n == devKernelWildcard {
		return devWildcard, nil
	}
	if *n < 0 || *n > devKernelWildcard {
		return 0, fmt.Errorf("%d is out of range (-1 for all, or 0 to %d)", *n, uint32(devKernelWildcard))
	}
	return *n, nil
}

func describeOCIRule(d specs.LinuxDeviceCgroup) string {
	num := func(n *int64) string {
		if n == nil {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	verb := "deny"
	if d.Allow {
		verb = "allow"
	}
	return strconv.Quote(fmt.Sprintf("%s %s %s:%s %s", verb, d.Type, num(d.Major), num(d.Minor), d.Access))
}

// devEmulator models the state of one devices cgroup.
type devEmulator struct {
	defaultAllow bool
	// rules are the exceptions to the default: denied devices when defaultAllow, allowed ones
	// otherwise.
	rules map[devKey]devPerms
}

// newDevEmulator returns the state of a new cgroup under an unrestricted parent: allow all.
func newDevEmulator() *devEmulator {
	return &devEmulator{defaultAllow: true, rules: map[devKey]devPerms{}}
}

// buildDevTarget applies OCI rules in order to a new allow-all emulator: the state a new cgroup
// under an unrestricted parent gets from them.
func buildDevTarget(rules []specs.LinuxDeviceCgroup) (*devEmulator, error) {
	converted, err := ociDevRules(rules)
	if err != nil {
		return nil, err
	}
	return newDevEmulator().applied(converted, rules)
}

// ociDevRules validates OCI rules and converts them, failing on the first invalid one with an
// error that names it.
func ociDevRules(rules []specs.LinuxDeviceCgroup) ([]devRule, error) {
	out := make([]devRule, 0, len(rules))
	for i, d := range rules {
		r, err := ociDevRule(i, d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// applied returns a copy of e with rules applied in order (oci are the same rules as given, for
// messages). A rule the kernel would silently ignore is an error.
func (e *devEmulator) applied(rules []devRule, oci []specs.LinuxDeviceCgroup) (*devEmulator, error) {
	out := &devEmulator{defaultAllow: e.defaultAllow, rules: make(map[devKey]devPerms, len(e.rules))}
	for k, p := range e.rules {
		out.rules[k] = p
	}
	for i, r := range rules {
		if err := out.apply(r); err != nil {
			return nil, fmt.Errorf("%w: device rule %d %s: %w", ErrInvalidValue, i, describeOCIRule(oci[i]), err)
		}
	}
	return out, nil
}

// apply applies one rule as the kernel would, except that it refuses a rule the kernel would
// silently ignore.
func (e *devEmulator) apply(r devRule) error {
	if r.all {
		// The kernel ignores the access of an "a" rule: it always switches the whole policy.
		e.defaultAllow = r.allow
		clear(e.rules)
		return nil
	}
	if r.allow == e.defaultAllow {
		// Allowing in allow-all mode (or denying in deny-all mode) takes away an exception.
		return e.remove(r.key, r.perms)
	}
	e.rules[r.key] |= r.perms
	return nil
}

// remove takes perms away from the exception k and from every narrower exception k covers (so
// that "deny c 1:* rw" leaves no "c 1:3 rw" behind, which the kernel alone would do). It refuses
// to punch a hole into a wider exception: the kernel would keep "c 136:* rw" whole on a
// "deny c 136:0 rw", and the device would stay allowed.
func (e *devEmulator) remove(k devKey, perms devPerms) error {
	for w, p := range e.rules {
		if w != k && w.covers(k) && p&perms != 0 {
			return fmt.Errorf("cannot take %s away from %s: the wider rule %s %s covers it, and the kernel removes only exact rules (it would silently keep the access)",
				(p & perms).String(), k, w, p)
		}
	}
	for n, p := range e.rules {
		if k.covers(n) {
			if p &^= perms; p == 0 {
				delete(e.rules, n)
			} else {
				e.rules[n] = p
			}
		}
	}
	return nil
}

// parseDevicesList reads a devices.list: "a *:* rwm" alone means allow-all (whose deny
// exceptions the kernel does not show), anything else is the whitelist of a deny-all cgroup, one
// "<type> <major>:<minor> <access>" per line, an empty file being deny-all with no exception.
func parseDevicesList(data []byte) (*devEmulator, error) {
	e := &devEmulator{rules: map[devKey]devPerms{}}
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(trimSpace(line)) == 0 {
			continue
		}
		r, all, err := parseDevicesListLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: devices.list line %d %q: %v", ErrInvalidFormat, n, line, err)
		}
		if all {
			if n != 1 || len(trimSpace(data)) != 0 {
				return nil, fmt.Errorf("%w: devices.list: %q is not the only line", ErrInvalidFormat, line)
			}
			e.defaultAllow = true
			return e, nil
		}
		e.rules[r.key] |= r.perms
	}
	return e, nil
}

func parseDevicesListLine(line []byte) (r devRule, all bool, err error) {
	typ, rest := nextField(line)
	nums, rest := nextField(rest)
	access, rest := nextField(rest)
	if len(typ) != 1 || len(trimSpace(rest)) != 0 {
		return r, false, fmt.Errorf("not \"<type> <major>:<minor> <access>\"")
	}
	if r.perms, all = parseDevPerms(access); !all {
		return r, false, fmt.Errorf("bad access %q", access)
	}
	colon := -1
	for i, c := range nums {
		if c == ':' {
			colon = i
			break
		}
	}
	if colon < 0 {
		return r, false, fmt.Errorf("bad device numbers %q", nums)
	}
	major, err1 := parseDevListNum(nums[:colon])
	minor, err2 := parseDevListNum(nums[colon+1:])
	if err1 != nil || err2 != nil {
		return r, false, fmt.Errorf("bad device numbers %q", nums)
	}
	switch typ[0] {
	case 'a':
		return r, true, nil
	case 'b', 'c':
		r.key = devKey{typ: typ[0], major: major, minor: minor}
		return r, false, nil
	}
	return r, false, fmt.Errorf("bad type %q", typ)
}

func parseDevListNum(b []byte) (int64, error) {
	if string(b) == "*" {
		return devWildcard, nil
	}
	v, err := parseDigits(b)
	if err != nil || v > devKernelWildcard {
		return 0, fmt.Errorf("bad number %q", b)
	}
	if v == devKernelWildcard {
		return devWildcard, nil
	}
	return int64(v), nil
}

// sortedKeys returns the keys of the rules in order.
func (e *devEmulator) sortedKeys() []devKey {
	keys := make([]devKey, 0, len(e.rules))
	for k := range e.rules {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	return keys
}

// transition returns the writes that take a cgroup from state e to target, in order.
//
// If the default policy differs, or e is allow-all (whose deny exceptions devices.list does not
// show, so they cannot be diffed), the first write is the "a" rule of the target's default and
// every target exception follows: that is the only case where access can drop for a moment.
// Otherwise only the differences are written, the grants first and then the removals, so that at
// every moment each device has at least the access that both the old and the new rules give it,
// even when a wildcard replaces exact rules or the other way round.
func (e *devEmulator) transition(target *devEmulator) []devRule {
	var out []devRule
	if e.defaultAllow || e.defaultAllow != target.defaultAllow {
		out = append(out, devRule{allow: target.defaultAllow, all: true, perms: devAll})
		for _, k := range target.sortedKeys() {
			out = append(out, devRule{allow: !target.defaultAllow, key: k, perms: target.rules[k]})
		}
		return out
	}
	// Deny-all on both sides: exceptions are grants. Add what is new, then remove what is gone.
	for _, k := range target.sortedKeys() {
		if add := target.rules[k] &^ e.rules[k]; add != 0 {
			out = append(out, devRule{allow: true, key: k, perms: add})
		}
	}
	for _, k := range e.sortedKeys() {
		if del := e.rules[k] &^ target.rules[k]; del != 0 {
			out = append(out, devRule{allow: false, key: k, perms: del})
		}
	}
	return out
}

// matches tells whether a state read back from devices.list is the target. For an allow-all
// target only the default can be checked: the kernel does not list deny exceptions.
func (e *devEmulator) matches(target *devEmulator) bool {
	if e.defaultAllow != target.defaultAllow {
		return false
	}
	if target.defaultAllow {
		return true
	}
	if len(e.rules) != len(target.rules) {
		return false
	}
	for k, p := range target.rules {
		if e.rules[k] != p {
			return false
		}
	}
	return true
}

// String describes the state the way devices.list would, with the deny exceptions of an
// allow-all state shown after it.
func (e *devEmulator) String() string {
	var b strings.Builder
	if e.defaultAllow {
		b.WriteString("a *:* rwm")
		for _, k := range e.sortedKeys() {
			b.WriteString(", deny " + k.String() + " " + e.rules[k].String())
		}
		return b.String()
	}
	if len(e.rules) == 0 {
		return "(deny all)"
	}
	for i, k := range e.sortedKeys() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.String() + " " + e.rules[k].String())
	}
	return b.String()
}
