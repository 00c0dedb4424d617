package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
)

// conntrackEntries is the table size DESIGN names for check_conntrack's
// target: no more than `conntrack -C` / `conntrack -S` with 200,000
// tracked entries.
const conntrackEntries = 200000

// startConntrack fills the harness namespace's connection-tracking table
// with conntrackEntries UDP flows and returns how many it holds. An
// iptables conntrack match turns tracking on in the namespace; a raw-table
// NOTRACK rule keeps the TCP load of the other targets out of it, so that
// the N connections neither fill the table nor pay for tracking. Each UDP
// datagram to a distinct loopback address and closed port is one
// unreplied flow; the namespace's UDP timeout (per namespace) is raised
// so none expires while the harness runs. The test lock of internal/
// testenv is held shared, so no test lowers the global nf_conntrack_max
// meanwhile.
func startConntrack(ns *nsThread) (int, func(), error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return 0, nil, fmt.Errorf("iptables is not installed (Debian iptables; scripts/install-test-deps.sh installs it)")
	}
	lock, err := os.OpenFile(testenv.ConntrackLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for unix.Flock(int(lock.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			lock.Close()
			return 0, nil, fmt.Errorf("a test has held %s for a minute (it lowers nf_conntrack_max)", testenv.ConntrackLock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var count int
	ns.Do(func() { count, err = fillConntrack() })
	if err != nil {
		lock.Close()
		return 0, nil, err
	}
	return count, func() { lock.Close() }, nil
}

// fillConntrack runs on the namespace's thread.
func fillConntrack() (int, error) {
	for _, rule := range [][]string{
		{"-t", "raw", "-A", "OUTPUT", "-p", "tcp", "-j", "NOTRACK"},
		{"-t", "raw", "-A", "PREROUTING", "-p", "tcp", "-j", "NOTRACK"},
		{"-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW,ESTABLISHED,RELATED", "-j", "ACCEPT"},
	} {
		if out, err := exec.Command("iptables", rule...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("iptables %s: %v: %s", strings.Join(rule, " "), err, out)
		}
	}
	if err := os.WriteFile("/proc/sys/net/netfilter/nf_conntrack_udp_timeout", []byte("3600"), 0o644); err != nil {
		return 0, fmt.Errorf("raising the namespace's UDP conntrack timeout: %v", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	const portsPerAddr = 50000
	for i := range conntrackEntries {
		to := &unix.SockaddrInet4{Port: 1 + i%portsPerAddr, Addr: [4]byte{127, 0, 1, byte(1 + i/portsPerAddr)}}
		if err := unix.Sendto(fd, []byte{0}, 0, to); err != nil {
			return 0, fmt.Errorf("UDP datagram %d to %v: %v", i, to.Addr, err)
		}
	}
	b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_count")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	if n < conntrackEntries {
		return n, fmt.Errorf("only %d of %d flows are tracked (nf_conntrack_max too low?)", n, conntrackEntries)
	}
	return n, nil
}
