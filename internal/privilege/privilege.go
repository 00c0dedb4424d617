// Package privilege is the one policy for a check run through sudo: the
// packages' sudoers rule (packaging/sudoers) lets the monitoring users
// run some checks as root, and what such a user names on the command line
// must never be read, written or entered with root's rights.
//
// sudo sets SUDO_UID and SUDO_GID itself, but a sudoers rule with SETENV
// (or setenv, or an env_keep of them) lets the caller set them: Drop
// holds SUDO_UID against the real UID of sudo's process, the check's
// parent, and SUDO_GID against the caller's groups, and refuses the run
// when they disagree.
//
// The policy. When a check starts with effective UID 0 and sudo's
// SUDO_UID names another user (the caller), Drop makes the whole process
// that user before anything else runs: its UID, its primary group and
// the supplementary groups /etc/group gives it, on every thread. Of
// root's capabilities it keeps three in the permitted set only, none
// effective:
//   - CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, to read /proc/PID/fd,
//     numa_maps, ns/net and the rest of /proc/PID of another user's
//     process (Proc);
//   - CAP_SYS_ADMIN, for setns into another network namespace (Setns).
//
// Do makes one of those sets effective on the calling goroutine's OS
// thread alone, for one function, and lowers it again: the code that may
// run with a capability is the function Do is given, nothing else.
// Everything else — every path the caller names (pid files, password
// files, --state-dir, --netns, a --sysfs tree), the state files, network
// connections, the helpers a check executes — runs with the caller's
// rights, and the kernel's permission checks apply to it as they would
// to the caller running the check without sudo.
//
// Why not root with refusals instead: a list of refused options is only
// as good as its last review (every new option that takes a path would
// reopen the hole), paths are raced (a checked directory replaced by a
// link), and a caller-named file read as root leaks through messages no
// list can foresee. Why capabilities per thread: capabilities are a
// property of each thread in Linux, so raising one in the thread that
// runs the function keeps it away from the runtime's other threads;
// runtime.LockOSThread keeps the goroutine on that thread, and the Go
// runtime never clones a new thread from a locked one (newm hands that
// to its template thread), so no thread is born with a raised set.
// setuid and capset for the whole process go through
// syscall.AllThreadsSyscall (syscall.Setresuid and friends use it too),
// which needs a binary without cgo: the checks are built with
// CGO_ENABLED=0, and Drop refuses to run the check otherwise.
package privilege

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Set is a set of capabilities (bit n is capability n, as in the kernel's
// cap_user_data_t; the three the policy keeps are below 32).
type Set uint32

// The capability sets Do raises.
const (
	// Proc reads /proc/PID of another user's process: the fd directory
	// (mode 0500, its owner's: CAP_DAC_READ_SEARCH) and the files and
	// links the kernel guards with a ptrace access check (fd/N, numa_maps,
	// ns/net, and all of /proc/PID under hidepid: CAP_SYS_PTRACE).
	Proc Set = 1<<unix.CAP_DAC_READ_SEARCH | 1<<unix.CAP_SYS_PTRACE
	// Setns enters another network namespace (setns(2) wants
	// CAP_SYS_ADMIN).
	Setns Set = 1 << unix.CAP_SYS_ADMIN

	kept = Proc | Setns
)

// Caller is the user who ran the check through sudo.
type Caller struct {
	Name     string // SUDO_USER
	UID, GID int    // SUDO_UID, SUDO_GID
}

// caller is set once by Drop, before the check starts any goroutine of
// its own, and read-only afterwards.
var caller *Caller

// Sudo returns the caller when the check runs through sudo with the
// caller's identity (Drop took it), else nil.
func Sudo() *Caller { return caller }

// fromEnv reads the caller sudo names: SUDO_UID (and SUDO_GID,
// SUDO_USER). sudo sets them itself, whatever the caller's environment
// held, unless a sudoers rule lets the caller set them (SETENV, setenv,
// env_keep): SUDO_UID is held against sudo's own process (invoker).
// nil: not run through sudo by another user than root.
func fromEnv() (*Caller, error) {
	u, ok := os.LookupEnv("SUDO_UID")
	if !ok {
		return nil, nil
	}
	uid, err := strconv.Atoi(u)
	if err != nil || uid < 0 {
		return nil, fmt.Errorf("SUDO_UID %q is no user ID", u)
	}
	if err := invoker(os.Getppid(), uid); err != nil {
		return nil, err
	}
	if uid == 0 {
		return nil, nil
	}
	g := os.Getenv("SUDO_GID")
	gid, err := strconv.Atoi(g)
	if err != nil || gid < 0 {
		return nil, fmt.Errorf("SUDO_GID %q is no group ID", g)
	}
	return &Caller{Name: os.Getenv("SUDO_USER"), UID: uid, GID: gid}, nil
}

// invoker holds SUDO_UID (uid) against the check's parent process ppid.
// sudo changes only its effective and saved user IDs: its process keeps
// the real UID of the user who ran it and waits for the command as its
// parent (or, when sudo executes the command in its own place, the parent
// is that user's own process). So a parent whose real UID is neither
// root's nor uid means the caller set SUDO_UID itself, which a sudoers
// rule with SETENV, a "Defaults setenv" or an env_keep of SUDO_UID
// matching the check allows: SUDO_UID=0 would keep root's rights, another
// user's ID would take that user's. A parent that is gone, or is PID 1
// as root, may be the caller's own sudo killed to leave the check to init
// (the caller may signal it): refused as well. Not caught: a caller whose
// sudo executes the command in its own place under a parent of root's
// (cron's), or a check left to a subreaper of root's other than PID 1.
func invoker(ppid, uid int) error {
	ruid, err := realUID(ppid)
	if err == nil && os.Getppid() != ppid {
		err = errors.New("it ended")
	}
	switch {
	case err != nil || (ppid == 1 && ruid == 0):
		if err == nil {
			err = errors.New("it is PID 1")
		}
		return fmt.Errorf("SUDO_UID %d cannot be held against sudo's process, the check's parent (PID %d: %v): not run", uid, ppid, err)
	case ruid != 0 && ruid != uid:
		return fmt.Errorf("SUDO_UID %d is not the user who ran sudo (UID %d): the caller set it, which a sudoers rule with SETENV, setenv or env_keep of SUDO_UID for this check allows: not run", uid, ruid)
	}
	return nil
}

// realUID reads the real user ID of process pid (the first of the Uid:
// line of /proc/PID/status).
func realUID(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("no Uid line in its status")
}

// Drop applies the policy: run through sudo by another user than root,
// the process takes that user's identity, keeping the capabilities of
// Proc and Setns permitted and none effective. Otherwise (not root, or
// root not through sudo) it does nothing. An error means the process
// could not be made the caller's and must not go on.
func Drop() error {
	if os.Geteuid() != 0 {
		return nil
	}
	c, err := fromEnv()
	if err != nil || c == nil {
		return err
	}
	groups := []int{c.GID}
	if u, err := user.LookupId(strconv.Itoa(c.UID)); err == nil {
		if c.Name == "" {
			c.Name = u.Username
		}
		if ids, err := u.GroupIds(); err == nil {
			groups = groups[:0]
			for _, id := range ids {
				if g, err := strconv.Atoi(id); err == nil {
					groups = append(groups, g)
				}
			}
			// sudo's own process has root's group IDs, so SUDO_GID is
			// held against the caller's groups instead: one set by the
			// caller (SETENV, as SUDO_UID) would give it any group.
			if !slices.Contains(groups, c.GID) {
				return fmt.Errorf("SUDO_GID %d is not a group of %s, who ran the check through sudo: the caller set it, which a sudoers rule with SETENV, setenv or env_keep of SUDO_GID for this check allows: not run", c.GID, u.Username)
			}
		}
	}
	if c.Name == "" {
		c.Name = "UID " + strconv.Itoa(c.UID)
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("cannot take the identity of %s, who ran the check through sudo (%s: %v): not run", c.Name, what, err)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fail("setgroups", err)
	}
	if err := syscall.Setresgid(c.GID, c.GID, c.GID); err != nil {
		return fail("setresgid", err)
	}
	// Keep the permitted capabilities across the change of UID (the
	// effective ones are cleared all the same). The flag stays set: it
	// matters only to a later change of UID, which never comes, and
	// execve clears it.
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
		return fail("prctl PR_SET_KEEPCAPS", err)
	}
	if err := syscall.Setresuid(c.UID, c.UID, c.UID); err != nil {
		return fail("setresuid", err)
	}
	// Of root's capabilities, only kept stays permitted; none effective,
	// none inheritable (a program the check executes gets none).
	capHeader.Version = unix.LINUX_CAPABILITY_VERSION_3
	capData[0] = unix.CapUserData{Permitted: uint32(kept)}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(capHeader)), uintptr(unsafe.Pointer(&capData[0])), 0); err != nil {
		return fail("capset", err)
	}
	caller = c
	return nil
}

