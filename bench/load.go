package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"golang.org/x/sys/unix"
)

// Source addresses the load's client sockets are spread over: each
// (source, destination) pair has its own ~28,000 ephemeral ports.
const loadSources = 8

// queueBacklog is the backlog of the listener whose accept queue is kept
// full; the kernel lets the queue reach backlog+1.
const queueBacklog = 8

// load is the sockets of the benchmark inside the harness's namespace: N
// established loopback connections to one listener of the harness that
// accepts them all, a listener with a full accept queue, and a probe
// server for the live probes (check_tcp, check_tcp_window -H).
//
// One process may not hold 2N descriptors here (the hard RLIMIT_NOFILE is
// 20000 and raising it needs CAP_SYS_RESOURCE, which this machine's root
// lacks), so the descriptors live in worker processes (this program
// re-executed, see worker.go), each holding at most its limit: a worker
// opens the client ends, and the harness hands every connection it accepts
// to a worker over a unix socket (SCM_RIGHTS) and closes its own copy.
type load struct {
	ns *nsThread

	lfd      int // the listener the N connections go to
	LoadPort int

	mu       sync.Mutex
	workers  []*worker
	dialed   int
	accepted int
	accErr   error
	acceptWG sync.WaitGroup
	perProc  int // connections per worker

	qfd       int // the listener with the full accept queue
	QueuePort int
	qclients  []int

	probe     net.Listener
	ProbePort int
	probeWG   sync.WaitGroup
}

func listenTCP(backlog int) (int, int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, sa.(*unix.SockaddrInet4).Port, nil
}

// newLoad starts the three listeners inside the namespace.
func newLoad(ns *nsThread) (*load, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil, err
	}
	// Two descriptors per connection, and room for the worker's own.
	per := (int(min(rl.Max, 1<<20)) - 256) / 2
	per = min(per, 50000)
	if per < 100 {
		return nil, fmt.Errorf("RLIMIT_NOFILE hard limit %d is too low to hold connections", rl.Max)
	}
	l := &load{ns: ns, lfd: -1, qfd: -1, perProc: per}
	var err error
	ns.Do(func() {
		if l.lfd, l.LoadPort, err = listenTCP(4096); err != nil {
			err = fmt.Errorf("load listener: %v", err)
			return
		}
		if l.qfd, l.QueuePort, err = listenTCP(queueBacklog); err != nil {
			err = fmt.Errorf("full-queue listener: %v", err)
			return
		}
		if l.probe, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			err = fmt.Errorf("probe listener: %v", err)
			return
		}
		l.ProbePort = l.probe.Addr().(*net.TCPAddr).Port
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	l.acceptWG.Add(1)
	go l.acceptLoop()
	l.probeWG.Add(1)
	go l.serveProbes()
	return l, nil
}

// acceptLoop accepts every load connection and hands it to the first
// worker with room for it.
func (l *load) acceptLoop() {
	defer l.acceptWG.Done()
	for {
		fd, _, err := unix.Accept4(l.lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			return // the listener was shut down
		}
		l.mu.Lock()
		w := l.roomy(func(w *worker) int { return w.held })
		if w == nil {
			if l.accErr == nil {
				l.accErr = fmt.Errorf("an accepted connection found no worker with room")
			}
			l.mu.Unlock()
			closeRST(fd)
			continue
		}
		if err := w.give(fd); err != nil && l.accErr == nil {
			l.accErr = err
		}
		w.held++
		l.accepted++
		l.mu.Unlock()
		unix.Close(fd)
	}
}

// roomy is the first worker whose count (of connections accepted or
// dialed) is below perProc, or nil. The caller holds mu.
func (l *load) roomy(count func(*worker) int) *worker {
	for _, w := range l.workers {
		if count(w) < l.perProc {
			return w
		}
	}
	return nil
}

