package linux

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Netns is the network namespace a check looks into: sockets, sysctls
// under /proc/sys/net and /proc/PID/net are per namespace.
type Netns struct {
	ID string // "net:[4026531992]", as /proc/PID/ns/net reads
	FD int    // open namespace when it is not ours, else 0
}

// NetnsID reads the network namespace of pid (0: our own). The link is
// read, not followed, so a fixture root can hold it as a plain symlink.
func (f FS) NetnsID(pid int) (string, error) {
	who := "self"
	if pid != 0 {
		who = strconv.Itoa(pid)
	}
	path := f.ProcPath(who, "ns", "net")
	id, err := os.Readlink(path)
	if err != nil {
		if pid != 0 && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) {
			return "", fmt.Errorf("cannot read %s: %w; reading another user's network namespace needs root (CAP_SYS_PTRACE) or the sudoers rule in packaging/", path, ErrPermission)
		}
		return "", Describe(path, err)
	}
	return id, nil
}

// OpenNetns finds the network namespace of pid (0: our own) and opens it
// when it differs from ours, so that the sockets and sysctls read are that
// process's.
func (f FS) OpenNetns(pid int) (*Netns, error) {
	own, err := f.NetnsID(0)
	if err != nil {
		return nil, err
	}
	if pid == 0 {
		return &Netns{ID: own}, nil
	}
	id, err := f.NetnsID(pid)
	if err != nil {
		return nil, err
	}
	if id == own {
		return &Netns{ID: id}, nil
	}
	path := f.ProcPath(strconv.Itoa(pid), "ns", "net")
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, Describe(path, err)
	}
	return &Netns{ID: id, FD: fd}, nil
}

// Own reports whether the namespace is the check's own.
func (n *Netns) Own() bool { return n.FD == 0 }

// Close releases the namespace file descriptor.
func (n *Netns) Close() {
	if n.FD > 0 {
		unix.Close(n.FD)
		n.FD = 0
	}
}

// Do runs fn inside the namespace (directly when it is ours).
func (n *Netns) Do(fn func() error) error {
	if n.FD == 0 {
		return fn()
	}
	return InNetns(n.FD, fn)
}

// NetnsGroup is processes that share a network namespace.
type NetnsGroup struct {
	ID   string
	PIDs []int
}

// GroupByNetns groups pids by network namespace, the groups in the order
// of their first PID. With skipExited, a process that exited since it was
// listed is left out instead of being an error (processes found by name
// come and go).
func (f FS) GroupByNetns(pids []int, skipExited bool) ([]NetnsGroup, error) {
	var groups []NetnsGroup
	at := map[string]int{}
	for _, pid := range pids {
		id, err := f.NetnsID(pid)
		if err != nil {
			if skipExited && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		i, ok := at[id]
		if !ok {
			i = len(groups)
			at[id] = i
			groups = append(groups, NetnsGroup{ID: id})
		}
		groups[i].PIDs = append(groups[i].PIDs, pid)
	}
	return groups, nil
}
