package cgroups_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cgroupkit/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This creates a cgroup /test in every mounted v1 controller with cpu shares, moves a process
// into it, reads its statistics and removes it.
func Example() {
	shares := uint64(100)
	control, err := cgroups.New(cgroups.V1, cgroups.StaticPath("/test"), &specs.LinuxResources{
		CPU: &specs.LinuxCPU{Shares: &shares},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer control.Delete()

	if err := control.Add(cgroups.Process{Pid: 1234}); err != nil {
		log.Print(err)
	}
	stats, err := control.Stat(cgroups.IgnoreNotExist)
	if err != nil {
		log.Print(err)
	}
	if stats.Memory != nil && stats.Memory.Usage != nil {
		fmt.Println("memory usage:", stats.Memory.Usage.Usage)
	}
}

// Load opens a cgroup that already exists; controllers in which it does not exist are skipped.
func ExampleLoad() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	processes, err := control.Processes(cgroups.Devices, true)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range processes {
		fmt.Println(p.Pid, p.Path)
	}
}

// Update changes the resources of a live cgroup. Only the fields that are set change.
func ExampleCgroup_update() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	shares := uint64(200)
	limit := int64(64 << 20)
	if err := control.Update(&specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: &shares},
		Memory: &specs.LinuxMemory{Limit: &limit},
	}); err != nil {
		log.Fatal(err)
	}
}

// Freeze stops every process of the cgroup; it gives up after a bounded time and then leaves the
// cgroup thawed.
func ExampleCgroup_freeze() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	if err := control.Freeze(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(control.State())
	if err := control.Thaw(); err != nil {
		log.Fatal(err)
	}
}

// A memory threshold event fires each time usage crosses the threshold, up or down. The eventfd
// belongs to the caller.
func ExampleMemoryThresholdEvent() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	efd, err := control.RegisterMemoryEvent(cgroups.MemoryThresholdEvent(50*1024*1024, false))
	if err != nil {
		log.Fatal(err)
	}
	defer unix.Close(int(efd))
	var count [8]byte
	if _, err := unix.Read(int(efd), count[:]); err != nil { // blocks until the first crossing
		log.Fatal(err)
	}
	fmt.Println("crossed")
}

// OOMEventFD counts the out-of-memory events of the cgroup. The kernel also signals it once when
// the cgroup is removed: check that the cgroup still exists after a wake-up.
func ExampleCgroup_oomEventFD() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	efd, err := control.OOMEventFD()
	if err != nil {
		log.Fatal(err)
	}
	f := os.NewFile(efd, "oom-eventfd")
	defer f.Close()
	var count [8]byte
	if _, err := f.Read(count[:]); err != nil {
		log.Fatal(err)
	}
	if control.State() == cgroups.Deleted {
		fmt.Println("cgroup removed")
		return
	}
	fmt.Println("out of memory")
}

// A child cgroup is created under a loaded one, in the same controllers.
func ExampleCgroup_new() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	child, err := control.New("child", nil)
	if err != nil {
		log.Fatal(err)
	}
	destination, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/other"))
	if err != nil {
		log.Fatal(err)
	}
	if err := child.MoveTo(destination); err != nil {
		log.Fatal(err)
	}
}

// A StatPoller keeps the control files of a cgroup open between Stats: each poll is then one
// pread per file. Close it when done.
func ExampleStatPoller() {
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	poller, err := cgroups.NewStatPoller(control)
	if err != nil {
		log.Fatal(err)
	}
	defer poller.Close()
	for i := 0; i < 3; i++ {
		stats, err := poller.Stat(cgroups.IgnoreNotExist)
		if err != nil {
			log.Fatal(err)
		}
		if stats.Pids != nil {
			fmt.Println("pids:", stats.Pids.Current)
		}
	}
}

// An EventMonitor reports a container's OOM kills on one channel, and tells the removal of its
// cgroup apart from an OOM: the kernel signals every registration once when a cgroup is removed.
func ExampleEventMonitor() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	monitor, err := cgroups.NewEventMonitor(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer monitor.Close()
	control, err := cgroups.Load(cgroups.V1, cgroups.StaticPath("/test"))
	if err != nil {
		log.Fatal(err)
	}
	// Any number of cgroups and events share the monitor's one goroutine.
	if err := monitor.Watch(control, cgroups.OOMEvent()); err != nil {
		log.Fatal(err)
	}
	for ev := range monitor.Events() {
		switch ev.Kind {
		case cgroups.EventOOM:
			fmt.Printf("%s: out of memory (%d processes killed so far)\n", ev.Path, ev.OOMKill)
		case cgroups.EventRemoved:
			fmt.Printf("%s: removed\n", ev.Path)
			return
		}
	}
}