// capHeader and capData are capset's arguments for every thread: on the
// heap, which does not move, for the whole of AllThreadsSyscall.
var (
	capHeader = new(unix.CapUserHeader)
	capData   = new([2]unix.CapUserData)
)

// allThreads runs a system call on every thread of the process.
func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, e := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	runtime.KeepAlive(capHeader)
	runtime.KeepAlive(capData)
	if e == syscall.ENOTSUP {
		return errors.New("the binary was built with cgo, which cannot change the identity of every thread; build it with CGO_ENABLED=0")
	}
	if e != 0 {
		return e
	}
	return nil
}

// Do runs fn with the capabilities of s effective, on the calling
// goroutine's OS thread only, and lowers them when fn returns or panics.
// Without Drop having taken a caller's identity it simply runs fn. fn
// must touch only what the capabilities are for: paths below the real
// /proc of the processes a check watches, setns on a namespace the check
// opened; never a path the caller named.
func Do(s Set, fn func() error) error {
	if caller == nil {
		return fn()
	}
	runtime.LockOSThread()
	prev, err := effective()
	if err == nil {
		err = setEffective(prev | s)
	}
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot raise the capabilities the sudo rule is for: %v", err)
	}
	// Lowered in a deferred call: a panic in fn is recovered by the
	// plugin runtime on this same goroutine, which then runs the deferred
	// calls of every frame above and prints the result; none of that may
	// run with the capabilities raised.
	defer func() {
		if lerr := setEffective(prev); lerr != nil {
			// The thread still holds the capabilities: never hand it back
			// to the scheduler. The panic ends the check (one UNKNOWN
			// line) on this thread.
			panic(fmt.Sprintf("cannot lower the capabilities raised for the sudo rule: %v", lerr))
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// effective returns the calling thread's effective capabilities (of the
// first 32).
func effective() (Set, error) {
	h := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&h, &d[0]); err != nil {
		return 0, err
	}
	return Set(d[0].Effective), nil
}

// setEffective sets the calling thread's effective capabilities, the
// permitted set being what Drop kept.
func setEffective(s Set) error {
	h := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	d := [2]unix.CapUserData{{Effective: uint32(s), Permitted: uint32(kept)}}
	return unix.Capset(&h, &d[0])
}
