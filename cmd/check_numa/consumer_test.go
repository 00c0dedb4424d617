package main

import (
	"strconv"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_numa's outputs in every state (fixture
// topologies of 2 and 4 nodes with real processes, the real one-node
// machine, rates on a second run) to the real Icinga 2, Graphite writer
// and Nagios 4 (testenv.AssertConsumers).
func TestConsumers(t *testing.T) {
	testenv.Require(t, "numactl", "icinga2", "nagios4")
	bin := testenv.BuildCheck(t, "check_numa")
	interleaved := startSleep(t, testenv.Binary(t, "numactl"), "--interleave=all", "sleep", "60")
	plain := startSleep(t, "sleep", "60")
	state := t.TempDir()
	host2 := []string{"--state-dir", state, "--sysfs-root", fixture(t, "host2"), "--procfs-root", "/"}
	var samples testenv.Samples
	for _, tc := range []struct {
		name string
		code int
		args []string
	}{
		{"ok_this_machine", 0, []string{"--state-dir", t.TempDir()}},
		{"ok_baseline", 0, append(host2, "--pid", strconv.Itoa(interleaved), "--distribution")},
		{"ok_rates", 0, append(host2, "--pid", strconv.Itoa(interleaved))},
		{"ok_four_nodes", 0, []string{"--state-dir", t.TempDir(), "--sysfs-root", fixture(t, "host4")}},
		{"warning", 1, append(host2, "--pid", strconv.Itoa(plain))},
		{"critical", 2, append(host2, "--pid", strconv.Itoa(plain), "--distribution")},
		{"unknown", 3, append(host2, "--miss-warning", "abc")},
	} {
		r := testenv.RunCheck(t, bin, nil, tc.args...)
		testenv.AssertContract(t, "NUMA", r)
		samples.Add(t, tc.name, tc.code, r)
	}
	testenv.AssertConsumers(t, samples...)
}
