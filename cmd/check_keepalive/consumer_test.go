package main

import (
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_keepalive's outputs in every state to the
// real Icinga 2, Graphite writer and Nagios 4 (testenv.AssertConsumers).
// The critical "at or above the idle timeout" of the keepalive sysctls is
// printed as the plain IDLE-1 (whole seconds), which Icinga 2 records as
// the metric's crit; a '@IDLE:' range would reach it as no threshold.
func TestConsumers(t *testing.T) {
	testenv.Require(t, "netns", "icinga2", "nagios4")
	bin := testenv.BuildCheck(t, "check_keepalive")
	ns := testenv.NewNetns(t, "kacons")
	ns.Sysctl("net.ipv4.tcp_keepalive_time", "60")
	ns.Sysctl("net.ipv4.tcp_keepalive_intvl", "10")
	var samples testenv.Samples
	for _, tc := range []struct {
		name string
		code int
		args []string
	}{
		{"ok", 0, []string{"--idle-timeout", "350s"}},
		{"ok_sockets", 0, []string{"--idle-timeout", "350s", "--sockets"}},
		{"warning", 1, []string{"--idle-timeout", "350s", "--max-detect", "60s"}},
		{"critical", 2, []string{"--idle-timeout", "30s"}},
		{"unknown", 3, []string{"--idle-timeout", "soon"}},
	} {
		samples.Add(t, tc.name, tc.code, runIn(t, ns, bin, tc.args...))
	}
	for _, s := range samples[:4] {
		want := "349" // --idle-timeout 350s
		if s.Name == "critical" {
			want = "29"
		}
		for _, p := range testenv.Printed(t, s.Run) {
			if (p.Label == "tcp_keepalive_time" || p.Label == "tcp_keepalive_intvl") && p.Crit != want {
				t.Errorf("%s: %s crit %q, want the plain idle timeout - 1, %s", s.Name, p.Label, p.Crit, want)
			}
		}
	}
	testenv.AssertConsumers(t, samples...)
}
