package cgroups

import (
	"errors"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociDev is a short way to write an OCI rule: "allow c 1:3 rwm", "deny a", "allow b *:* m".
func ociDev(t testing.TB, s string) specs.LinuxDeviceCgroup {
	t.Helper()
	f := strings.Fields(s)
	d := specs.LinuxDeviceCgroup{Allow: f[0] == "allow"}
	if len(f) > 1 {
		d.Type = f[1]
	}
	if len(f) > 2 {
		mm := strings.SplitN(f[2], ":", 2)
		num := func(x string) *int64 {
			if x == "*" {
				return nil
			}
			n, err := parseInt([]byte(x))
			if err != nil {
				t.Fatal(err)
			}
			return &n
		}
		d.Major, d.Minor = num(mm[0]), num(mm[1])
	}
	if len(f) > 3 {
		d.Access = f[3]
	}
	return d
}

func ociDevs(t testing.TB, rules ...string) []specs.LinuxDeviceCgroup {
	t.Helper()
	out := make([]specs.LinuxDeviceCgroup, len(rules))
	for i, r := range rules {
		out[i] = ociDev(t, r)
	}
	return out
}

func mustParseList(t testing.TB, s string) *devEmulator {
	t.Helper()
	e, err := parseDevicesList([]byte(s))
	if err != nil {
		t.Fatalf("parseDevicesList(%q): %v", s, err)
	}
	return e
}

func writesOf(rules []devRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.file() + " " + r.value()
	}
	return out
}

func TestDevicesRulesParseList(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/devices/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, data string
		want       string // devEmulator.String
	}{
		{"allow-all (captured)", read("allow-all.list"), "a *:* rwm"},
		{"deny-all (captured)", read("deny-all.list"), "(deny all)"},
		{"whitelist (captured)", read("whitelist.list"),
			"b *:* m, c *:1 r, c 1:3 rwm, c 1:5 rw, c 5:2 rw, c 10:200 rwm, c 136:* rw"},
		{"kernel wildcard number", "c 4294967295:4294967295 m\n", "c *:* m"},
		{"no trailing newline", "c 1:3 r", "c 1:3 r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParseList(t, tc.data).String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"x 1:3 r\n", "c 1:3\n", "c 1:3 rx\n", "c 1-3 r\n", "c 1:3 r extra\n",
		"c 4294967296:1 r\n", "a *:* rwm\nc 1:3 r\n", "c 1:3 r\na *:* rwm\n", "cc 1:3 r\n", "c :3 r\n"} {
		if _, err := parseDevicesList([]byte(bad)); !errors.Is(err, ErrInvalidFormat) {
			t.Errorf("parseDevicesList(%q) = %v, want ErrInvalidFormat", bad, err)
		}
	}
}

func TestDevicesRulesApply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []string
		want  string
	}{
		{"no rules is allow-all", nil, "a *:* rwm"},
		{"deny all", []string{"deny a *:* rwm"}, "(deny all)"},
		{"whitelist", []string{"deny a", "allow c 1:3 rwm", "allow c 136:* rw", "allow b *:* m"},
			"b *:* m, c 1:3 rwm, c 136:* rw"},
		{"merge", []string{"deny a", "allow c 5:2 r", "allow c 5:2 w"}, "c 5:2 rw"},
		{"narrow", []string{"deny a", "allow c 1:3 rwm", "deny c 1:3 w"}, "c 1:3 rm"},
		{"remove whole", []string{"deny a", "allow c 1:3 rwm", "deny c 1:3 rwm"}, "(deny all)"},
		{"deny a clears", []string{"deny a", "allow c 1:3 rwm", "deny a", "allow c 1:5 r"}, "c 1:5 r"},
		{"allow a switches", []string{"deny a", "allow c 1:3 rwm", "allow a"}, "a *:* rwm"},
		{"blacklist", []string{"deny c 1:1 rwm", "deny b 8:* w"}, "a *:* rwm, deny b 8:* w, deny c 1:1 rwm"},
		{"blacklist lift", []string{"deny c 1:1 rwm", "allow c 1:1 r"}, "a *:* rwm, deny c 1:1 wm"},
		{"wildcard removal takes narrower rules too", []string{"deny a", "allow c 1:3 rw", "allow c 1:* rw", "deny c 1:* w"},
			"c 1:* r, c 1:3 r"},
		{"kernel wildcard number", []string{"deny a", "allow c 4294967295:1 r"}, "c *:1 r"},
		{"empty access is rwm", []string{"deny a", "allow c 1:3"}, "c 1:3 rwm"},
		{"repeated letters", []string{"deny a", "allow c 1:3 rrw"}, "c 1:3 rw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := buildDevTarget(ociDevs(t, tc.rules...))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDevicesRulesInvalid(t *testing.T) {
	for _, tc := range []struct {
		rule specs.LinuxDeviceCgroup
		want string // in the message
	}{
		{specs.LinuxDeviceCgroup{Allow: true, Type: "x", Access: "r"}, `type "x"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rx"}, `access "rx"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "r\nc 1:5 rwm"}, "access"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(-2), Minor: i64(3), Access: "r"}, "major -2"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(1 << 32), Access: "r"}, "minor 4294967296"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "a", Major: i64(1), Minor: i64(3), Access: "r"}, `type "a"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "a", Access: "r"}, `needs access "rwm"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "cc", Access: "r"}, `type "cc"`},
	} {
		_, err := buildDevTarget([]specs.LinuxDeviceCgroup{ociDev(t, "deny a"), tc.rule})
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "device rule 1") {
			t.Errorf("rule %+v: got %v, want ErrInvalidValue naming rule 1 and %q", tc.rule, err, tc.want)
		}
	}
}

