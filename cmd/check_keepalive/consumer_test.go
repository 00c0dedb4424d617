package main

import (
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_keepalive's outputs in every state to the
// real Icinga 2, Graphite writer and Nagios 4 (testenv.AssertConsumers).
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
	testenv.AssertConsumers(t, samples...)
}
