package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// workerEnv marks this program, re-executed, as a load worker: it holds
// connections for the harness (see load) and talks to it over a
// SOCK_SEQPACKET unix socket on descriptor 3.
//
//	harness -> worker  "D count port first"  open count connections
//	worker -> harness  "OK" or "ERR why"     when they are established
//	harness -> worker  "F" + one descriptor  keep this accepted connection
//	harness closes its end                   close everything (RST), exit
const workerEnv = "OPSCHECKS_BENCH_WORKER"

// worker is the harness's side of one worker process.
type worker struct {
	cmd    *exec.Cmd
	ctl    int // the harness's end of the control socket
	dialed int // connections it opened
	held   int // accepted connections handed to it
	exited chan struct{}
	sendMu sync.Mutex
}

// startWorker starts a worker from the namespace's thread, so the worker
// and every socket it opens live in the namespace.
func startWorker(ns *nsThread) (*worker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	theirs := os.NewFile(uintptr(fds[1]), "worker-ctl")
	defer theirs.Close()
	w := &worker{ctl: fds[0], exited: make(chan struct{})}
	w.cmd = exec.Command(self)
	w.cmd.Env = append(os.Environ(), workerEnv+"=1")
	w.cmd.ExtraFiles = []*os.File{theirs}
	w.cmd.Stderr = os.Stderr
	ns.Do(func() { err = w.cmd.Start() })
	if err != nil {
		unix.Close(w.ctl)
		return nil, fmt.Errorf("starting a load worker: %v", err)
	}
	go func() { _ = w.cmd.Wait(); close(w.exited) }()
	return w, nil
}

// dial asks the worker for count connections, numbered from first (the
// number picks the source address), and waits for its answer.
func (w *worker) dial(count, port, first int, deadline time.Time) error {
	w.sendMu.Lock()
	_, err := unix.Write(w.ctl, []byte(fmt.Sprintf("D %d %d %d", count, port, first)))
	w.sendMu.Unlock()
	if err != nil {
		return fmt.Errorf("worker: %v", err)
	}
	tv := unix.NsecToTimeval(max(time.Until(deadline).Nanoseconds(), int64(time.Millisecond)))
	_ = unix.SetsockoptTimeval(w.ctl, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 512)
	for {
		n, err := unix.Read(w.ctl, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("worker did not answer: %v", err)
		}
		if n == 0 {
			return fmt.Errorf("worker exited")
		}
		msg := string(buf[:n])
		if msg == "OK" {
			return nil
		}
		return fmt.Errorf("worker: %s", strings.TrimPrefix(msg, "ERR "))
	}
}

// give hands an accepted connection to the worker; the caller closes its
// own copy.
func (w *worker) give(fd int) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	for {
		err := unix.Sendmsg(w.ctl, []byte("F"), unix.UnixRights(fd), nil, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err
	}
}

// stop closes the control socket; the worker closes its connections and
// exits. Killed after 30 s.
func (w *worker) stop() {
	unix.Close(w.ctl)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.exited
	}
}

// workerMain is the worker process.
func workerMain() {
	const ctl = 3
	var mu sync.Mutex
	var fds []int
	buf := make([]byte, 512)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, _, _, err := unix.Recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		msg := string(buf[:n])
		switch {
		case msg == "F":
			cms, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for _, cm := range cms {
				got, _ := unix.ParseUnixRights(&cm)
				mu.Lock()
				fds = append(fds, got...)
				mu.Unlock()
			}
		case strings.HasPrefix(msg, "D "):
			f := strings.Fields(msg)
			count, _ := strconv.Atoi(f[1])
			port, _ := strconv.Atoi(f[2])
			first, _ := strconv.Atoi(f[3])
			// Dial on its own goroutine: the harness sends the accepted
			// ends meanwhile, and they must be read for its accept loop
			// to go on.
			go func() {
				reply := "OK"
				for i := first; i < first+count; i++ {
					fd, err := dialFrom(i, port, i%2 == 0)
					if err != nil {
						reply = fmt.Sprintf("ERR connection %d: %v", i+1, err)
						break
					}
					mu.Lock()
					fds = append(fds, fd)
					mu.Unlock()
				}
				_, _ = unix.Write(ctl, []byte(reply))
			}()
		}
	}
	mu.Lock()
	for _, fd := range fds {
		closeRST(fd)
	}
	mu.Unlock()
}

// dialFrom connects from 127.0.0.(2+i%loadSources) to the listener. The
// source port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT), so each
// source address has the whole ephemeral range for this destination.
func dialFrom(i, port int, keepalive bool) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if keepalive {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	}
	src := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, byte(2 + i%loadSources)}}
	if err := unix.Bind(fd, src); err != nil {
		unix.Close(fd)
		return -1, err
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
