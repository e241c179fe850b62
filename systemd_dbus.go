package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// DefaultSystemdTimeout bounds every wait for a systemd job (start, stop) and every D-Bus call
// when New or Load got no WithSystemdTimeout. runc once used 1 s and raced systemd under load.
const DefaultSystemdTimeout = 30 * time.Second

// systemdPrivateSocket is systemd's own D-Bus socket, used when the system bus cannot be reached.
// CGROUPS_TEST_SYSTEMD_SOCKET replaces it (a sandboxed systemd keeps it elsewhere).
const systemdPrivateSocket = "/run/systemd/private"

// busConn is the one connection to systemd the process shares: opening one per call leaked fds
// in runc (runc#2936) and costs two sockets plus an authentication each time.
type busConn struct {
	mu      sync.Mutex
	conn    *sddbus.Conn
	version int // systemd's major version, read once per connection (a re-exec may change it)
}

var systemdBus busConn

// connectTries bounds the retries of a connect that fails with EAGAIN (dbus-daemon under load
// refuses with EAGAIN; opencontainers/cgroups#45).
const connectTries = 5

// get returns the shared connection, making it on first use.
func (b *busConn) get(ctx context.Context) (*sddbus.Conn, int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil && b.conn.Connected() {
		return b.conn, b.version, nil
	}
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
	var conn *sddbus.Conn
	var err error
	delay := 50 * time.Millisecond
	for try := 0; ; try++ {
		conn, err = dialSystemd(ctx)
		if err == nil || !errors.Is(err, syscall.EAGAIN) || try == connectTries-1 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("systemd: connect: %w (after %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return nil, 0, err
	}
	version, err := managerVersion(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, 0, err
	}
	b.conn, b.version = conn, version
	return conn, version, nil
}

// drop forgets conn if it is still the shared one, so the next call reconnects.
func (b *busConn) drop(conn *sddbus.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == conn && conn != nil {
		conn.Close()
		b.conn = nil
	}
}

// dialSystemd connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured by godbus) and,
// failing that, to systemd's private socket, which needs no bus daemon.
func dialSystemd(ctx context.Context) (*sddbus.Conn, error) {
	conn, busErr := sddbus.NewSystemConnectionContext(ctx)
	if busErr == nil {
		return conn, nil
	}
	sock := os.Getenv("CGROUPS_TEST_SYSTEMD_SOCKET")
	if sock == "" {
		sock = systemdPrivateSocket
	}
	conn, err := sddbus.NewConnection(func() (*godbus.Conn, error) {
		c, err := godbus.Dial("unix:path="+sock, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: system bus: %w; private socket %s: %w", ErrSystemdUnavailable, busErr, sock, err)
	}
	return conn, nil
}

// ErrSystemdUnavailable means that neither the system bus nor systemd's private socket answered.
var ErrSystemdUnavailable = errors.New("cgroups: cannot connect to systemd")

// managerVersion reads the Manager's Version property ("252.38-1~deb12u1", "v245.4-1.fc32") as
// its major number; it gates the properties older systemds reject.
func managerVersion(ctx context.Context, conn *sddbus.Conn) (int, error) {
	p, err := conn.GetManagerProperty("Version")
	if err != nil {
		return 0, fmt.Errorf("systemd: read the Manager's Version: %w", err)
	}
	return parseSystemdVersion(p)
}

func parseSystemdVersion(s string) (int, error) {
	v := strings.TrimPrefix(strings.Trim(s, `"`), "v")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil || n == 0 {
		return 0, fmt.Errorf("systemd: version %q: %w", s, ErrInvalidValue)
	}
	return n, nil
}

// busTries bounds how often one operation is retried after the connection broke (dbus or systemd
// restarted) or systemd was briefly off the bus (daemon-reexec).
const busTries = 4

// withBus runs op on the shared connection. A closed connection is dropped and op retried on a
// new one; while systemd re-executes it is not on the bus, so those errors are retried after a
// short, growing pause. Every retry is bounded by busTries and by ctx.
func withBus(ctx context.Context, op func(conn *sddbus.Conn, version int) error) error {
	var err error
	delay := 100 * time.Millisecond
	for try := 0; try < busTries; try++ {
		var conn *sddbus.Conn
		var version int
		conn, version, err = systemdBus.get(ctx)
		if err == nil {
			err = op(conn, version)
			if err == nil {
				return nil
			}
		}
		switch {
		case isBusClosed(err, conn):
			systemdBus.drop(conn)
		case isSystemdAway(err):
		case errors.Is(err, syscall.EAGAIN):
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay *= 2
	}
	return err
}

// isBusClosed tells whether err comes from a connection that is gone.
func isBusClosed(err error, conn *sddbus.Conn) bool {
	if errors.Is(err, godbus.ErrClosed) || (conn != nil && !conn.Connected()) {
		return true
	}
	var de godbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.Disconnected" {
		return true
	}
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// isSystemdAway tells whether the bus answered that systemd is not on it (it re-executes).
func isSystemdAway(err error) bool {
	var de godbus.Error
	if !errors.As(err, &de) {
		var dp *godbus.Error
		if !errors.As(err, &dp) {
			return false
		}
		de = *dp
	}
	switch de.Name {
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.DBus.Error.NoReply":
		return true
	}
	return false
}

// dbusErrorName returns the D-Bus error name of err, or "".
func dbusErrorName(err error) string {
	var de godbus.Error
	if errors.As(err, &de) {
		return de.Name
	}
	var dp *godbus.Error
	if errors.As(err, &dp) {
		return dp.Name
	}
	return ""
}

// jobPoll is how often a job wait checks that its connection still lives: the JobRemoved signal
// of a connection that broke never comes.
const jobPoll = 250 * time.Millisecond

// runJob starts a job with start (StartTransientUnit, StopUnit) and waits for its JobRemoved
// signal. A result other than "done" is an error naming the unit and the result. If the connection
// breaks while waiting, the outcome is read from the unit's state on a new connection instead.
func runJob(ctx context.Context, unit, what string, start func(conn *sddbus.Conn, version int, ch chan<- string) error,
	settled func(ctx context.Context) (bool, error)) error {
	ch := make(chan string, 1) // buffered: go-systemd's dispatcher must never block on us
	var used *sddbus.Conn
	err := withBus(ctx, func(conn *sddbus.Conn, version int) error {
		used = conn
		return start(conn, version, ch)
	})
	if err != nil {
		return err
	}
	tick := time.NewTicker(jobPoll)
	defer tick.Stop()
	for {
		select {
		case res := <-ch:
			if res != "done" {
				return fmt.Errorf("systemd: %s %s: job result %q: %w", what, unit, res, ErrSystemdJob)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("systemd: %s %s: no job result: %w", what, unit, ctx.Err())
		case <-tick.C:
			if used.Connected() {
				continue
			}
			systemdBus.drop(used)
			ok, err := settled(ctx)
			if err != nil {
				return fmt.Errorf("systemd: %s %s: connection lost, then: %w", what, unit, err)
			}
			if ok {
				return nil
			}
			return fmt.Errorf("systemd: %s %s: connection lost and the unit did not reach its state: %w", what, unit, ErrSystemdJob)
		}
	}
}

// ErrSystemdJob means that a systemd job did not finish with the result "done".
var ErrSystemdJob = errors.New("cgroups: systemd job failed")

// unitState returns the unit's ActiveState ("active", "inactive", "failed", ...); a unit systemd
// does not know is "inactive".
func unitState(ctx context.Context, unit string) (string, error) {
	var state string
	err := withBus(ctx, func(conn *sddbus.Conn, _ int) error {
		p, err := conn.GetUnitPropertyContext(ctx, unit, "ActiveState")
		if err != nil {
			return err
		}
		state, _ = p.Value.Value().(string)
		return nil
	})
	return state, err
}

// unitControlGroup returns the unit's ControlGroup property, "" when it has no cgroup.
func unitControlGroup(ctx context.Context, unit string) (string, error) {
	unitType := "Scope"
	if strings.HasSuffix(unit, ".slice") {
		unitType = "Slice"
	}
	var cg string
	err := withBus(ctx, func(conn *sddbus.Conn, _ int) error {
		p, err := conn.GetUnitTypePropertyContext(ctx, unit, unitType, "ControlGroup")
		if err != nil {
			return err
		}
		cg, _ = p.Value.Value().(string)
		return nil
	})
	return cg, err
}

// resetFailed forgets a failed unit so its name can be used again; a unit systemd does not know
// (NoSuchUnit) or that is not failed is not an error.
func resetFailed(ctx context.Context, unit string) error {
	err := withBus(ctx, func(conn *sddbus.Conn, _ int) error {
		return conn.ResetFailedUnitContext(ctx, unit)
	})
	switch dbusErrorName(err) {
	case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.UnitNotFailed":
		return nil
	}
	return err
}
