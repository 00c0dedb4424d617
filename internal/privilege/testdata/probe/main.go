// Command probe is built by the privilege tests (static, as the checks
// are) and run as root with sudo's environment. It calls Drop, then
// reports as JSON what the process may do outside and inside Do: the
// test judges the report.
//
// Arguments: the PID of a process of root's, a root-only file, a network
// namespace file.
package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/privilege"
)

// Report is what the probe found; errors as strings ("" for none).
type Report struct {
	Drop           string
	UID, GID       int
	Groups         []int
	Caller         *privilege.Caller
	Threads        map[string]string // TID -> "CapEff CapPrm" of every thread, after Drop
	Secret         string            // reading the root-only file
	SecretInProc   string            // the same inside Do(Proc): the function alone has the capability
	FD             string            // reading /proc/PID/fd of root's process
	FDInProc       string            // the same inside Do(Proc)
	RaisedThreads  map[string]string // every thread's CapEff while one goroutine is inside Do(Proc)
	RaisedTID      string            // that goroutine's thread
	AfterDo        map[string]string // every thread's CapEff after Do returned
	Setns          string            // setns into the namespace
	SetnsInSetns   string            // the same inside Do(Setns)
	Child          string            // /proc/self/status of a program the probe executes: Uid, CapPrm, CapEff
	NestedRestored bool              // Do inside Do: the outer set is back after the inner one
	AfterPanic     string            // CapEff of the thread whose Do function panicked, after the panic was recovered
}

func main() {
	pid, secret, netns := os.Args[1], os.Args[2], os.Args[3]
	var r Report
	r.Drop = errString(privilege.Drop())
	r.UID, r.GID = os.Getuid(), os.Getgid()
	r.Groups, _ = os.Getgroups()
	r.Caller = privilege.Sudo()
	r.Threads = threads("CapEff", "CapPrm")

	_, err := os.ReadFile(secret)
	r.Secret = errString(err)
	r.SecretInProc = errString(privilege.Do(privilege.Proc, func() error {
		_, err := os.ReadFile(secret)
		return err
	}))
	fd := filepath.Join("/proc", pid, "fd")
	_, err = os.ReadDir(fd)
	r.FD = errString(err)
	r.FDInProc = errString(privilege.Do(privilege.Proc, func() error {
		_, err := os.ReadDir(fd)
		return err
	}))

	inside, release, returned := make(chan string), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(returned)
		_ = privilege.Do(privilege.Proc, func() error {
			inside <- strconv.Itoa(unix.Gettid())
			<-release
			return nil
		})
	}()
	r.RaisedTID = <-inside
	r.RaisedThreads = threads("CapEff")
	close(release)
	<-returned
	r.AfterDo = threads("CapEff")

	ns, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		r.Setns = "open: " + err.Error()
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// The thread leaves the namespace never: the goroutine ends
			// locked, which ends the thread.
			runtime.LockOSThread()
			r.Setns = errString(unix.Setns(ns, unix.CLONE_NEWNET))
			r.SetnsInSetns = errString(privilege.Do(privilege.Setns, func() error { return unix.Setns(ns, unix.CLONE_NEWNET) }))
		}()
		<-done
	}

	_ = privilege.Do(privilege.Proc, func() error {
		before := threadCap(unix.Gettid())
		_ = privilege.Do(privilege.Setns, func() error { return nil })
		r.NestedRestored = before != "" && threadCap(unix.Gettid()) == before
		return nil
	})

	// A function that panics: the runtime's recover (plugin.run) goes on
	// on the same goroutine, so the thread must be lowered all the same.
	func() {
		defer func() {
			_ = recover()
			r.AfterPanic = threadCap(unix.Gettid())
		}()
		_ = privilege.Do(privilege.Proc, func() error { panic("probe") })
	}()

	out, err := exec.Command("/bin/cat", "/proc/self/status").Output()
	if err != nil {
		r.Child = err.Error()
	} else {
		r.Child = fields(string(out), "Uid", "CapPrm", "CapEff")
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// threads returns the named fields of every thread's status.
func threads(names ...string) map[string]string {
	out := map[string]string{}
	ents, _ := os.ReadDir("/proc/self/task")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "status"))
		if err == nil {
			out[e.Name()] = fields(string(b), names...)
		}
	}
	return out
}

func threadCap(tid int) string { return threads("CapEff")[strconv.Itoa(tid)] }

// fields picks the values of named lines of a status file, in order.
func fields(status string, names ...string) string {
	var vals []string
	for _, n := range names {
		for _, line := range strings.Split(status, "\n") {
			if v, ok := strings.CutPrefix(line, n+":"); ok {
				vals = append(vals, strings.Join(strings.Fields(v), " "))
			}
		}
	}
	return strings.Join(vals, " ")
}
