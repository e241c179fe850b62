// Package cgroups creates, updates, inspects and deletes Linux cgroup v1 control groups.
//
// Its API is the one of containerd/cgroups v1: New and Load return a Cgroup, a Hierarchy (V1)
// says which controllers to use, a Path (StaticPath, NestedPath, PidPath) says where the cgroup
// lives in each of them, and resources are the OCI runtime-spec's LinuxResources. A program
// written for containerd/cgroups v1.1.0 compiles against this package with the import path
// changed and v1.Metrics renamed to cgroups.Metrics.
//
// What differs is correctness:
//
//   - Each controller is found at its own mount point in /proc/self/mountinfo, whether mounted
//     alone, co-mounted (cpu,cpuacct; net_cls,net_prio) or under another root. The table is parsed
//     once per process and parsed again only when the kernel reports a mount change.
//   - All file access goes through one layer: openat2 with RESOLVE_BENEATH on a cached fd of the
//     hierarchy root (or open plus an fstatfs check of the filesystem magic where openat2 is
//     missing), O_CLOEXEC, one value per write(2). Paths and file names are validated, so nothing
//     is written outside the cgroup. Errors name the file, the value and the errno.
//   - Writes are ordered so that any valid target is reachable from any valid start (memory limit
//     and memsw, cfs period/quota/burst, rt period/runtime); device rules change by the minimal
//     difference from devices.list, without a window in which a kept device is denied.
//   - Freeze is bounded and never leaves a cgroup FROZEN or FREEZING on failure; Delete removes
//     child cgroups first and retries EBUSY a bounded time; Stat reads every controller in one
//     pass, without a goroutine per controller, and applies ErrorHandlers as a chain.
//   - Stat costs one open, read and close per control file; a StatPoller keeps a cgroup's files
//     open between calls for callers who poll, and reads them with pread.
//
// Memory events (OOMEventFD, RegisterMemoryEvent) return an eventfd that the caller owns and must
// close. The kernel signals every registration once when the cgroup is removed, so a reader must
// check that the cgroup still exists (or re-read memory.oom_control) after each wake-up. OOM
// notifications go to the cgroup that ran out of memory and to its descendants, never to its
// ancestors. Pressure events fire for their level and every higher one; LocalMode counts pressure
// in the cgroup itself, HierarchyMode in it and its descendants, and DefaultMode like
// HierarchyMode unless a descendant's listener was already signalled.
//
// An EventMonitor does the listening for any number of cgroups with one goroutine and one epoll
// instance, and owns every fd (O_CLOEXEC). It reads a signal's eventfd counter first and checks
// the cgroup's existence (beneath a kept directory fd) after it: the removal signal comes 13 to
// 36 ms after rmdir, so a cgroup still present after the read proves every counted signal real.
// A cgroup found removed is reported once, as EventRemoved, and never as an OOM, threshold or
// pressure event; a real event read only after the removal keeps its count but reports its state
// as ErrCgroupDeleted. The kernel notifies an OOM before it chooses the victim, so the monitor
// re-reads memory.oom_control for up to 100 ms until oom_kill shows the kill. Undelivered events
// wait in a queue with one entry per cgroup and event, whose Count grows with further signals:
// a slow consumer never blocks the loop nor loses a count.
//
// The systemd hierarchy, Systemd, creates each cgroup as a transient systemd unit over D-Bus (a
// scope, or a slice) with its resources in the start call; see Systemd for the rules.
package cgroups
