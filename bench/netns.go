package main

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// nsThread is one OS thread that has left the host's network namespace
// for a fresh one. Everything that must live in that namespace runs on it:
// the sockets of the load are created there, and every measured process is
// forked from it, so it inherits the namespace. The load therefore never
// touches the host's own socket tables (other work on the machine neither
// disturbs the measurement nor is disturbed by it), and it all disappears
// with the namespace when the harness ends.
type nsThread struct {
	work chan func()
	gone chan struct{}
}

func newNSThread() (*nsThread, error) {
	t := &nsThread{work: make(chan func()), gone: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		defer close(t.gone)
		// Never unlocked: the thread is in another namespace and must die
		// with this goroutine rather than go back to the scheduler.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("cannot create a network namespace (unshare CLONE_NEWNET): %v; the harness needs root", err)
			return
		}
		if err := loopbackUp(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for f := range t.work {
			f()
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return t, nil
}

// Do runs f on the namespace's thread and waits for it.
func (t *nsThread) Do(f func()) {
	done := make(chan struct{})
	t.work <- func() { defer close(done); f() }
	<-done
}

// Close ends the thread; the namespace goes when its last socket does.
func (t *nsThread) Close() {
	close(t.work)
	<-t.gone
}

// loopbackUp brings lo up in the calling thread's namespace; the kernel
// then gives it 127.0.0.1/8, so every 127.x address is local.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for ioctl: %v", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading lo flags: %v", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %v", err)
	}
	return nil
}
