// Package linux holds the Linux readers the checks share. It returns
// facts and errors (sentinels ErrNoProcess, ErrBadPidfile, ErrPermission,
// fs.ErrNotExist for missing files); which state a fact deserves is the
// checks' business, and "the service is not running" is decided once, in
// internal/target.
//
// Files: fs.go (FS: /proc and /sys read under configurable mount points,
// sysctls, errors that name the missing privilege); procs.go (processes,
// pid files, socket inodes of a process); limits.go (/proc/PID/limits,
// the open descriptors of a process); netns.go (network namespaces:
// by process or namespace file, entering one, /proc/net as it sees it);
// netstat.go (TcpExt counters of /proc/net/netstat); conntrack.go (the
// per-CPU statistics of /proc/net/stat/nf_conntrack); softnet.go (the
// per-CPU receive-path counters of /proc/net/softnet_stat); sockdiag.go
// (the inet_diag dump over NETLINK_SOCK_DIAG); tcpinfo.go (struct
// tcp_info).
//
// Why our own readers and not prometheus/procfs, which covers netstat,
// meminfo and more under a mount point (its NewFS is what FS follows):
// measured with bench/deps (v0.23.0, 2026-12-06), importing it costs
// every start +0.31 ms of package init (its own init compiles regular
// expressions: 0.28 ms, 892 allocations), +0.55 ms wall and +0.52 ms CPU
// per run (medians of 1,500 interleaved runs reading the two TcpExt
// counters, loaded machine), about half a check_dummy; the local checks
// sit at 2.5-3.5x check_dummy against a 3x budget. It would not replace
// the rest: sysctls read inside another network namespace, numa_maps,
// nf_conntrack's statistics, sock_diag.
package linux

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/opschecks/opschecks/internal/privilege"
)

// FS reads /proc and /sys where they are mounted.
type FS struct {
	Proc string // procfs mount point, /proc on the host
	Sys  string // sysfs mount point, /sys on the host
}

// NewFS returns an FS for proc and sysfs mounted at proc and sys (empty:
// /proc, /sys), as procfs.NewFS and node_exporter's --path.* take them.
func NewFS(proc, sys string) FS {
	if proc == "" {
		proc = HostProc
	}
	if sys == "" {
		sys = "/sys"
	}
	return FS{Proc: filepath.Clean(proc), Sys: filepath.Clean(sys)}
}

// Under returns the FS of a tree that holds proc/ and sys/ (a container's
// root, a fixture).
func Under(root string) FS {
	return NewFS(filepath.Join(root, "proc"), filepath.Join(root, "sys"))
}

// Host is the FS of the real machine.
var Host = NewFS(HostProc, "/sys")

// HostProc is where the kernel's procfs is mounted on the host.
const HostProc = "/proc"

// asProc runs fn, which reads files of processes below f.Proc, with the
// capabilities the sudoers rule is for (privilege.Proc) when the check
// runs through sudo: only below the host's /proc, never below a tree the
// caller named (--procfs), which is read with the caller's rights.
func (f FS) asProc(fn func() error) error {
	if f.Proc != HostProc {
		return fn()
	}
	return privilege.Do(privilege.Proc, fn)
}

// procValue is asProc for a read that returns a value.
func procValue[T any](f FS, fn func() (T, error)) (v T, err error) {
	err = f.asProc(func() (err error) {
		v, err = fn()
		return err
	})
	return v, err
}

// ProcPath joins elements below the proc root.
func (f FS) ProcPath(elem ...string) string {
	return filepath.Join(append([]string{f.Proc}, elem...)...)
}

// SysPath joins elements below the sys root.
func (f FS) SysPath(elem ...string) string { return filepath.Join(append([]string{f.Sys}, elem...)...) }

// ReadFile reads a file and turns errors into sentences that name the
// missing privilege where there is one.
func ReadFile(path string) ([]byte, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, Describe(path, err)
	}
	return b, nil
}

// readFile is os.ReadFile in the fewest system calls (open, reads until
// one returns 0, close), for the small files of /proc and /sys the checks
// read. os.ReadFile opens through the runtime's poller: two fcntl, an
// fstat, an epoll_ctl add and delete around each file, and since /proc/sys
// and /proc/net files can be polled, each add wakes the poller's thread
// (the watchdog's timer keeps one in epoll_pwait). Its 512-byte first
// read and small growth also took /proc/net/netstat (4 KB) in five reads.
// Here the first read asks for 512 bytes, which holds a sysctl (the
// kernel allocates and zeroes a buffer of the size asked for at each read
// of one), the next for 4 KiB. Measured in check_nginx_queue (2026-12-06,
// time marks, medians of 1,500 runs interleaved with the previous build):
// its three sysctls 64 -> 31 us, netstat 88 -> 66 us, softnet_stat 38 ->
// 32 us. Processes (stat and cmdline of each process), 73 processes:
// 0.8-1.2 -> 0.54-0.69 ms (go test -bench, 2026-12-06, loaded machine).
func readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(make([]byte, 0, max(2*cap(b), 4096)), b...)
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		case n == 0:
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// MaxSecretLine bounds what ReadFirstLine reads of a password file.
const MaxSecretLine = 4096

