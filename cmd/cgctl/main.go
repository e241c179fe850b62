// Command cgctl manages cgroup v1 control groups from the shell, over the
// github.com/cgroupkit/cgroups library: create, change, inspect and delete cgroups, run a command
// in a fresh cgroup with limits and get a summary of what it used, and watch the busiest cgroups.
// It must run as root for everything that writes.
//
//	cgctl create PATH [limits]          cgctl set PATH [limits]
//	cgctl delete [-r] PATH              cgctl get PATH [-r FILE]... [--json]
//	cgctl classify PATH PID...          cgctl freeze PATH | cgctl thaw PATH
//	cgctl exec [--name PATH] [limits] [--keep] [--json] -- CMD [ARGS...]
//	cgctl ls [PATH] [--json]            cgctl controllers [--json]   (alias lssubsys)
//	cgctl stat PATH [--json]            cgctl top [--sort cpu|mem|pids|io] [-n N]
//	cgctl events PATH [--json] [--oom] [--threshold SIZE[,swap]] [--pressure LEVEL[,MODE]]
//
// With --systemd [--slice SLICE], create, exec, set, get, delete, classify, freeze, thaw, stat
// and events work on systemd units (scopes and slices) through the library's Systemd hierarchy.
//
// Exit status: 0 success, 1 an error (the message names the cgroup, the file and the reason),
// 2 a usage error (a bad flag, value or argument; nothing was written). exec exits with the
// command's status (128+N when signal N killed it, 126 when it cannot be executed, 127 when it
// is not found), or 1 when cgctl itself failed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/cgroupkit/cgroups"
)

// Exit statuses of cgctl itself; exec adds the command's own.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one verb of cgctl.
type command struct {
	name     string
	synopsis string // the arguments, after the name
	short    string // one line for the command list
	long     string // what it does and examples, for --help
	run      func(c *cli, args []string) error
}

// commands is the list `cgctl help` prints, in this order.
var commands []*command

func init() {
	commands = []*command{
		createCmd, setCmd, deleteCmd, getCmd, classifyCmd, freezeCmd, thawCmd,
		execCmd, eventsCmd, lsCmd, controllersCmd, statCmd, topCmd,
	}
}

// aliases are other names of a command, as libcgroup's users know them.
var aliases = map[string]string{"lssubsys": "controllers"}

// cli is one run of cgctl: where output goes, and the hierarchy it works on.
type cli struct {
	stdout, stderr io.Writer
	hierarchy      cgroups.Hierarchy
	cmd            *command

	// systemd is --systemd: cgroups are systemd units (the library's Systemd hierarchy), named
	// by a unit name in slice (--slice).
	systemd bool
	slice   string
}

// usageError is a mistake on the command line: exit status 2, and nothing was changed.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitStatus makes cgctl exit with a given status without printing anything more (exec's
// command status, or an error already reported).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(execInCgroup(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == keeperArg {
		os.Exit(keep())
	}
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, hierarchy: cgroups.V1}
	os.Exit(c.main(os.Args[1:]))
}

func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.printCommands(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if cmd := lookup(args[1]); cmd != nil {
				c.cmd = cmd
				_ = cmd.run(c, []string{"--help"})
				return exitOK
			}
			fmt.Fprintf(c.stderr, "cgctl: unknown command %q (run 'cgctl help')\n", args[1])
			return exitUsage
		}
		c.printCommands(c.stdout)
		return exitOK
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "cgctl: unknown command %q (run 'cgctl help' for the list)\n", name)
		return exitUsage
	}
	c.cmd = cmd
	err := cmd.run(c, args[1:])
	var ue *usageError
	var es exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "cgctl %s: %s\n", cmd.name, oneLine(ue.msg))
		fmt.Fprintf(c.stderr, "Run 'cgctl %s --help' for usage.\n", cmd.name)
		return exitUsage
	default:
		fmt.Fprintf(c.stderr, "cgctl %s: %s\n", cmd.name, oneLine(err.Error()))
		return exitError
	}
}

func lookup(name string) *command {
	if a, ok := aliases[name]; ok {
		name = a
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// oneLine joins the lines of a multi-line error (errors.Join) so every error is one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}

func (c *cli) printCommands(w io.Writer) {
	fmt.Fprintf(w, "cgctl manages cgroup v1 control groups (run as root).\n\nusage: cgctl COMMAND [flags] [args]\n\ncommands:\n")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.short)
	}
	var al []string
	for a, n := range aliases {
		al = append(al, a+" = "+n)
	}
	sort.Strings(al)
	fmt.Fprintf(w, "\naliases: %s\n", strings.Join(al, ", "))
	fmt.Fprintf(w, "\nRun 'cgctl COMMAND --help' for a command's flags and examples.\n"+
		"Exit status: 0 ok, 1 error, 2 usage error; exec exits with the command's status.\n")
}

// printHelp prints the help of the current command and its flags.
func (c *cli) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: cgctl %s %s\n\n%s\n", c.cmd.name, c.cmd.synopsis, strings.TrimSpace(c.cmd.long))
	printFlags(w, fs)
}

