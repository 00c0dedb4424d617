// Package target resolves what a check is told to watch — processes
// named by --pid, --pidfile or --process, a network namespace named by
// --netns, the proc and sys mounts to read — into facts: PIDs, the inodes
// of their sockets, the network namespace they live in. It holds the one
// policy for a watched service that is not running.
//
// Files: target.go (Process options, Resolve, Target and its sockets and
// namespace, the policy); pid.go (the PID option type); netns.go (--netns
// and Namespace, which picks the namespace a check looks into);
// mounts.go (--procfs and --sysfs).
//
// The policy, the same in every check. A check told to watch a service
// answers CRITICAL when the service is not running, because that is what
// the operator asked to be told:
//   - --process NAME: no process has that name;
//   - --pidfile FILE: the file does not exist (nginx, mongod and systemd
//     remove their pid file when the service stops), or it names a PID
//     that is not running (the service died and left it behind);
//   - --pid PID: no process has that PID;
//   - processes that exit while the check looks at them, so that none is
//     left.
//
// It answers UNKNOWN when it cannot tell: a pid file it may not read or
// that is a directory, empty, or holds no PID; a --pid that is no process
// ID at all (refused when parsed, like every bad value); processes in
// several network namespaces when the check needs one. Errors carry the
// sentinel ErrNotRunning and the CRITICAL state (plugin.Error); the
// messages say which of the cases it was.
package target

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Process is the options --pid, --pidfile and --process: the processes a
// check watches. Embed it in a check's options. The three may be given
// together; each process is watched once.
type Process struct {
	PID     []PID  `long:"pid" value-name:"PID" description:"Watch this process (repeatable); CRITICAL when it is not running"`
	Pidfile string `long:"pidfile" value-name:"FILE" description:"Watch the process whose PID this file holds (e.g. /run/nginx.pid); CRITICAL when the file does not exist or its PID is not running"`
	Name    string `long:"process" value-name:"NAME" description:"Watch every process with this name (comm or argv[0], e.g. nginx, mongod); CRITICAL when none runs"`
}

// Set reports whether any of the options is given.
func (p Process) Set() bool { return len(p.PID) > 0 || p.Pidfile != "" || p.Name != "" }

// Key is the selection as words for a state file key: two selections
// that can name different processes never share a key.
func (p Process) Key() []string {
	var out []string
	for _, pid := range p.PID {
		out = append(out, "pid="+strconv.Itoa(int(pid)))
	}
	if p.Pidfile != "" {
		out = append(out, "pidfile="+p.Pidfile)
	}
	if p.Name != "" {
		out = append(out, "process="+p.Name)
	}
	return out
}

// ErrNotRunning is in the chain of every error that says a watched
// service is not running; such errors carry the CRITICAL state.
var ErrNotRunning = errors.New("the watched service is not running")

// NotRunning is the state of a watched service that is not running.
const NotRunning = plugin.Critical

type notRunningError struct{ msg string }

func (e *notRunningError) Error() string        { return e.msg }
func (e *notRunningError) Is(target error) bool { return target == ErrNotRunning }

// notRunning builds the error of the policy: CRITICAL, ErrNotRunning.
func notRunning(format string, args ...any) error {
	return &plugin.Error{State: NotRunning, Err: &notRunningError{fmt.Sprintf(format, args...)}}
}

// Watched is one process of a target.
type Watched struct {
	linux.Process
	// Named is true for a process named by --pid or --pidfile: it must
	// run. Processes found by name and children may exit while the check
	// looks, which only drops them.
	Named bool
}

// Target is the resolved selection: the processes, the service's main
// ones first.
type Target struct {
	What  string // how it was asked for, for messages: "nginx (PID 12 from /run/nginx.pid)"
	Procs []Watched
}

// Want says what a check watches of a named process besides itself.
type Want struct {
	// Children adds the direct children of the processes named by --pid
	// and --pidfile (nginx's workers, which hold its sockets too).
	Children bool
}

