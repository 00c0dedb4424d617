package docs

import (
	"bufio"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The examples of the checks that look at the local kernel: each runs in
// a network namespace of its own, with the real component (nginx, held
// connections, a window-scale-stripping middlebox) set up as the example
// says.

var netnsID = `net:\[[0-9]+\]`

// nginxRun is what changes between runs of check_nginx_queue: rates,
// counters, PIDs, the host's CPUs, the worker's descriptors.
var nginxRun = []string{`[0-9.]+ requests/s, [0-9.]+ connections accepted/s`, `[0-9.]+/s`, `_rate=[0-9.]+`, `_total=[0-9]+c`, `PID [0-9]+`,
	`[0-9]+ CPUs`, `[0-9]+ open files of [0-9]+ allowed \([0-9.]+%\)`, `worker_open_files(_pct)?=[0-9.]+%?;[0-9;]*`}

// dialIn connects from inside ns (a thread that entered it) with a
// timeout; the connection lives in ns.
func dialIn(t *testing.T, ns *testenv.Netns, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// listenIn listens inside ns and accepts (and holds) connections, with
// serve run on each.
func listenIn(t *testing.T, ns *testenv.Netns, addr string, serve func(net.Conn)) net.Listener {
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			if serve != nil {
				go serve(c)
			}
		}
	}()
	return ln
}

// pong answers every line with "pong".
func pong(c net.Conn) {
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if _, err := c.Write([]byte("pong\n")); err != nil {
			return
		}
	}
}

// middlebox is two namespaces joined by a veth pair, the server's
// 10.201.2.1 answering "pong" on port 7000, and a router that strips the
// window-scale option from the server's SYN-ACK (iptables TCPOPTSTRIP),
// as the README's broken path.
type middlebox struct{ srv, cli *testenv.Netns }

func brokenPath(l *lab) middlebox {
	return once(l, "middlebox", func(t *testing.T) middlebox {
		testenv.Require(t, "netns", "iptables")
		m := middlebox{testenv.NewNetns(t, "docsrv"), testenv.NewNetns(t, "doccli")}
		testenv.Veth(t, m.srv, "10.201.2.1/24", m.cli, "10.201.2.2/24")
		// The server's buffers as a tuned host's: it scales its window
		// by 10, so 64 KiB go out as 64.
		m.srv.Sysctl("net.ipv4.tcp_rmem", "4096 131072 33554432")
		listenIn(t, m.srv, "10.201.2.1:7000", pong)
		// One exchange first, so the examples do not time the
		// neighbour discovery of a fresh link.
		if c, err := dialIn(t, m.cli, "10.201.2.1:7000", 5*time.Second); err != nil {
			t.Fatal(err)
		} else {
			c.Close()
		}
		if out, err := m.srv.Command("iptables", "-t", "mangle", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK",
			"-j", "TCPOPTSTRIP", "--strip-options", "wscale").CombinedOutput(); err != nil {
			testenv.Missing(t, "iptables TCPOPTSTRIP in a network namespace: %v: %s", err, out)
		}
		return m
	})
}