func printFlags(w io.Writer, fs *flag.FlagSet) {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// flags returns a flag set for the current command whose errors come back to the caller
// instead of being printed with the whole usage.
func (c *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(c.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args with fs, allowing flags before and after the positional arguments (cgctl
// create /a --memory 1G). A "--" ends the flags; what follows is positional. --help prints the
// command's help and returns flag.ErrHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(c.stdout, fs)
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseCgroupPath checks a cgroup path given on the command line and returns it cleaned, with a
// leading slash ("a/b" is "/a/b"). A ".." component is refused rather than resolved: cgctl acts
// only on the cgroup it is given. The root "/" is refused unless allowRoot: no command changes
// or deletes the root cgroup.
func parseCgroupPath(arg string, allowRoot bool) (string, error) {
	if arg == "" {
		return "", usagef("empty cgroup path")
	}
	if strings.ContainsAny(arg, "\x00\n") {
		return "", usagef("invalid cgroup path %q: it contains a NUL or newline", arg)
	}
	for _, part := range strings.Split(arg, "/") {
		if part == ".." {
			return "", usagef("invalid cgroup path %q: '..' is not allowed (give the path from the hierarchy root)", arg)
		}
	}
	p := path.Clean("/" + arg)
	if p == "/" && !allowRoot {
		return "", usagef("refusing to act on the root cgroup %q: give a cgroup below it", arg)
	}
	return p, nil
}

// onePath parses the positional arguments of a command that takes exactly one cgroup path.
func onePath(pos []string, allowRoot bool) (string, error) {
	switch len(pos) {
	case 0:
		return "", usagef("missing the cgroup PATH")
	case 1:
		return parseCgroupPath(pos[0], allowRoot)
	}
	return "", usagef("unexpected arguments after the cgroup path: %s", strings.Join(pos[1:], " "))
}

// load opens an existing cgroup, with an error that says so when it does not exist.
func (c *cli) load(p string) (cgroups.Cgroup, error) {
	cg, err := cgroups.Load(c.hierarchy, cgroups.StaticPath(p))
	if err != nil && c.systemd {
		return nil, systemdError(p, err)
	}
	if errors.Is(err, cgroups.ErrCgroupDeleted) {
		return nil, fmt.Errorf("cgroup %s: does not exist in any mounted controller", p)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", p, err)
	}
	return cg, nil
}

// subsystems returns the mounted controllers, with a hint when there are none.
func (c *cli) subsystems() ([]cgroups.Subsystem, error) {
	subs, err := c.hierarchy()
	if errors.Is(err, cgroups.ErrMountPointNotExist) {
		return nil, fmt.Errorf("%w (this machine has no cgroup v1 hierarchy; cgctl is for cgroup v1)", err)
	}
	return subs, err
}

// pather is the part of a controller that gives a cgroup's directory.
type pather interface {
	Path(path string) string
}

// dirOf returns the directory of cgroup p in controller s, or "" if s has no directory.
func dirOf(s cgroups.Subsystem, p string) string {
	if pt, ok := s.(pather); ok {
		return pt.Path(p)
	}
	return ""
}

func requireRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: cgroups are changed under /sys/fs/cgroup")
	}
	return nil
}

// systemdFlags registers --systemd and --slice on a command whose cgroup can be a systemd unit.
func (c *cli) systemdFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.systemd, "systemd", false, "the cgroup is a systemd unit (scope or slice) named by PATH, made and changed through systemd over D-Bus")
	fs.StringVar(&c.slice, "slice", "", "with --systemd: the slice of a scope (default system.slice); a slice's parent follows from its name")
}

// onePath is the package's onePath, or with --systemd the cgroup path of the unit named.
func (c *cli) onePath(pos []string, allowRoot bool) (string, error) {
	if !c.systemd {
		if c.slice != "" {
			return "", usagef("--slice %s needs --systemd", c.slice)
		}
		return onePath(pos, allowRoot)
	}
	switch len(pos) {
	case 0:
		return "", usagef("missing the unit name (NAME.scope, NAME.slice, or /SLICE/NAME.scope)")
	case 1:
		return c.unitPath(pos[0])
	}
	return "", usagef("unexpected arguments after the unit name: %s", strings.Join(pos[1:], " "))
}

// unitPath turns a unit given on the command line into its cgroup path: "job" or "job.scope" is
// a scope in --slice (system.slice by default), "a-b.slice" a slice in its parent by systemd's
// naming ("/a.slice/a-b.slice"), and a path "/system.slice/job.scope" names both at once.
func (c *cli) unitPath(arg string) (string, error) {
	c.hierarchy = cgroups.Systemd
	name, slice := arg, c.slice
	if strings.Contains(arg, "/") {
		if slice != "" {
			return "", usagef("give the unit either as a path (%s) or as a name with --slice, not both", arg)
		}
		p := path.Clean("/" + arg)
		name = path.Base(p)
		if slice = path.Base(path.Dir(p)); slice == "/" {
			slice = "-.slice"
		}
	}
	if strings.HasSuffix(name, ".slice") && slice == "" {
		slice = "-.slice"
		if i := strings.LastIndex(strings.TrimSuffix(name, ".slice"), "-"); i > 0 {
			slice = name[:i] + ".slice"
		}
	}
	p, err := cgroups.Slice(slice, name)(cgroups.SystemdDbus)
	if err != nil {
		return "", usagef("unit %q: %v", arg, err)
	}
	if p == "/-.slice" || p == "/" {
		return "", usagef("refusing to act on the root slice %q", arg)
	}
	return p, nil
}

// systemdError makes the errors of the systemd hierarchy say what to do.
func systemdError(p string, err error) error {
	switch {
	case errors.Is(err, cgroups.ErrSystemdUnavailable):
		return fmt.Errorf("--systemd: cannot reach systemd over D-Bus (neither the system bus nor /run/systemd/private answers; is this a systemd host?): %w", err)
	case errors.Is(err, cgroups.ErrCgroupDeleted):
		return fmt.Errorf("unit %s: not running (%w)", p, err)
	}
	return fmt.Errorf("unit %s: %w", p, err)
}