// ReadFirstLine returns the first line of a file the user names (a
// password file), without its line end, reading at most max bytes: a
// device or a log named by mistake is not read whole (/dev/zero took
// 370 MB of memory in 2 seconds). Errors name the file and the fix.
func ReadFirstLine(path string, max int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", DescribeFile(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return "", DescribeFile(path, err)
	}
	line, _, found := strings.Cut(string(b), "\n")
	if !found && len(b) > max {
		return "", fmt.Errorf("%s has no line end in its first %d bytes: expected a short first line", path, max)
	}
	return strings.TrimSuffix(line, "\r"), nil
}

// ErrPermission is wrapped by errors that come from a missing privilege.
var ErrPermission = errors.New("permission denied")

// Describe turns a file error into one clear sentence.
func Describe(path string, err error) error {
	return describe(path, err, "run as root or as the owner of the process, or via the sudoers rule in packaging/")
}

// sudoHint is the fix of a permission error when the check runs through
// sudo: it has the caller's rights for everything but what the sudoers
// rule is for (internal/privilege).
func sudoHint(c *privilege.Caller) string {
	return fmt.Sprintf("through sudo the check reads it with the rights of %s, who ran it (the sudoers rule is only for the watched processes' files under /proc and entering network namespaces): make it readable by %s", c.Name, c.Name)
}

// DescribeFile is Describe for a file the user names (a pid file, a
// password or certificate file), whose fix is its permissions rather than
// a process's owner.
func DescribeFile(path string, err error) error {
	return describe(path, err, "run as root or as a user that may read it, or make it readable by the user the check runs as")
}

func describe(path string, err error, hint string) error {
	switch {
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		if c := privilege.Sudo(); c != nil {
			hint = sudoHint(c)
		}
		return fmt.Errorf("cannot read %s: %w, %s", path, ErrPermission, hint)
	case errors.Is(err, fs.ErrNotExist):
		return missingError(path)
	case errors.Is(err, syscall.ESRCH):
		return fmt.Errorf("cannot read %s: the process has exited", path)
	}
	return fmt.Errorf("cannot read %s: %v", path, err)
}

// missingError says a file does not exist and still answers
// errors.Is(err, fs.ErrNotExist), so callers for whom absence is normal
// (a kernel without NUMA support has no zone_reclaim_mode) can tell.
type missingError string

func (e missingError) Error() string        { return "cannot read " + string(e) + ": no such file" }
func (e missingError) Is(target error) bool { return target == fs.ErrNotExist }

// Sysctl reads a sysctl by its dotted name (net.core.somaxconn) from
// <proc>/sys. Network sysctls are those of the reading thread's network
// namespace.
func (f FS) Sysctl(name string) (string, error) {
	b, err := ReadFile(f.ProcPath("sys", strings.ReplaceAll(name, ".", "/")))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// SysctlInts reads a sysctl holding one or more whitespace-separated
// integers (tcp_rmem holds three).
func (f FS) SysctlInts(name string) ([]int64, error) {
	s, err := f.Sysctl(name)
	if err != nil {
		return nil, err
	}
	return ParseInts(name, s)
}

// SysctlInt reads a sysctl holding one integer.
func (f FS) SysctlInt(name string) (int64, error) {
	v, err := f.SysctlInts(name)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("sysctl %s: expected one integer, got %d", name, len(v))
	}
	return v[0], nil
}

// SysctlIntEach reads sysctls that hold one integer each, in the order
// named; the first that cannot be read is the error.
func (f FS) SysctlIntEach(names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	for i, name := range names {
		v, err := f.SysctlInt(name)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// ParseInts parses whitespace-separated integers, naming what it parses in
// the error.
func ParseInts(what, s string) ([]int64, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%s: empty value", what)
	}
	out := make([]int64, 0, len(fields))
	for _, fl := range fields {
		v, err := strconv.ParseInt(fl, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", what, fl)
		}
		out = append(out, v)
	}
	return out, nil
}