func init() {
	register(map[string]example{
		// check_nginx_queue: a real nginx in a namespace of its own,
		// listening on 127.0.0.1:8080.
		"check_nginx_queue --pidfile /run/nginx.pid --status-url http://127.0.0.1:8080/nginx_status": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewNetns(t, "docngx")
				n := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 511})
				r.netns = ns
				r.replace("/run/nginx.pid", n.PidFile)
				r.name(n.PidFile, "/run/nginx.pid")
				r.stateDir(t)
				r.before = func() {} // the rates' baseline
			},
			volatile: nginxRun,
		},
		"check_nginx_queue --pidfile /run/nginx.pid # workers stuck, 9 connections waiting": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewNetns(t, "docngx")
				n := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 8})
				n.Signal(t, syscall.SIGSTOP)
				t.Cleanup(func() { n.Signal(t, syscall.SIGCONT) })
				// The kernel queues backlog+1 connections nginx does not
				// accept; the SYNs of the next ones overflow.
				for range 9 {
					if _, err := dialIn(t, ns, n.Addr, 2*time.Second); err != nil {
						t.Fatal(err)
					}
				}
				r.netns = ns
				r.replace("/run/nginx.pid", n.PidFile)
				r.name(n.PidFile, "/run/nginx.pid")
				r.stateDir(t)
				r.before = func() {
					var wg sync.WaitGroup
					for range 4 {
						wg.Add(1)
						go func() { defer wg.Done(); _, _ = dialIn(t, ns, n.Addr, 1500*time.Millisecond) }()
					}
					wg.Wait()
				}
			},
			volatile: nginxRun,
		},
		"check_nginx_queue --pidfile /run/nginx.pid --syn-recv-warning 4 # a SYN flood, syncookies on": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				testenv.Require(t, "iptables")
				ns := testenv.NewNetns(t, "docngx")
				ns.Sysctl("net.ipv4.tcp_syncookies", "1")
				n := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 8})
				r.netns = ns
				r.replace("/run/nginx.pid", n.PidFile)
				r.name(n.PidFile, "/run/nginx.pid")
				r.stateDir(t)
				// After the baseline: the worker stopped, the namespace
				// drops its own SYN-ACKs (no handshake completes), and 20
				// connects arrive.
				r.before = func() {
					n.Signal(t, syscall.SIGSTOP)
					t.Cleanup(func() { n.Signal(t, syscall.SIGCONT) })
					ns.MustRun("iptables", "-A", "INPUT", "-p", "tcp", "--sport", itoa(n.Port), "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP")
					err := ns.Do(func() error {
						for range 20 {
							fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
							if err != nil {
								return err
							}
							t.Cleanup(func() { unix.Close(fd) })
							if err := unix.Connect(fd, &unix.SockaddrInet4{Port: n.Port, Addr: [4]byte{127, 0, 0, 1}}); err != unix.EINPROGRESS {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					time.Sleep(100 * time.Millisecond) // the SYNs are handled in softirq
				}
			},
			// The queue holds 8 or 9 (the kernel's off-by-one), the rest
			// get cookies at a rate of the run's length.
			volatile: append([]string{`SYN_RECV [0-9]+`, `synrecv_[0-9a-z-]+_8080=[0-9]+`, `[0-9]+ half-open`}, nginxRun...),
		},
		"check_nginx_queue --port 8080 --expect-backlog 4096": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewNetns(t, "docngx")
				ns.Sysctl("net.core.somaxconn", "128")
				testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 511})
				r.netns = ns
				r.stateDir(t)
				r.before = func() {}
			},
			volatile: nginxRun,
		},
		"check_nginx_queue --listen 127.0.0.1:8080": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				r.netns = testenv.NewNetns(t, "docngx")
				r.stateDir(t)
			},
		},

		// check_keepalive
		"check_keepalive": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				r.netns = testenv.NewNetns(t, "docka") // the kernel's defaults
			},
			volatile: []string{netnsID},
		},
		"check_keepalive --idle-timeout aws-nat --process postgres": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewNetns(t, "docka")
				ns.Sysctl("net.ipv4.tcp_keepalive_time", "45")
				ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "45")
				ln := listenIn(t, ns, "127.0.0.1:5432", nil)
				// A postmaster's backends in a container: 4 connections, 2
				// of them without keepalive. The check runs on the host
				// and enters their namespace.
				for _, ka := range []string{"0,30", "0", "30"} {
					helper(t, ns, "postgres", "DOCS_CONNECT="+ln.Addr().String(), "DOCS_KEEPALIVE="+ka)
				}
			},
			volatile: []string{netnsID, `PIDs? [0-9, ]+`, `:[0-9]+ ->`, `inode [0-9]+`, `idle [0-9.]+s`},
		},

		"check_keepalive --pid 1 # as the nagios user; PID 1 is root's": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				uid, gid := testenv.UnprivilegedUser(t)
				r.user = &[2]uint32{uid, gid}
			},
		},

		// check_tcp_window
		"check_tcp_window --local --max-wscale 7": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewNetns(t, "doctw")
				ns.Sysctl("net.ipv4.tcp_rmem", "4096 131072 33554432")
				r.netns = ns
			},
			// net.core.rmem_max is the host's (one value for every
			// namespace).
			volatile: []string{`rmem_max [0-9]+`, `rmem_max = [0-9]+`, `rmem_max=[0-9]+`},
		},
		"check_tcp_window -H 10.201.2.1 -p 7000 --send $'ping\\n' --expect pong": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				r.netns = brokenPath(l).cli
			},
			volatile: []string{`[0-9.]+ [kMG]?bit/s at [0-9.]+ m?s RTT`, `rtt'?=[0-9.]+s`, `ceiling_bps'?=[0-9]+`, `rtt [0-9.]+ m?s \(var [0-9.]+ m?s\)`, `connected in [0-9.]+ m?s`, `rmem_max [0-9]+`},
		},
		"check_tcp_window --established --remote 10.0.0.0/8": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				m := brokenPath(l)
				// Three connections through the broken path, each with
				// an exchange that carries the server's scaled window.
				for range 3 {
					c, err := dialIn(t, m.cli, "10.201.2.1:7000", 2*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.Write([]byte("ping\n")); err != nil {
						t.Fatal(err)
					}
					if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
						t.Fatal(err)
					}
				}
				r.netns = m.cli
			},
			volatile: []string{`10\.201\.2\.2:[0-9]+`, `rmem_max [0-9]+`},
		},

		// check_numa
		"check_numa": {
			start: func(t *testing.T, l *lab, r *exampleRun) {},
			// The host's memory.
			volatile: []string{`node[0-9]+_(free|total)'?=[0-9]+B;;;0(;[0-9]+)?`},
		},
		"check_numa --process mongod": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				// A mongod started without numactl, on a two-node machine
				// (the /sys tree of one, internal/numa/testdata/host2).
				helper(t, nil, "mongod")
				r.args = append(r.args, "--sysfs", filepath.Join(testenv.ModuleRoot(t), "internal", "numa", "testdata", "host2", "sys"))
				r.stateDir(t)
			},
			volatile: []string{`PIDs? [0-9, ]+`},
		},
		"check_numa --pid 1 # as the nagios user; PID 1 is root's": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				// numa_maps is read on a NUMA machine only: the /sys
				// tree of a two-node one.
				uid, gid := testenv.UnprivilegedUser(t)
				r.user = &[2]uint32{uid, gid}
				r.args = append(r.args, "--sysfs", filepath.Join(testenv.ModuleRoot(t), "internal", "numa", "testdata", "host2", "sys"),
					"--state-dir", testenv.OwnedDir(t, uid, gid))
			},
		},
	})
}

