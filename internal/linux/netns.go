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
	ID   string // "net:[4026531992]", as /proc/PID/ns/net reads
	FD   int    // open namespace when it is not ours, else 0
	PID  int    // the process it was found through; 0 for none
	Path string // the namespace file it was opened from (/run/netns/NAME); "" for none
}

// NetnsID reads the network namespace of pid (0: our own). The link is
// read, not followed, so a fixture root can hold it as a plain symlink.
func (f FS) NetnsID(pid int) (string, error) {
	who := "self"
	if pid != 0 {
		who = strconv.Itoa(pid)
	}
	path := f.ProcPath(who, "ns", "net")
	id, err := procValue(f, func() (string, error) { return os.Readlink(path) })
	if err != nil {
		if pid != 0 && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) {
			return "", fmt.Errorf("cannot read %s: %w, reading another user's network namespace needs root (CAP_SYS_PTRACE) or the sudoers rule in packaging/", path, ErrPermission)
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
		return &Netns{ID: id, PID: pid}, nil
	}
	path := f.ProcPath(strconv.Itoa(pid), "ns", "net")
	fd, err := procValue(f, func() (int, error) { return unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return nil, Describe(path, err)
	}
	return &Netns{ID: id, FD: fd, PID: pid}, nil
}

// OpenNetnsFile opens the network namespace a file refers to, as
// `ip netns add NAME` leaves one at /run/netns/NAME (a bind mount of
// /proc/PID/ns/net). A file that is no network namespace is an error; a
// FIFO or a terminal named by mistake neither blocks nor becomes the
// controlling terminal. Through sudo it is opened with the caller's rights
// (internal/privilege); only entering the namespace is privileged.
func (f FS) OpenNetnsFile(path string) (*Netns, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, DescribeFile(path, err)
	}
	// NS_GET_NSTYPE (Linux 4.11) answers on namespace files only.
	var st unix.Stat_t
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err != nil || t != unix.CLONE_NEWNET {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a network namespace (as ip netns add makes under /run/netns)", path)
	}
	id := fmt.Sprintf("net:[%d]", st.Ino)
	if own, err := f.NetnsID(0); err == nil && own == id {
		unix.Close(fd)
		return &Netns{ID: id, Path: path}, nil
	}
	return &Netns{ID: id, FD: fd, Path: path}, nil
}

// ReadNet reads a file of /proc/net (netstat, stat/nf_conntrack) as the
// namespace sees it: our own /proc/net, /proc/PID/net of the process it
// was found through, or /proc/thread-self/net read from a thread inside
// it when it was opened from a file. It returns the path read, for
// messages.
func (f FS) ReadNet(ns *Netns, elem ...string) ([]byte, string, error) {
	var path string
	read := ns.Do // the own namespace: fn as it is
	switch {
	case ns.Own():
		path = f.ProcPath(append([]string{"net"}, elem...)...)
	case ns.PID != 0:
		path = f.ProcPath(append([]string{strconv.Itoa(ns.PID), "net"}, elem...)...)
		read = f.asProc
	default:
		path = f.ProcPath(append([]string{"thread-self", "net"}, elem...)...)
	}
	var b []byte
	err := read(func() (err error) {
		b, err = ReadFile(path)
		return err
	})
	return b, path, err
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