// Resolve finds the processes p names; none given is a nil Target. The
// service not running is a CRITICAL error (ErrNotRunning); a pid file that
// cannot be used is an UNKNOWN one.
func Resolve(f linux.FS, p Process, want Want) (*Target, error) {
	if !p.Set() {
		return nil, nil
	}
	t := &Target{}
	seen := map[int]bool{}
	add := func(w Watched) {
		if !seen[w.PID] {
			seen[w.PID] = true
			t.Procs = append(t.Procs, w)
		}
	}
	var what []string
	named := func(pid int, from string) error {
		proc, err := f.ReadProcess(pid)
		if errors.Is(err, linux.ErrNoProcess) {
			if from != "" {
				return notRunning("pid file %s names PID %d, which is not running: the service is down (or it left a stale pid file)", from, pid)
			}
			return notRunning("no process with PID %d is running", pid)
		}
		if err != nil {
			return err
		}
		add(Watched{Process: proc, Named: true})
		w := fmt.Sprintf("%s (PID %d)", proc.Comm, pid)
		if from != "" {
			w = fmt.Sprintf("%s (PID %d from %s)", proc.Comm, pid, from)
		}
		what = append(what, w)
		return nil
	}
	for _, pid := range p.PID {
		if err := named(int(pid), ""); err != nil {
			return nil, err
		}
	}
	if p.Pidfile != "" {
		pid, err := linux.ReadPidfile(p.Pidfile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notRunning("pid file %s does not exist: the service is not running (or this is not its pid file)", p.Pidfile)
		}
		if err != nil {
			return nil, err
		}
		if err := named(pid, p.Pidfile); err != nil {
			return nil, err
		}
	}
	if want.Children && len(t.Procs) > 0 {
		// One listing of /proc for every parent: it reads each process's
		// stat and cmdline.
		all, err := f.Processes()
		if err != nil {
			return nil, err
		}
		for _, parent := range slices.Clone(t.Procs) {
			for _, c := range linux.ChildrenOf(all, parent.PID) {
				add(Watched{Process: c})
			}
		}
	}
	if p.Name != "" {
		ps, err := f.FindProcesses(p.Name)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return nil, notRunning("no process named %q is running", p.Name)
		}
		in := map[int]bool{}
		for _, proc := range ps {
			in[proc.PID] = true
		}
		// The service's main processes (whose parent is not one of them,
		// nginx's master) first, each part by PID.
		slices.SortStableFunc(ps, func(a, b linux.Process) int {
			switch {
			case !in[a.PPID] && in[b.PPID]:
				return -1
			case in[a.PPID] && !in[b.PPID]:
				return 1
			}
			return 0
		})
		for _, proc := range ps {
			add(Watched{Process: proc})
		}
		what = append(what, fmt.Sprintf("%s (PID %s)", p.Name, pidList(linux.PIDs(ps))))
	}
	t.What = strings.Join(what, " and ")
	return t, nil
}

// PIDs returns the PIDs of the target, in order.
func (t *Target) PIDs() []int {
	out := make([]int, len(t.Procs))
	for i, w := range t.Procs {
		out[i] = w.PID
	}
	return out
}

// Exited is the error for a named process that exited while the check
// looked at it: the service is down.
func (w Watched) Exited() error {
	return notRunning("%s (PID %d) exited while being checked: the service is down", w.Comm, w.PID)
}

// Exited is the error for a target all of whose processes exited while
// the check looked at them.
func (t *Target) Exited() error {
	return notRunning("%s exited while being checked: the service is down", t.What)
}

// SocketInodes returns the inodes of the sockets the target's processes
// have open, from /proc/PID/fd (the privilege of the process owner). A
// named process that is gone, or all of them gone, is the service down.
func (t *Target) SocketInodes(f linux.FS) (map[uint64]bool, error) {
	into := map[uint64]bool{}
	read := 0
	for _, w := range t.Procs {
		err := f.SocketInodes(w.PID, into)
		switch {
		case errors.Is(err, linux.ErrNoProcess) && w.Named:
			return nil, w.Exited()
		case errors.Is(err, linux.ErrNoProcess):
			continue
		case err != nil:
			return nil, err
		}
		read++
	}
	if read == 0 {
		return nil, t.Exited()
	}
	return into, nil
}

// Namespace opens the network namespace of the target's processes (not
// opened when it is the check's own). Processes in several namespaces
// are an UNKNOWN error: the check would look into one and miss the
// others.
func (t *Target) Namespace(f linux.FS) (*linux.Netns, error) {
	groups, err := f.GroupByNetns(t.PIDs(), true)
	if err != nil {
		return nil, err
	}
	for _, w := range t.Procs {
		if w.Named && !inGroups(groups, w.PID) {
			return nil, w.Exited()
		}
	}
	switch len(groups) {
	case 0:
		return nil, t.Exited()
	case 1:
		return f.OpenNetns(groups[0].PIDs[0])
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = fmt.Sprintf("%s (PID %s)", g.ID, pidList(g.PIDs))
	}
	slices.Sort(names)
	return nil, fmt.Errorf("%s live in %d network namespaces, %s: watch one of them, with --pid or --pidfile", t.What, len(groups), strings.Join(names, ", "))
}

func inGroups(groups []linux.NetnsGroup, pid int) bool {
	for _, g := range groups {
		if slices.Contains(g.PIDs, pid) {
			return true
		}
	}
	return false
}

// pidList writes PIDs for a message, the first four and how many more.
func pidList(p []int) string {
	s := make([]string, 0, min(len(p), 5))
	for i, v := range p {
		if i == 4 {
			s = append(s, fmt.Sprintf("and %d more", len(p)-4))
			break
		}
		s = append(s, strconv.Itoa(v))
	}
	return strings.Join(s, ", ")
}
