package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a test may read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventsRun is a running `cgctl events`.
type eventsRun struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
}

// startEvents starts `cgctl events args...` and returns once it says its watch is registered,
// so that no event the test causes afterwards can be missed. It is killed when the test ends.
func startEvents(t *testing.T, args ...string) *eventsRun {
	t.Helper()
	r := &eventsRun{cmd: exec.Command(cgctlBin, append([]string{"events"}, args...)...), done: make(chan struct{})}
	r.cmd.Stdout = &r.stdout
	errPipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errPipe)
		signalled := false
		for sc.Scan() {
			_, _ = r.stderr.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.HasPrefix(sc.Text(), "cgctl: watching ") {
				signalled = true
				close(ready)
			}
		}
		if !signalled {
			close(ready)
		}
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("cgctl events %s: not watching after 15s", strings.Join(args, " "))
	}
	return r
}

// wait waits (bounded) for the events command to end and returns its exit status.
func (r *eventsRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("cgctl events did not end within 20s\nstdout: %s\nstderr: %s", r.stdout.String(), r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

func TestCgctlEventsOOM(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p, "--memory", "32M", "--memory-swap", "32M")
	ev := startEvents(t, p, "--count", "1", "--timeout", "30s")
	if !strings.Contains(ev.stderr.String(), "cgctl: watching "+p+" for oom") {
		t.Fatalf("events did not start watching: %s", ev.stderr.String())
	}
	if r := cgctl(t, "exec", "--name", p, "-q", "--", helperBin, "alloc", "100"); r.code != 137 {
		t.Fatalf("the helper was not OOM-killed: exit %d\n%s", r.code, r.stderr)
	}
	if code := ev.wait(t); code != 0 {
		t.Fatalf("events: exit %d\nstderr: %s", code, ev.stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(ev.stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("--count 1: want one line, got %q", ev.stdout.String())
	}
	f := strings.Fields(lines[0])
	if len(f) < 6 || f[1] != p || f[2] != "oom" || !strings.HasPrefix(f[3], "count=") || f[4] != "oom_kill=1" || f[5] != "under_oom=false" {
		t.Errorf("OOM line: %q, want TIME %s oom count=N oom_kill=1 under_oom=false", lines[0], p)
	}
	if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
		t.Errorf("OOM line: the time %q does not parse: %v", f[0], err)
	}
}

func TestCgctlEventsJSONAndRemoval(t *testing.T) {
	p := testCgroup(t)
	mustCgctl(t, "create", p, "--memory", "32M", "--memory-swap", "32M")
	ev := startEvents(t, p, "--json", "--oom", "--threshold", "8M", "--timeout", "60s")
	if r := cgctl(t, "exec", "--name", p, "-q", "--", helperBin, "alloc", "100"); r.code != 137 {
		t.Fatalf("the helper was not OOM-killed: exit %d\n%s", r.code, r.stderr)
	}
	// The OOM is reported within its settle time (100 ms); give it a bounded moment before the
	// removal, so the line carries its state.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(ev.stdout.String(), `"kind":"oom"`) {
		time.Sleep(20 * time.Millisecond)
	}
	mustCgctl(t, "delete", p)
	if code := ev.wait(t); code != 0 {
		t.Fatalf("events: exit %d after the removal\nstderr: %s", code, ev.stderr.String())
	}
	var got []eventLine
	for _, l := range strings.Split(strings.TrimSpace(ev.stdout.String()), "\n") {
		var e eventLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		if e.Path != p || e.Count < 1 {
			t.Errorf("event %+v: want path %s and a count", e, p)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			t.Errorf("event time %q: %v", e.Time, err)
		}
		got = append(got, e)
	}
	var oom, above bool
	for _, e := range got {
		switch e.Kind {
		case "oom":
			oom = oom || (e.OOMKill != nil && *e.OOMKill >= 1)
		case "threshold":
			if e.Threshold == nil || *e.Threshold != 8<<20 || e.Swap == nil || *e.Swap {
				t.Errorf("threshold event without its threshold: %+v", e)
			}
			above = above || (e.Above != nil && *e.Above && e.Usage != nil && *e.Usage >= 8<<20)
		}
	}
	if !oom || !above {
		t.Errorf("want an oom event with oom_kill >= 1 and a threshold event above 8M; got\n%s", ev.stdout.String())
	}
	if last := got[len(got)-1]; last.Kind != "removed" {
		t.Errorf("the last event is %q, want removed", last.Kind)
	}
}
