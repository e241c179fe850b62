package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// requireRoot skips an integration test that needs root and the real /sys/fs/cgroup.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration test: needs root to create cgroups under /sys/fs/cgroup (run the tests as root)")
	}
	if _, err := V1(); err != nil {
		t.Skipf("integration test: no cgroup v1 hierarchy is mounted: %v", err)
	}
}

// testName returns a unique cgroup name for one test.
func testName(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	n := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(n) > 40 {
		n = n[:40]
	}
	return "cgtest-" + n + "-" + hex.EncodeToString(b[:])
}

// newTestCgroup creates a cgroup /<unique name> in every mounted v1 controller with resources and
// removes it (and its descendants) when the test ends, also when it fails. Processes started with
// startInCgroup are killed before that.
func newTestCgroup(t testing.TB, resources *specs.LinuxResources) (Cgroup, string) {
	t.Helper()
	requireRoot(t)
	path := "/" + testName(t)
	cg, err := New(V1, StaticPath(path), resources)
	if err != nil {
		t.Fatalf("New(V1, %s): %v", path, err)
	}
	t.Cleanup(func() { cleanupCgroup(t, V1, path) })
	return cg, path
}

// cleanupCgroup removes a test cgroup in every controller of hierarchy, whatever state the test
// left it in: it is thawed first, and removal is retried briefly.
func cleanupCgroup(t testing.TB, hierarchy Hierarchy, path string) {
	t.Helper()
	subsystems, err := hierarchy()
	if err != nil {
		t.Errorf("cleanup %s: %v", path, err)
		return
	}
	for _, s := range subsystems {
		pt, ok := s.(pather)
		if !ok {
			continue
		}
		dir := pt.Path(path)
		if s.Name() == Freezer {
			_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
		}
		if err := removeTree(dir, 5*time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// helperPath is the cgtesthelper binary: $CGTEST_HELPER (vmtest guests get it that way), else
// built once by TestMain.
var helperPath string

func TestMain(m *testing.M) {
	code := func() int {
		helperPath = os.Getenv("CGTEST_HELPER")
		if helperPath == "" {
			dir, err := os.MkdirTemp("", "cgtesthelper")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			helperPath = filepath.Join(dir, "cgtesthelper")
			build := exec.Command("go", "build", "-o", helperPath, "./internal/cgtesthelper")
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build cgtesthelper: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// startProcess starts the test helper (by default "cgtesthelper sleep"): a process of the test's
// own, never the test binary, so it is the only thing a test puts into its cgroups. It is killed
// and reaped when the test ends.
func startProcess(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if len(args) == 0 {
		args = []string{"sleep"}
	}
	cmd := exec.Command(helperPath, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// fixtureRoot copies nothing: it makes a plain directory tree under t.TempDir() with the given
// files (path relative to the root -> content), for unit tests on fixture trees. Writes to missing
// files create them (defaultFilePerm), as containerd's mock does.
func fixtureRoot(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// readTestFile returns the trimmed content of a file, failing the test if it cannot be read.
func readTestFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

// openFDs counts the open file descriptors of this process.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Pointer helpers for resource fields.
func u64(v uint64) *uint64 { return &v }
func i64(v int64) *int64   { return &v }
func boolp(v bool) *bool   { return &v }

// seedCpuset gives a fixture cpuset mount the root files the kernel has (cpus 0-1, mems 0), and
// lets writes create the files a plain directory lacks, so that New can fill a child's cpuset from
// its parent as on a real hierarchy.
func seedCpuset(t testing.TB, mount string) {
	t.Helper()
	for file, v := range map[string]string{"cpuset.cpus": "0-1\n", "cpuset.mems": "0\n"} {
		if err := os.WriteFile(filepath.Join(mount, file), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := defaultFilePerm
	defaultFilePerm = 0o644
	t.Cleanup(func() { defaultFilePerm = old })
}