func TestDevicesRulesHolePunchRefused(t *testing.T) {
	for _, rules := range [][]string{
		{"deny a", "allow c 136:* rw", "deny c 136:0 rw"},
		{"deny a", "allow c 136:* rw", "deny c 136:0 w"},
		{"deny a", "allow b *:* m", "deny b 8:0 m"},
		{"deny a", "allow c *:1 r", "deny c 5:1 r"},
		{"deny c 1:* rw", "allow c 1:3 r"}, // the same in allow-all mode
	} {
		_, err := buildDevTarget(ociDevs(t, rules...))
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "wider rule") {
			t.Errorf("%q: got %v, want a hole-punching error", rules, err)
		}
	}
	// Removing permissions the wider rule does not have is fine.
	if _, err := buildDevTarget(ociDevs(t, "deny a", "allow c 136:* r", "allow c 136:0 rw", "deny c 136:0 w")); err != nil {
		t.Errorf("disjoint removal: %v", err)
	}
}

func TestDevicesRulesTransition(t *testing.T) {
	for _, tc := range []struct {
		name    string
		current string
		rules   []string
		want    []string
	}{
		{"same whitelist: nothing", "c 1:3 rwm\nc 136:* rw\n",
			[]string{"deny a", "allow c 136:* rw", "allow c 1:3 rwm"}, nil},
		{"add one device: one allow", "c 1:3 rwm\n",
			[]string{"deny a", "allow c 1:3 rwm", "allow c 1:5 rwm"}, []string{"devices.allow c 1:5 rwm"}},
		{"narrow: one deny", "c 1:3 rwm\n",
			[]string{"deny a", "allow c 1:3 r"}, []string{"devices.deny c 1:3 wm"}},
		{"widen: one allow of the missing part", "c 1:3 r\n",
			[]string{"deny a", "allow c 1:3 rwm"}, []string{"devices.allow c 1:3 wm"}},
		{"drop one device", "c 1:3 rwm\nc 1:5 rwm\n",
			[]string{"deny a", "allow c 1:3 rwm"}, []string{"devices.deny c 1:5 rwm"}},
		{"grants before removals, sorted", "c 1:5 rwm\nc 1:3 rwm\nb 8:0 r\n",
			[]string{"deny a", "allow c 1:3 r", "allow c 1:9 rw", "allow b *:* m"},
			[]string{"devices.allow b *:* m", "devices.allow c 1:9 rw", "devices.deny b 8:0 r", "devices.deny c 1:3 wm", "devices.deny c 1:5 rwm"}},
		{"wildcard replaces exact: grant first", "c 136:0 rw\n",
			[]string{"deny a", "allow c 136:* rw"}, []string{"devices.allow c 136:* rw", "devices.deny c 136:0 rw"}},
		{"default change: allow-all to deny-all, a first", "a *:* rwm\n",
			[]string{"deny a", "allow c 1:5 rwm", "allow c 1:3 rwm"},
			[]string{"devices.deny a *:* rwm", "devices.allow c 1:3 rwm", "devices.allow c 1:5 rwm"}},
		{"default change: deny-all to allow-all", "c 1:3 rwm\n",
			[]string{"allow a"}, []string{"devices.allow a *:* rwm"}},
		{"blacklist source is reset", "a *:* rwm\n",
			[]string{"deny c 1:1 rwm"}, []string{"devices.allow a *:* rwm", "devices.deny c 1:1 rwm"}},
		{"allow-all source, allow-all target: still reset (exceptions unseen)", "a *:* rwm\n",
			[]string{"allow a"}, []string{"devices.allow a *:* rwm"}},
		{"empty whitelist to deny all: nothing", "", []string{"deny a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, err := buildDevTarget(ociDevs(t, tc.rules...))
			if err != nil {
				t.Fatal(err)
			}
			cur := mustParseList(t, tc.current)
			got := writesOf(cur.transition(target))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("writes:\n got %q\nwant %q", got, tc.want)
			}
			// Replaying the writes as the kernel would on the current state gives the target.
			for _, r := range cur.transition(target) {
				cur.kernelApply(r)
			}
			if cur.String() != target.String() {
				t.Errorf("replayed state %q, want %q", cur, target)
			}
		})
	}
}

