package cgroups

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The systemd versions that gate a property or a syntax (peers.md §3.2).
const (
	// sdCPUQuotaPeriod: CPUQuotaPeriodUSec exists from 242; before it systemd always uses 100 ms.
	sdCPUQuotaPeriod = 242
	// sdDeviceNumbers: from 240 DeviceAllow parses /dev/{char,block}/M:m from the string; before it
	// stat()s the node, which must then exist in systemd's /dev.
	sdDeviceNumbers = 240
)

func prop(name string, v any) sddbus.Property {
	return sddbus.Property{Name: name, Value: godbus.MakeVariant(v)}
}

// sdInfinity is systemd's "infinity" for the uint64 limit properties.
const sdInfinity = uint64(math.MaxUint64)

// resourceProperties maps the part of resources that systemd owns on cgroup v1 to unit
// properties. Everything else (cpuset, memory reservation and swap, swappiness, OOM killer, blkio
// iops, hugetlb, net_cls, net_prio, rdma, rt) has no v1 property and is written to cgroupfs by
// the controllers. Values systemd would reject (CPUShares out of 2..262144, TasksMax 0) are left
// to the controllers, which validate them and name the value.
func resourceProperties(r *specs.LinuxResources, version int) []sddbus.Property {
	var props []sddbus.Property
	if r == nil {
		return nil
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares >= 2 && *c.Shares <= 262144 {
			props = append(props, prop("CPUShares", *c.Shares))
		}
		period := uint64(100000)
		if c.Period != nil && *c.Period != 0 {
			period = *c.Period
			if version >= sdCPUQuotaPeriod {
				props = append(props, prop("CPUQuotaPeriodUSec", period))
			}
		}
		if c.Quota != nil {
			perSec := sdInfinity
			if *c.Quota > 0 {
				// Rounded up: systemd derives cfs_quota_us = perSec*period/1e6, which must not
				// fall below the quota asked for.
				perSec = (uint64(*c.Quota)*1000000 + period - 1) / period
			}
			props = append(props, prop("CPUQuotaPerSecUSec", perSec))
		}
	}
	if m := r.Memory; m != nil && m.Limit != nil {
		v := sdInfinity
		if *m.Limit > 0 {
			v = uint64(*m.Limit)
		}
		props = append(props, prop("MemoryLimit", v))
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		switch {
		case *p.Limit > 0:
			props = append(props, prop("TasksMax", uint64(*p.Limit)))
		case *p.Limit < 0:
			props = append(props, prop("TasksMax", sdInfinity))
		}
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight >= 10 && *b.Weight <= 1000 {
			props = append(props, prop("BlockIOWeight", uint64(*b.Weight)))
		}
		type devValue struct {
			Path  string
			Value uint64
		}
		var weights []devValue
		for _, d := range b.WeightDevice {
			if d.Weight != nil && *d.Weight >= 10 && *d.Weight <= 1000 {
				weights = append(weights, devValue{blockDevPath(d.Major, d.Minor), uint64(*d.Weight)})
			}
		}
		if len(weights) > 0 {
			props = append(props, prop("BlockIODeviceWeight", weights))
		}
		for _, t := range []struct {
			name string
			devs []specs.LinuxThrottleDevice
		}{{"BlockIOReadBandwidth", b.ThrottleReadBpsDevice}, {"BlockIOWriteBandwidth", b.ThrottleWriteBpsDevice}} {
			var vs []devValue
			for _, d := range t.devs {
				vs = append(vs, devValue{blockDevPath(d.Major, d.Minor), d.Rate})
			}
			if len(vs) > 0 {
				props = append(props, prop(t.name, vs))
			}
		}
	}
	if r.Devices != nil {
		props = append(props, deviceProperties(r.Devices, version)...)
	}
	return props
}

func blockDevPath(major, minor int64) string {
	return fmt.Sprintf("/dev/block/%d:%d", major, minor)
}

// deviceProperties turns OCI device rules into DevicePolicy and DeviceAllow. systemd can only
// allow on top of a deny-all (strict) or allow everything (auto with no list), so rules it cannot
// express are dropped from its copy, never widened: systemd's copy (re-applied on daemon-reload)
// is then at most as permissive as the rules, which the devices controller writes exactly.
func deviceProperties(rules []specs.LinuxDeviceCgroup, version int) []sddbus.Property {
	type allow struct{ Path, Access string }
	allowAll := false
	var allows []allow
	for _, r := range rules {
		all := (r.Type == "" || r.Type == "a") && r.Major == nil && r.Minor == nil
		if !r.Allow {
			if all {
				allowAll, allows = false, nil
				continue
			}
			// A deny of some devices: drop what it could concern from systemd's allow list.
			allowAll = false
			allows = nil
			continue
		}
		access := r.Access
		if access == "" {
			access = "rwm"
		}
		if all && strings.Contains(access, "r") && strings.Contains(access, "w") && strings.Contains(access, "m") {
			allowAll = true
			continue
		}
		for _, spec := range deviceSpecifiers(r, version) {
			allows = append(allows, allow{spec, access})
		}
	}
	if allowAll {
		return []sddbus.Property{prop("DevicePolicy", "auto"), prop("DeviceAllow", []allow{})}
	}
	if allows == nil {
		allows = []allow{}
	}
	return []sddbus.Property{prop("DevicePolicy", "strict"), prop("DeviceAllow", allows)}
}

// deviceSpecifiers returns systemd's names for the devices of an allow rule: /dev/char/M:m for one
// device, char-<group> or char-* for a major's or every minor. nil when systemd cannot name them.
func deviceSpecifiers(r specs.LinuxDeviceCgroup, version int) []string {
	kinds := []string{"char", "block"}
	switch r.Type {
	case "c":
		kinds = kinds[:1]
	case "b":
		kinds = kinds[1:]
	}
	wild := func(p *int64) bool { return p == nil || *p < 0 }
	var out []string
	for _, k := range kinds {
		switch {
		case wild(r.Major) && wild(r.Minor):
			out = append(out, k+"-*")
		case wild(r.Major):
			// a minor in every major: systemd has no such specifier
		case wild(r.Minor):
			if g := deviceGroup(k, *r.Major); g != "" {
				out = append(out, k+"-"+g)
			}
		default:
			if version >= sdDeviceNumbers || version == 0 {
				out = append(out, fmt.Sprintf("/dev/%s/%d:%d", k, *r.Major, *r.Minor))
			}
		}
	}
	return out
}

// deviceGroup returns the driver name /proc/devices gives the major, the group systemd's
// "char-NAME" matches, or "".
func deviceGroup(kind string, major int64) string {
	f, err := os.Open("/proc/devices")
	if err != nil {
		return ""
	}
	defer f.Close()
	section := "Character devices:"
	if kind == "block" {
		section = "Block devices:"
	}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "devices:") {
			in = line == section
			continue
		}
		if !in {
			continue
		}
		num, name, ok := strings.Cut(line, " ")
		if ok && num == strconv.FormatInt(major, 10) && name != "" && !strings.ContainsAny(name, "*?[") {
			return name
		}
	}
	return ""
}
