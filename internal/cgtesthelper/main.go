// Command cgtesthelper is the process the integration tests put into test cgroups: the test
// binary itself never joins one. It is static (no cgo) so it also runs in vmtest guests, which
// have no shell.
//
//	cgtesthelper sleep                 sleep until killed
//	cgtesthelper alloc MiB [step-ms]   touch MiB mebibytes, one MiB per step, print "done", sleep
//	cgtesthelper allocfree MiB         touch MiB mebibytes, hold 300 ms, free them, print "freed", sleep
//	cgtesthelper spin                  burn CPU until killed
//	cgtesthelper threads N             start N extra threads, then sleep
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cgtesthelper sleep|alloc MiB [step-ms]|allocfree MiB|spin|threads N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sleep":
	case "alloc":
		step := 0
		if len(os.Args) > 3 {
			step = atoi(os.Args[3])
		}
		mem := touch(atoi(os.Args[2]), step)
		fmt.Println("done")
		runtime.KeepAlive(mem)
	case "allocfree":
		mem := touch(atoi(os.Args[2]), 1)
		time.Sleep(300 * time.Millisecond)
		if err := syscall.Munmap(mem); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("freed")
	case "spin":
		spin()
	case "threads":
		for i := 0; i < atoi(os.Args[2]); i++ {
			go func() {
				runtime.LockOSThread()
				select {}
			}()
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
	for {
		time.Sleep(time.Hour)
	}
}

// touch maps n MiB of anonymous memory outside the Go heap and writes every page, so the memory
// cgroup is charged exactly for it.
func touch(n, stepMs int) []byte {
	debug.SetGCPercent(-1)
	mem, err := syscall.Mmap(-1, 0, n<<20, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for mib := 0; mib < n; mib++ {
		for off := mib << 20; off < (mib+1)<<20; off += 4096 {
			mem[off] = 1
		}
		if stepMs > 0 {
			time.Sleep(time.Duration(stepMs) * time.Millisecond)
		}
	}
	return mem
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad number", s)
		os.Exit(2)
	}
	return n
}

// spin burns CPU until the process is killed: the point of the "spin" mode.
func spin() {
	n := 0
	for {
		n++
		if n == 1<<62 {
			n = 0
		}
	}
}
