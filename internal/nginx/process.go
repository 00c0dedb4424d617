package nginx

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Target is the nginx found through --pid, --pidfile or --process: its
// master and workers.
type Target struct {
	What string // how it was asked for, for messages: "nginx (PID 12)"
	PIDs []int  // master first
}

// FindTarget resolves --pid, --pidfile or --process (at most one is set;
// none gives a nil Target). A named PID that does not exist or a pid file
// that does not exist is bad input (UNKNOWN), as for every check of the
// suite; a stale pid file (nginx crashed) and a --process with no match
// are nginx being down: CRITICAL.
func FindTarget(f linux.FS, pid int, pidfile, process string) (*Target, error) {
	switch {
	case pidfile != "":
		p, err := f.ReadPidfile(pidfile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("pid file %s does not exist: is nginx running, and is this its pid file? (use --process nginx to alert CRITICAL when nginx is down)", pidfile)
		case errors.Is(err, linux.ErrStalePidfile):
			return nil, plugin.Errorf(plugin.Critical, "%v", err)
		case err != nil:
			return nil, err
		}
		return withChildren(f, p, fmt.Sprintf("nginx (PID %d from %s)", p, pidfile))
	case pid != 0:
		if pid < 0 {
			return nil, plugin.InvalidPID(strconv.Itoa(pid))
		}
		if _, err := f.ReadProcess(pid); err != nil {
			if errors.Is(err, linux.ErrNoProcess) {
				return nil, fmt.Errorf("no process with PID %d is running", pid)
			}
			return nil, err
		}
		return withChildren(f, pid, fmt.Sprintf("PID %d", pid))
	case process != "":
		ps, err := f.ProcessesNamed(process)
		if err != nil {
			return nil, err
		}
		in := map[int]bool{}
		for _, p := range ps {
			in[p.PID] = true
		}
		// Masters (whose parent is not one of them) first, each part by PID
		// as ProcessesNamed returns them.
		sort.SliceStable(ps, func(i, j int) bool { return !in[ps[i].PPID] && in[ps[j].PPID] })
		pids := linux.PIDs(ps)
		return &Target{What: fmt.Sprintf("%s (PID %s)", process, pidList(pids)), PIDs: pids}, nil
	}
	return nil, nil
}

func withChildren(f linux.FS, pid int, what string) (*Target, error) {
	pids, err := f.WithChildren(pid)
	if err != nil {
		return nil, err
	}
	return &Target{What: what, PIDs: pids}, nil
}

func pidList(p []int) string {
	s := make([]string, 0, len(p))
	for i, v := range p {
		if i == 4 {
			s = append(s, fmt.Sprintf("and %d more", len(p)-4))
			break
		}
		s = append(s, strconv.Itoa(v))
	}
	return strings.Join(s, ", ")
}
