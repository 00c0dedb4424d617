package testenv

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Daemon is a long-running process a test started (icinga2, nagios4,
// nrpe) in a process group of its own, its stdout and stderr in a log
// file.
type Daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// StartDaemon starts cmd; it is stopped at cleanup, also when the test
// fails.
func StartDaemon(t testing.TB, cmd *exec.Cmd, logFile string) *Daemon {
	t.Helper()
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	// Its own group: stop ends the daemon, the workers it forks and the
	// check plugins still running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	d := &Daemon{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(d.done) }()
	t.Cleanup(d.Stop)
	return d
}

// Stop sends TERM to the daemon's own process only (it stops its workers
// in order: TERM to the whole group makes Icinga 2.13's shutdown hang
// until KILL), KILLs the group after 10 s, then whatever is left of it,
// and waits. Safe to call more than once, and on nil.
func (d *Daemon) Stop() {
	if d == nil {
		return
	}
	d.once.Do(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		pg := -d.cmd.Process.Pid
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(pg, syscall.SIGKILL)
			<-d.done
		}
		_ = syscall.Kill(pg, syscall.SIGKILL) // stragglers of the group
	})
}

// Exited reports whether the daemon has ended (false before it started).
func (d *Daemon) Exited() bool {
	if d == nil {
		return false
	}
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}