// synInto sends one SYN to a closed loopback port of the namespace the
// calling thread is in, without waiting: a new flow for conntrack.
func synInto() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}); err != nil && err != unix.EINPROGRESS {
		return err
	}
	return nil
}

func init() {
	register(map[string]example{
		// check_conntrack: a namespace's table filled for real: 20
		// tracked connections, the global nf_conntrack_max lowered to
		// 20 for the run (restored right after), five new flows dropped.
		"check_conntrack": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				ns := testenv.NewConntrackNetns(t, "docct")
				ns.TrackTCP(20)
				r.netns = ns
				r.stateDir(t)
				r.before = func() {
					t.Cleanup(ns.LowerConntrackMax(20))
					err := ns.Do(func() error {
						// On one CPU, so one per-CPU line counts them.
						var set unix.CPUSet
						set.Set(0)
						if err := unix.SchedSetaffinity(0, &set); err != nil {
							return err
						}
						for range 5 {
							if err := synInto(); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			},
			volatile: []string{netnsID, `[0-9.]+/s`, `_rate'?=[0-9.]+`, `buckets'?=[0-9]+`, `over [0-9]+ CPUs`},
		},
		"check_conntrack --netns blue # as the nagios user": {
			start: func(t *testing.T, l *lab, r *exampleRun) {
				uid, gid := testenv.UnprivilegedUser(t)
				r.user = &[2]uint32{uid, gid}
				r.replace("blue", testenv.NewNetns(t, "docblue").Name)
				r.args = append(r.args, "--state-dir", testenv.OwnedDir(t, uid, gid))
			},
		},
	})
}
