package main

import (
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_conntrack's outputs in every state (a
// baseline without rates, tracked connections with rates, a flow timeout
// below the keepalive gap, a fill above -c) to the real Icinga 2,
// Graphite writer and Nagios 4 (testenv.AssertConsumers).
func TestConsumers(t *testing.T) {
	testenv.Require(t, "icinga2", "nagios4")
	ns := testenv.NewConntrackNetns(t, "ctcons")
	bin := testenv.BuildCheck(t, "check_conntrack")
	dir := t.TempDir()
	var samples testenv.Samples
	samples.Add(t, "ok_baseline", 0, inNetns(t, ns, bin, dir))
	ns.TrackTCP(40)
	samples.Add(t, "ok_rates", 0, inNetns(t, ns, bin, dir))
	samples.Add(t, "critical_fill", 2, inNetns(t, ns, bin, t.TempDir(), "-w", "~:0", "-c", "~:0"))
	samples.Add(t, "unknown", 3, inNetns(t, ns, bin, dir, "--drop-warning", "x"))
	ns.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "600")
	samples.Add(t, "warning_timeout", 1, inNetns(t, ns, bin, dir))
	testenv.AssertConsumers(t, samples...)
}
