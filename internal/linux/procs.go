package linux

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Process is a running process as found under /proc.
type Process struct {
	PID  int
	PPID int
	Comm string // the kernel's short name (at most 15 bytes)
	Exe  string // basename of argv[0]
}

// Sentinels behind the process errors, for errors.Is; the messages stay
// the sentences operators read. Which state a missing process gets is
// not decided here (internal/target decides it, once).
var (
	ErrNoProcess  = errors.New("no such process")
	ErrBadPidfile = errors.New("not a pid file")
)

// procError is a message that matches a sentinel.
type procError struct {
	msg  string
	kind error
}

func (e *procError) Error() string { return e.msg }
func (e *procError) Unwrap() error { return e.kind }

func noProcess(pid int) error {
	return &procError{fmt.Sprintf("no process with PID %d", pid), ErrNoProcess}
}

// ReadProcess reads /proc/PID/stat and cmdline.
func (f FS) ReadProcess(pid int) (Process, error) {
	return procValue(f, func() (Process, error) { return f.readProcess(pid) })
}

func (f FS) readProcess(pid int) (Process, error) {
	p := Process{PID: pid}
	b, err := readFile(f.ProcPath(strconv.Itoa(pid), "stat"))
	// A /proc mounted with hidepid=invisible (2) leaves out the processes
	// of other users as if they did not exist; the kernel still answers
	// kill(PID, 0) with EPERM for them.
	if errors.Is(err, fs.ErrNotExist) && f.Proc == HostProc && syscall.Kill(pid, 0) == syscall.EPERM {
		return p, fmt.Errorf("cannot read %s: %w: PID %d runs, but /proc hides other users' processes (mounted with hidepid), run as root or via the sudoers rule in packaging/", f.ProcPath(strconv.Itoa(pid)), ErrPermission, pid)
	}
	if err != nil {
		return p, fileError(pid, f.ProcPath(strconv.Itoa(pid), "stat"), err)
	}
	// comm is in parentheses and may itself hold spaces or parentheses.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return p, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	p.Comm = string(b[open+1 : end])
	rest := strings.Fields(string(b[end+1:]))
	if len(rest) > 2 {
		p.PPID, _ = strconv.Atoi(rest[1])
	}
	if cl, err := readFile(f.ProcPath(strconv.Itoa(pid), "cmdline")); err == nil {
		arg0, _, _ := bytes.Cut(cl, []byte{0})
		p.Exe = filepath.Base(string(arg0))
	}
	return p, nil
}

// Processes lists every process (those that exit while being listed are
// skipped).
func (f FS) Processes() (out []Process, err error) {
	err = f.asProc(func() error {
		ents, err := os.ReadDir(f.Proc)
		if err != nil {
			return Describe(f.Proc, err)
		}
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if p, err := f.readProcess(pid); err == nil {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

// FindProcesses returns the processes whose comm or argv[0] basename is
// name (so "nginx" finds "nginx: master process" and its workers), by
// PID; none is an empty list, not an error.
func (f FS) FindProcesses(name string) ([]Process, error) {
	all, err := f.Processes()
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, p := range all {
		exe := strings.TrimSuffix(p.Exe, ":")
		if p.Comm == name || exe == name || (len(name) > 15 && strings.HasPrefix(name, p.Comm)) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Process) int { return a.PID - b.PID })
	return out, nil
}

// PIDs returns the PIDs of ps, in order.
func PIDs(ps []Process) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.PID
	}
	return out
}

// WithChildren returns pid and its direct children (nginx's workers).
func (f FS) WithChildren(pid int) ([]int, error) {
	all, err := f.Processes()
	if err != nil {
		return nil, err
	}
	return append([]int{pid}, PIDs(ChildrenOf(all, pid))...), nil
}

// ChildrenOf returns the processes of all (a Processes listing) whose
// parent is pid, in all's order.
func ChildrenOf(all []Process, pid int) []Process {
	var out []Process
	for _, p := range all {
		if p.PPID == pid {
			out = append(out, p)
		}
	}
	return out
}

// maxPidfile bounds what is read of a pid file, which holds a PID and a
// newline: a device or a log named by mistake is not read whole
// (--pidfile /dev/zero took a gigabyte of memory in 3 seconds).
const maxPidfile = 64

// ReadPidfile reads the PID a pid file holds. A file that does not exist
// is an error that matches fs.ErrNotExist; one that holds no PID matches
// ErrBadPidfile. Whether the process runs is not checked. A FIFO or a
// terminal named by mistake does not block. Through sudo the file is read
// with the caller's rights (internal/privilege).
func ReadPidfile(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return 0, DescribeFile(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPidfile+1))
	if err != nil {
		return 0, DescribeFile(path, err)
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || len(b) > maxPidfile {
		return 0, &procError{fmt.Sprintf("pid file %s does not hold a PID (%s)", path, pidfileContent(s, len(b) > maxPidfile)), ErrBadPidfile}
	}
	return pid, nil
}

// pidfileContent says what a file that holds no PID holds. Only digits
// and signs are quoted: a check may run as root (the sudoers rule in
// packaging/), and the first line of a file such as /etc/shadow named as
// a pid file must not reach the output.
func pidfileContent(s string, long bool) string {
	switch {
	case long:
		return fmt.Sprintf("it is longer than %d bytes", maxPidfile)
	case s == "":
		return "it is empty"
	case strings.Trim(s, "0123456789+-") == "":
		return fmt.Sprintf("found %q", s)
	}
	return fmt.Sprintf("found %d bytes that are not a number, not shown", len(s))
}

// SocketInodes adds the inodes of the sockets process pid has open to
// into, from the links in /proc/PID/fd (reading them needs the privilege
// of the process owner). A process that is gone is ErrNoProcess.
func (f FS) SocketInodes(pid int, into map[uint64]bool) error {
	return f.asProc(func() error { return f.socketInodes(pid, into) })
}

func (f FS) socketInodes(pid int, into map[uint64]bool) error {
	dir := f.ProcPath(strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fileError(pid, dir, err)
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed while we looked
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				into[ino] = true
			}
		}
	}
	return nil
}

// OpenProcFile opens the file name of process pid (numa_maps) with the
// privilege the sudoers rule is for (see asProc). Errors are the os
// package's, for the caller to tell a process that is gone.
func (f FS) OpenProcFile(pid int, name string) (*os.File, error) {
	return procValue(f, func() (*os.File, error) { return os.Open(f.ProcPath(strconv.Itoa(pid), name)) })
}

// fileError is the error of reading path, a file of process pid: gone
// (ENOENT) is ErrNoProcess, other errors name the file and the
// privilege.
func fileError(pid int, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return noProcess(pid)
	}
	return Describe(path, err)
}
