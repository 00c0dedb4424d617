package main_test

import (
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_tcp_window's outputs in every state (local
// audit, IPv4 and IPv6 probes, a middlebox stripping the window scale,
// the passive audit) to the real Icinga 2, Graphite writer and Nagios 4
// (testenv.AssertConsumers).
func TestConsumers(t *testing.T) {
	testenv.Require(t, "icinga2", "nagios4")
	l := newLab(t)
	var samples testenv.Samples
	samples.Add(t, "ok_local", 0, run(t, l.srv, l.bin, "--local"))
	samples.Add(t, "ok_probe_ipv4", 0, run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--expect", "pong"))
	samples.Add(t, "ok_probe_ipv6", 0, run(t, l.cli, l.bin, "-6", "-H", "["+l.srvAddr6+"]", "-p", port, "--send", "ping\n", "--expect", "pong"))
	samples.Add(t, "warning_max_wscale", 1, run(t, l.srv, l.bin, "--local", "--max-wscale", "2"))
	samples.Add(t, "unknown", 3, run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", "70000"))
	l.stripSynAck()
	samples.Add(t, "critical_mangled", 2, run(t, l.cli, l.bin, "-H", l.srvAddr, "-p", port, "--send", "ping\n", "--expect", "pong"))
	l.hold(2)
	samples.Add(t, "critical_established", 2, run(t, l.cli, l.bin, "--established", "-p", port))
	for _, s := range samples {
		testenv.AssertContract(t, "TCP_WINDOW", s.Run)
	}
	testenv.AssertConsumers(t, samples...)
}
