# Build, test and check github.com/cgroupkit/cgroups. Run as root: the integration tests and the
# demo create real cgroups under /sys/fs/cgroup (they skip, or fail clearly, when not root).
#
#   make test        all tests on this machine: unit, integration (root), race detector, then the
#                    systemd tests (make systemdtest)
#   make systemdtest the systemd (D-Bus) tests of the library and of cgctl --systemd: inside the running systemd-sandbox (started by
#                    .ci/run), against the host's systemd if PID 1 is systemd, else skipped
#   make vmtest      the same tests in a QEMU guest with the co-mounted v1 layout (../shared/vmtest)
#   make demo        the main job: a command in a new cgroup with limits, its summary (cmd/cgctl exec)
#   make check       gofmt, go vet, staticcheck
#   make leftovers   fail if a test or demo cgroup was left under /sys/fs/cgroup
#   make ci          what CI runs (.ci/run): installs what is missing, then all of the above

# Go's official tarball lives in /usr/local/go; go install puts tools in ~/go/bin.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

GO          ?= go
STATICCHECK ?= staticcheck
# vmtest comes from the shared/ tree next to the checkout (CI puts a read-only copy there).
SHARED_DIR  ?= $(abspath $(CURDIR)/../shared)
VMTEST      ?= $(SHARED_DIR)/vmtest/vmtest
SANDBOX     ?= $(SHARED_DIR)/systemd-sandbox/systemd-sandbox
# One boot per layout; the library is cgroup v1, so v2 would only skip. hybrid also works.
VMTEST_LAYOUTS ?= v1-comounted
# Arguments for the test binary in the guest. The guest's serial line carries about 200 KB/s;
# -test.v output of the whole package is far below that.
VMTEST_TESTARGS ?= -test.v -test.timeout=10m
DEMO_ARGS   ?= --memory 64M --pids 32 --cpus 0.5 -- sh -c 'grep -E "memory|pids" /proc/self/cgroup; dd if=/dev/zero of=/dev/null bs=16M count=256'

.PHONY: test systemdtest vmtest demo check fmt vet staticcheck leftovers ci

test:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout=10m ./...
	$(MAKE) --no-print-directory systemdtest

# The systemd tests hand systemd PIDs of their own processes, so they run in systemd's PID
# namespace: inside the sandbox (systemd-sandbox exec), or on a host whose PID 1 is systemd.
# The library's TestSystemd*/TestSlice* and cgctl's TestCgctlSystemd* (--systemd); elsewhere they skip.
SYSTEMD_TESTS = CGO_ENABLED=1 $(GO) test -p 1 -race -count=1 -timeout=5m -v -run 'TestSystemd|TestSlice|TestCgctlSystemd' . ./cmd/cgctl
systemdtest:
	@if [ -x "$(SANDBOX)" ] && "$(SANDBOX)" status >/dev/null 2>&1; then \
		echo "systemd tests inside systemd-sandbox"; \
		"$(SANDBOX)" exec env PATH="$(PATH)" $(SYSTEMD_TESTS); \
	elif [ "$$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then \
		echo "systemd tests against the host's systemd"; \
		$(SYSTEMD_TESTS); \
	else \
		echo "systemd tests skipped: no systemd (start $(SANDBOX) first: .ci/run does)"; \
	fi

# The guest has no Go toolchain, no shell and no libc: the test binary and the test helper
# (internal/cgtesthelper, found through $$CGTEST_HELPER) are built static on the host. testdata/
# is copied next to the guest's working directory so fixture tests find it. brd gives the blkio
# tests a block device (/dev/ram0, 1:0), hugepages=16 gives hugetlb something to limit.
vmtest:
	@set -e; \
	out=$$(mktemp -d "$${TMPDIR:-/tmp}/cgroups-vmtest.XXXXXX"); \
	trap 'rm -rf "$$out"' EXIT; \
	CGO_ENABLED=0 $(GO) test -c -o "$$out/cg.test" . ; \
	CGO_ENABLED=0 $(GO) build -o "$$out/cgtesthelper" ./internal/cgtesthelper; \
	"$(VMTEST)" kernel >/dev/null 2>&1 || "$(VMTEST)" fetch-kernel >/dev/null; \
	set -- ; \
	if [ -d testdata ]; then set -- --add "$(CURDIR)/testdata:/src/cgroups/testdata"; fi; \
	"$(VMTEST)" run --layout $(VMTEST_LAYOUTS) --timeout 900 \
		--module 'brd rd_nr=1 rd_size=65536' --append hugepages=16 \
		--add "$$out/cgtesthelper:/vmtest/bin/cgtesthelper" \
		--env CGTEST_HELPER=/vmtest/bin/cgtesthelper \
		"$$@" --workdir /src/cgroups \
		-- "$$out/cg.test" $(VMTEST_TESTARGS)

demo:
	$(GO) run ./cmd/cgctl exec $(DEMO_ARGS)

check: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-ed (run gofmt -w):"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

# Test cgroups are named cgtest-*, the ones cgctl exec makes up cgctl-*. Symlinks (cpu -> cpu,cpuacct) are not
# followed, so each directory is listed once.
leftovers:
	@left=$$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name 'cgtest-*' -o -name 'cgctl-*' \) -prune -print 2>/dev/null || true); \
	if [ -n "$$left" ]; then echo "cgroups left behind:"; echo "$$left"; exit 1; fi; \
	echo "no test or demo cgroup left under /sys/fs/cgroup"

ci:
	bash .ci/run