// serveProbes answers each probe with a banner, as an SMTP or FTP server
// would, and closes when the prober does (or after 2 s).
func (l *load) serveProbes() {
	defer l.probeWG.Done()
	for {
		c, err := l.probe.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.WriteString(c, "220 bench probe ready\r\n")
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}

func (l *load) acceptedCount() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted, l.accErr
}

// dialChunk is how many connections a worker opens per request: well
// inside the listener's backlog, so no SYN is dropped (a dropped SYN would
// cost a 1 s retransmit).
const dialChunk = 2000

// Grow opens connections until n are established and accepted, starting
// workers as needed. Bounded by the deadline.
func (l *load) Grow(n int, deadline time.Time) error {
	for l.dialed < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("opening connections: only %d of %d before the deadline", l.dialed, n)
		}
		l.mu.Lock()
		w := l.roomy(func(w *worker) int { return w.dialed })
		l.mu.Unlock()
		if w == nil {
			var err error
			if w, err = startWorker(l.ns); err != nil {
				return err
			}
			l.mu.Lock()
			l.workers = append(l.workers, w)
			l.mu.Unlock()
		}
		k := min(dialChunk, l.perProc-w.dialed, n-l.dialed)
		if err := w.dial(k, l.LoadPort, l.dialed, deadline); err != nil {
			return fmt.Errorf("opening connections %d-%d: %v", l.dialed+1, l.dialed+k, err)
		}
		w.dialed += k
		l.dialed += k
		for {
			acc, err := l.acceptedCount()
			if err != nil {
				return err
			}
			if acc >= l.dialed {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the listener accepted only %d of %d connections before the deadline", acc, l.dialed)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// Workers is how many worker processes hold the load.
func (l *load) Workers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.workers)
}

// FillQueue fills the accept queue of the queue listener: backlog+1
// connections complete the handshake and wait, never accepted, and two more
// are refused by the full queue (their SYNs count in ListenOverflows and
// ListenDrops, and are retried by the kernel until teardown).
func (l *load) FillQueue() error {
	var err error
	l.ns.Do(func() {
		for i := 0; i < queueBacklog+3; i++ {
			fd, e := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
			if e != nil {
				err = e
				return
			}
			l.qclients = append(l.qclients, fd)
			e = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: l.QueuePort})
			if e != nil && !errors.Is(e, unix.EINPROGRESS) {
				err = e
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	time.Sleep(50 * time.Millisecond)
	return err
}

// Census is what the kernel reports for the namespace, to prove the load
// is what the results say it is.
type Census struct {
	Established int
	QueueLen    uint32
	QueueMax    uint32
}

func (l *load) Census() (Census, error) {
	var c Census
	var err error
	l.ns.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q := linux.Query{States: linux.StateMask(linux.TCPEstablished, linux.TCPListen)}
		err = linux.DumpTCP(ctx, q, func(s *linux.Socket) error {
			switch s.State {
			case linux.TCPEstablished:
				c.Established++
			case linux.TCPListen:
				if int(s.Src.Port()) == l.QueuePort {
					c.QueueLen, c.QueueMax = s.RQueue, s.WQueue
				}
			}
			return nil
		})
	})
	return c, err
}

// closeRST closes a socket with SO_LINGER 0: a RST instead of FIN, so
// teardown leaves no TIME_WAIT sockets behind.
func closeRST(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	_ = unix.Close(fd)
}

// Close tears the whole load down: the workers close their connections
// with RST and exit.
func (l *load) Close() {
	if l.lfd >= 0 {
		_ = unix.Shutdown(l.lfd, unix.SHUT_RDWR) // wakes the accept loop
		l.acceptWG.Wait()
		unix.Close(l.lfd)
		l.lfd = -1
	}
	if l.probe != nil {
		l.probe.Close()
		l.probeWG.Wait()
		l.probe = nil
	}
	for _, fd := range l.qclients {
		closeRST(fd)
	}
	l.qclients = nil
	if l.qfd >= 0 {
		unix.Close(l.qfd)
		l.qfd = -1
	}
	l.mu.Lock()
	ws := l.workers
	l.workers = nil
	l.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
}