// TestDevicesRulesTransitionKeepsAccess checks the no-window property on the emulator: replaying
// a delta transition write by write, every device access that both the old and the new rules give
// is there after every write. The checker itself must catch a disruptive plan.
func TestDevicesRulesTransitionKeepsAccess(t *testing.T) {
	probes := []devKey{{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 9}, {'c', 136, 0}, {'c', 136, 7}, {'b', 8, 0}, {'c', 5, 2}}
	cases := []struct{ from, to []string }{
		{[]string{"deny a", "allow c 136:* rw", "allow c 1:3 rwm"}, []string{"deny a", "allow c 136:0 rw", "allow c 136:7 rw", "allow c 1:3 r"}},
		{[]string{"deny a", "allow c 136:0 rw", "allow c 1:3 r"}, []string{"deny a", "allow c 136:* rw", "allow c 1:* rwm"}},
		{[]string{"deny a", "allow c *:* m", "allow b 8:0 rwm"}, []string{"deny a", "allow b *:* rw", "allow c 5:2 m"}},
	}
	for _, tc := range cases {
		from, err := buildDevTarget(ociDevs(t, tc.from...))
		if err != nil {
			t.Fatal(err)
		}
		to, err := buildDevTarget(ociDevs(t, tc.to...))
		if err != nil {
			t.Fatal(err)
		}
		state := mustParseList(t, listOf(from))
		plan := state.transition(to)
		if n := firstAccessGap(t, state, from, to, plan, probes); n >= 0 {
			t.Errorf("%q -> %q: kept access lost after write %d of %q", tc.from, tc.to, n, writesOf(plan))
		}
	}
	// Negative control: a reset plan (deny a, then the allows) loses access, and the checker sees it.
	from, _ := buildDevTarget(ociDevs(t, "deny a", "allow c 1:3 rwm"))
	to, _ := buildDevTarget(ociDevs(t, "deny a", "allow c 1:3 rwm", "allow c 1:5 r"))
	reset := []devRule{{all: true, perms: devAll}, {allow: true, key: devKey{'c', 1, 3}, perms: devAll}, {allow: true, key: devKey{'c', 1, 5}, perms: devRead}}
	if n := firstAccessGap(t, mustParseList(t, listOf(from)), from, to, reset, probes); n != 0 {
		t.Errorf("the checker missed the window of a reset plan (gap at %d)", n)
	}
}

// firstAccessGap replays plan on state and returns the index of the first write after which a
// probe device lacks a permission that both from and to give it, or -1.
func firstAccessGap(t testing.TB, state, from, to *devEmulator, plan []devRule, probes []devKey) int {
	t.Helper()
	for i, r := range plan {
		state.kernelApply(r)
		for _, k := range probes {
			for _, p := range []devPerms{devRead, devWrite, devMknod} {
				if from.allows(k, p) && to.allows(k, p) && !state.allows(k, p) {
					return i
				}
			}
		}
	}
	return -1
}

// listOf renders a deny-all state as devices.list would.
func listOf(e *devEmulator) string {
	if e.defaultAllow {
		return "a *:* rwm\n"
	}
	var b strings.Builder
	for _, k := range e.sortedKeys() {
		b.WriteString(k.String() + " " + e.rules[k].String() + "\n")
	}
	return b.String()
}

// kernelApply applies a rule exactly as the v1 kernel does: an "a" rule switches the default and
// clears the exceptions; any other rule adds to or removes from its exact key only.
func (e *devEmulator) kernelApply(r devRule) {
	if r.all {
		e.defaultAllow = r.allow
		clear(e.rules)
		return
	}
	if r.allow == e.defaultAllow {
		if p := e.rules[r.key] &^ r.perms; p == 0 {
			delete(e.rules, r.key)
		} else {
			e.rules[r.key] = p
		}
		return
	}
	e.rules[r.key] |= r.perms
}

// allows tells whether the state gives perms on the device k, as the kernel decides an access:
// every exception whose key covers k counts.
func (e *devEmulator) allows(k devKey, perms devPerms) bool {
	var granted devPerms
	for w, p := range e.rules {
		if w.covers(k) {
			granted |= p
		}
	}
	if e.defaultAllow {
		return granted&perms == 0
	}
	return granted&perms == perms
}

func TestDevicesRulesTypeEmptyIsAll(t *testing.T) {
	e, err := buildDevTarget([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.String(); got != "c 1:3 rw" {
		t.Errorf("got %q, want the deny-all whitelist %q", got, "c 1:3 rw")
	}
	e, err = buildDevTarget([]specs.LinuxDeviceCgroup{{Allow: false, Type: "c", Major: i64(-1), Minor: i64(4294967295), Access: "w"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.String(); got != "a *:* rwm, deny c *:* w" {
		t.Errorf("got %q", got)
	}
}
