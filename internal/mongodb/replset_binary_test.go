package mongodb_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// These tests run the built check_mongodb against the replica-set
// simulator: real sockets, the real driver discovering the topology, the
// real output and exit code.

func rsBin(t *testing.T) string {
	t.Helper()
	return testenv.BuildCheck(t, "check_mongodb")
}

// rsRun runs the binary and checks the plugin contract on every run
// (testenv.AssertContract: label, state and exit code, perfdata with
// unique labels, nothing on stderr).
func rsRun(t *testing.T, env []string, args ...string) testenv.Run {
	t.Helper()
	r := testenv.RunCheck(t, rsBin(t), env, args...)
	testenv.AssertContract(t, "MONGODB", r)
	return r
}

func rsWant(t *testing.T, r testenv.Run, code int, substrings ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit code %d, want %d", r.Code, code)
	}
	for _, s := range substrings {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", r.Stdout)
	}
}

func rsLacks(t *testing.T, r testenv.Run, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if strings.Contains(r.Stdout, s) {
			t.Fatalf("output holds %q:\n%s", s, r.Stdout)
		}
	}
}

// rsLag is the perfdata label of a member's lag (plugin.Label scheme).
func rsLag(addr string) string { return plugin.Label("lag", plugin.Endpoint(addr)...) }

// rsPerf returns the perfdata value of label; a member's host:port stands
// for its lag label (lag_127-0-0-1_PORT). A label the run left out of the
// perfdata as not measured gives "unmeasured".
func rsPerf(t *testing.T, r testenv.Run, label string) string {
	t.Helper()
	if strings.Contains(label, ":") {
		label = rsLag(label)
	}
	if regexp.MustCompile(`left out of the perfdata: .*\b` + regexp.QuoteMeta(label) + `\b`).MatchString(r.Stdout) {
		return "unmeasured"
	}
	_, pd, ok := strings.Cut(r.FirstLine(), " | ")
	if !ok {
		t.Fatalf("no perfdata: %q", r.FirstLine())
	}
	m := regexp.MustCompile(`(?:^| )` + regexp.QuoteMeta(label) + `=([^; ]+)`).FindStringSubmatch(pd)
	if m == nil {
		t.Fatalf("no perfdata %q in %q", label, pd)
	}
	return m[1]
}

func rsThree(lag1, lag2 time.Duration) mongosim.Scenario {
	return mongosim.Scenario{Members: []mongosim.Member{
		{State: mongosim.Primary},
		{State: mongosim.Secondary, Lag: lag1},
		{State: mongosim.Secondary, Lag: lag2},
	}}
}

func TestReplicationLagHealthy(t *testing.T) {
	set := mongosim.Start(t, rsThree(2*time.Second, 0))
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
	rsWant(t, r, 0, "MONGODB OK - rs0 via "+set.Addr(0)+" (PRIMARY): max lag 2 s ("+set.Addr(1)+") behind primary "+set.Addr(0))
	for i, v := range []string{"0s", "2s", "0s"} {
		if got := rsPerf(t, r, set.Addr(i)); got != v {
			t.Errorf("perfdata of %s = %s, want %s", set.Addr(i), got, v)
		}
	}
	if !strings.Contains(r.FirstLine(), rsLag(set.Addr(1))+"=2s;60;300;0") {
		t.Errorf("default thresholds 60/300 missing: %s", r.FirstLine())
	}
}

func TestReplicationLagSecondaryBehind(t *testing.T) {
	set := mongosim.Start(t, rsThree(120*time.Second, 0))
	t.Run("replica-set URI, all members", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
		rsWant(t, r, 1, "MONGODB WARNING - "+set.Addr(1)+" lag 120 s - rs0 via "+set.Addr(0)+" (PRIMARY)")
		if rsPerf(t, r, set.Addr(1)) != "120s" {
			t.Fatal(r.FirstLine())
		}
	})
	t.Run("critical threshold", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "-w", "30", "-c", "100")
		rsWant(t, r, 2, "MONGODB CRITICAL - "+set.Addr(1)+" lag 120 s", ";30;100;0")
	})
	t.Run("direct to the lagging secondary: self by default", func(t *testing.T) {
		r := rsRun(t, nil, "-H", "127.0.0.1", "-P", rsPort(set.Addr(1)), "--mode", "replication-lag")
		rsWant(t, r, 1, set.Addr(1)+" (connected) lag 120 s", "rs0 via "+set.Addr(1)+" (SECONDARY)")
		rsLacks(t, r, rsLag(set.Addr(2))+"=", rsLag(set.Addr(0))+"=")
	})
	t.Run("direct to a healthy secondary", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag")
		rsWant(t, r, 0, "MONGODB OK - rs0 via "+set.Addr(2)+" (SECONDARY): max lag 0 s")
		rsLacks(t, r, rsLag(set.Addr(1))+"=")
	})
	t.Run("direct to a healthy secondary, all members", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag", "--member", "all")
		rsWant(t, r, 1, set.Addr(1)+" lag 120 s")
	})
	t.Run("--member with a whole-set mode", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replset-state", "--member", "all")
		rsWant(t, r, 3, "MONGODB UNKNOWN - --member applies only to --mode replication-lag and replication-lag-percent, not replset-state")
	})
	t.Run("bad --member", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "--member", "some")
		rsWant(t, r, 3, "MONGODB UNKNOWN - ", "expected self or all")
		if strings.Count(r.Stdout, "\n") != 1 {
			t.Fatalf("more than one line: %q", r.Stdout)
		}
	})
}

func rsPort(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

func TestReplicationLagPrimaryDown(t *testing.T) {
	sc := rsThree(0, 7*time.Second)
	sc.Members[0].Unreachable = true
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
	rsWant(t, r, 1,
		set.Addr(0)+" is DOWN, unreachable",
		"(no lag measured)",
		"the freshest member "+set.Addr(1)+" (SECONDARY, no primary)",
		"rs0 has no primary",
	)
	if rsPerf(t, r, set.Addr(0)) != "unmeasured" || rsPerf(t, r, set.Addr(2)) != "7s" {
		t.Fatalf("perfdata: %s", r.FirstLine())
	}
}

func TestReplicationLagMemberStates(t *testing.T) {
	for _, tc := range []struct {
		state mongosim.State
		text  string
	}{
		{mongosim.Recovering, "is RECOVERING (no lag measured)"},
		{mongosim.Startup2, "is STARTUP2 (no lag measured)"},
		{mongosim.Rollback, "is ROLLBACK (no lag measured)"},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			sc := rsThree(0, 0)
			sc.Members[2].State = tc.state
			sc.Members[2].Lag = 5 * time.Hour // must not show as lag
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
			rsWant(t, r, 1, "MONGODB WARNING - "+set.Addr(2)+" "+tc.text)
			if rsPerf(t, r, set.Addr(2)) != "unmeasured" {
				t.Fatal(r.FirstLine())
			}
			rsLacks(t, r, "18000")
		})
	}
}

func TestReplicationLagDelayedHidden(t *testing.T) {
	sc := rsThree(time.Second, 0)
	sc.Members = append(sc.Members, mongosim.Member{State: mongosim.Secondary, Hidden: true, Delay: time.Hour, Lag: time.Hour + 30*time.Second})
	for _, v := range []string{"4.4", "6.0", "8.0"} {
		t.Run(v, func(t *testing.T) {
			sc.Version = v
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "-w", "20")
			rsWant(t, r, 1,
				set.Addr(3)+" (hidden, delayed 3600 s) lag 30 s",
				"3630 s behind primary "+set.Addr(0)+", minus the configured delay of 3600 s")
			if rsPerf(t, r, set.Addr(3)) != "30s" {
				t.Fatal(r.FirstLine())
			}
		})
	}
}

func TestReplicationLagStaleHeartbeat(t *testing.T) {
	sc := rsThree(0, 0)
	sc.HeartbeatAge = 45 * time.Second
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.DirectURI(1), "--mode", "replication-lag")
	rsWant(t, r, 1, "MONGODB WARNING - the last heartbeat from primary "+set.Addr(0)+" is 46 s old, so lag against it may be understated")
}

// Item 1 of issue 14: a delayed member (not hidden) that hello leaves out,
// as mongod does, while replSetGetConfig is refused. The check cannot
// know the delay: never a made-up label, never a false CRITICAL on the
// raw lag; UNKNOWN saying what is unknown and which privilege fixes it.
// A member whose raw lag is within the thresholds is OK whatever its
// delay. With the configuration the delay is subtracted (every version).
func TestReplicationLagWithoutConfigAccess(t *testing.T) {
	for _, v := range mongosim.Versions() {
		t.Run(v, func(t *testing.T) {
			sc := rsThree(0, 0)
			sc.Version = v
			sc.DenyConfig = true
			sc.Members = append(sc.Members, mongosim.Member{State: mongosim.Secondary, Delay: time.Hour, Lag: time.Hour + 10*time.Second})
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
			rsWant(t, r, 3, set.Addr(3)+" (hidden or delayed: not listed by hello) is 3610 s behind primary "+set.Addr(0)+", its configured delay unknown (no lag measured)",
				"replSetGetConfig failed", "grant the monitoring user the clusterMonitor role",
				"their delay is unknown, so their lag is left out of the perfdata")
			rsLacks(t, r, "(hidden,", "CRITICAL", "lag 3610", "shown as U")
			if rsPerf(t, r, set.Addr(3)) != "unmeasured" || set.Commands("replSetGetConfig") == 0 {
				t.Fatal(r.FirstLine())
			}
			r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "-w", "7200", "-c", "9000")
			rsWant(t, r, 0, set.Addr(3)+" (hidden or delayed: not listed by hello) lag at most 3610 s")

			set.Update(func(s *mongosim.Scenario) { s.DenyConfig = false })
			r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
			rsWant(t, r, 0, "3610 s behind primary "+set.Addr(0)+", minus the configured delay of 3600 s")
			if rsPerf(t, r, set.Addr(3)) != "10s" {
				t.Fatal(r.FirstLine())
			}
		})
	}
}

func TestReplicationLagAheadIsZero(t *testing.T) {
	set := mongosim.Start(t, rsThree(-3*time.Second, 0))
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
	rsWant(t, r, 0, "ahead of primary")
	if rsPerf(t, r, set.Addr(1)) != "0s" {
		t.Fatal(r.FirstLine())
	}
}

func TestReplicationLagArbiterSkipped(t *testing.T) {
	sc := rsThree(time.Second, 0)
	sc.Members[2] = mongosim.Member{State: mongosim.Arbiter}
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
	rsWant(t, r, 0, "arbiter "+set.Addr(2)+" skipped")
	rsLacks(t, r, rsLag(set.Addr(2))+"=")
	r = rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag", "--member", "self")
	rsWant(t, r, 3, "is an arbiter and holds no data")
}

func TestReplicationLagPercent(t *testing.T) {
	for _, tc := range []struct {
		lag   time.Duration
		code  int
		value string
	}{
		{2 * time.Minute, 0, "0.33%"},
		{6 * time.Hour, 1, "60%"},
		{9 * time.Hour, 2, "90%"},
		{11 * time.Hour, 2, "110%"},
	} {
		t.Run(tc.lag.String(), func(t *testing.T) {
			sc := rsThree(tc.lag, 0)
			sc.Members[0].OplogWindow = 10 * time.Hour
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag-percent")
			rsWant(t, r, tc.code, "oplog window 10.0 h on "+set.Addr(0), ";50;80;0")
			if got := rsPerf(t, r, set.Addr(1)); got != tc.value {
				t.Fatalf("perfdata %s, want %s", got, tc.value)
			}
			if tc.lag > 10*time.Hour {
				rsWant(t, r, tc.code, "needs an initial sync")
			}
		})
	}
}

func TestOplogWindow(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		code   int
		text   string
	}{
		{48 * time.Hour, 0, "MONGODB OK - rs0 via {0} (PRIMARY): oplog window 48.00 h"},
		{10 * time.Hour, 1, "MONGODB WARNING - rs0 via {0} (PRIMARY): oplog window 10.00 h"},
		{90 * time.Minute, 2, "MONGODB CRITICAL - rs0 via {0} (PRIMARY): oplog window 1.50 h"},
	} {
		t.Run(tc.window.String(), func(t *testing.T) {
			sc := rsThree(0, 0)
			sc.Members[0].OplogWindow = tc.window
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "oplog-window")
			rsWant(t, r, tc.code, strings.ReplaceAll(tc.text, "{0}", set.Addr(0)), "oplog_window_hours=", ";24:;4:;0")
		})
	}
	t.Run("no primary: both ends from one secondary", func(t *testing.T) {
		sc := rsThree(0, 10*time.Minute)
		sc.Members[0].Unreachable = true
		set := mongosim.Start(t, sc)
		for range 4 {
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "oplog-window")
			rsWant(t, r, 0, " (SECONDARY): oplog window 48.00 h", "which is not the primary", "oplog_window_hours=48;")
		}
	})
	t.Run("direct to a secondary", func(t *testing.T) {
		sc := rsThree(0, 0)
		sc.Members[1].OplogWindow = 30 * time.Hour
		set := mongosim.Start(t, sc)
		r := rsRun(t, nil, "--uri", set.DirectURI(1), "--mode", "oplog-window", "-w", "36:", "-c", "12:")
		rsWant(t, r, 1, "rs0 via "+set.Addr(1)+" (SECONDARY): oplog window 30.00 h", "which is not the primary", ";36:;12:;0")
	})
}

func TestReplsetState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*mongosim.Scenario)
		code  int
		texts []string
	}{
		{"healthy", func(*mongosim.Scenario) {}, 0, []string{"MONGODB OK - rs0 via {0} (PRIMARY): primary {0}, 1 PRIMARY, 2 SECONDARY, 3/3 voting members healthy (majority 2)", "voting_members_healthy=3;;;0;3"}},
		{"RECOVERING", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Recovering }, 1, []string{"MONGODB WARNING - {2} is RECOVERING", "too stale to catch up"}},
		{"STARTUP2", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Startup2 }, 1, []string{"MONGODB WARNING - {2} is STARTUP2", "initial sync"}},
		{"STARTUP", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Startup }, 1, []string{"MONGODB WARNING - {2} is STARTUP"}},
		{"ROLLBACK", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Rollback }, 1, []string{"MONGODB WARNING - {2} is ROLLBACK", "rollback directory"}},
		{"UNKNOWN", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Unknown }, 1, []string{"MONGODB WARNING - {2} is UNKNOWN"}},
		{"DOWN", func(s *mongosim.Scenario) { s.Members[2].Unreachable = true }, 1, []string{"MONGODB WARNING - {2} is DOWN, unreachable", "Connection refused", "2/3 voting members healthy"}},
		{"REMOVED", func(s *mongosim.Scenario) { s.Members[2].State = mongosim.Removed }, 2, []string{"MONGODB CRITICAL - {2} is REMOVED", "rs.add()"}},
		{"arbiter down", func(s *mongosim.Scenario) { s.Members[2] = mongosim.Member{State: mongosim.Arbiter, Unreachable: true} }, 1, []string{"MONGODB WARNING - arbiter {2} is DOWN, unreachable", "arbiter's vote is missing"}},
		{"arbiter up", func(s *mongosim.Scenario) { s.Members[2] = mongosim.Member{State: mongosim.Arbiter} }, 0, []string{"1 PRIMARY, 1 SECONDARY, 1 ARBITER"}},
		{"primary down", func(s *mongosim.Scenario) { s.Members[0].Unreachable = true }, 2, []string{"MONGODB CRITICAL - rs0 has no PRIMARY", "{0} is DOWN"}},
		{"two primaries", func(s *mongosim.Scenario) {
			s.Members[1].State = mongosim.Primary
			s.Members[1].Term = 2
		}, 2, []string{"MONGODB CRITICAL - rs0 has 2 PRIMARY members: ", "network partition"}},
		{"majority lost", func(s *mongosim.Scenario) {
			s.Members[0].Unreachable = true
			s.Members[1].Unreachable = true
		}, 2, []string{"only 1 of 3 voting members are healthy, a majority needs 2", "rs0 has no PRIMARY"}},
		{"hanging secondary", func(s *mongosim.Scenario) { s.Members[2].Hang = true }, 1, []string{"{2} is DOWN, unreachable"}},
		{"hanging primary", func(s *mongosim.Scenario) { s.Members[0].Hang = true }, 2, []string{"rs0 has no PRIMARY", "{0} is DOWN, unreachable (Couldn't get a connection"}},
		{"non-voting member down", func(s *mongosim.Scenario) {
			s.Members = append(s.Members, mongosim.Member{State: mongosim.Secondary, NoVote: true, Unreachable: true})
		}, 1, []string{"{3} is DOWN", "3/3 voting members healthy (majority 2)"}},
	} {
		for _, v := range []string{"4.4", "6.0", "8.0"} {
			t.Run(tc.name+"/"+v, func(t *testing.T) {
				sc := rsThree(0, 0)
				sc.Version = v
				tc.edit(&sc)
				set := mongosim.Start(t, sc)
				// Connect through a member that answers.
				via := -1
				for i, m := range sc.Members {
					if !m.Unreachable && !m.Hang && m.State != mongosim.Removed && m.State != mongosim.Arbiter && via < 0 {
						via = i
					}
				}
				r := rsRun(t, nil, "--uri", set.URI(via), "--mode", "replset-state", "-t", "5")
				var texts []string
				for _, s := range tc.texts {
					for i := range sc.Members {
						s = strings.ReplaceAll(s, fmt.Sprintf("{%d}", i), set.Addr(i))
					}
					texts = append(texts, s)
				}
				rsWant(t, r, tc.code, texts...)
				if r.Elapsed > 4*time.Second {
					t.Fatalf("took %v", r.Elapsed)
				}
			})
		}
	}
}

func TestReplsetStateDirectConnection(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members[0].Unreachable = true
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "-H", "127.0.0.1", "-P", rsPort(set.Addr(2)), "--mode", "replset-state")
	rsWant(t, r, 2, "rs0 has no PRIMARY", "rs0 via "+set.Addr(2)+" (SECONDARY): no primary")
}

// --replica-set with -H/-P is the other way to name a set.
func TestReplicaSetOption(t *testing.T) {
	set := mongosim.Start(t, rsThree(90*time.Second, 0))
	r := rsRun(t, nil, "-H", "127.0.0.1", "-P", rsPort(set.Addr(2)), "--replica-set", "rs0", "--mode", "replication-lag")
	rsWant(t, r, 1, set.Addr(1)+" lag 90 s - rs0 via "+set.Addr(0)+" (PRIMARY)")
}

func TestRemovedMemberDirect(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members[2].State = mongosim.Removed
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replset-state")
	rsWant(t, r, 2, "MONGODB CRITICAL - "+set.Addr(2)+" is REMOVED")
}

func TestHangingMember(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members[1].Hang = true
	set := mongosim.Start(t, sc)
	for _, tc := range []struct {
		state string
		code  int
	}{{"unknown", 3}, {"critical", 2}} {
		t.Run(tc.state, func(t *testing.T) {
			r := rsRun(t, nil, "--uri", set.DirectURI(1), "--mode", "replication-lag", "-t", "2", "--timeout-state", tc.state)
			rsWant(t, r, tc.code, "timed out")
			if r.Elapsed > 3*time.Second {
				t.Fatalf("answered after %v with -t 2", r.Elapsed)
			}
			if strings.Count(r.Stdout, "\n") != 1 {
				t.Fatalf("more than one line: %q", r.Stdout)
			}
		})
	}
	t.Run("set URI still answers", func(t *testing.T) {
		r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "-t", "3")
		rsWant(t, r, 1, set.Addr(1)+" is DOWN, unreachable (Couldn't get a connection", "(no lag measured)")
		if r.Elapsed > 2500*time.Millisecond {
			t.Fatalf("took %v", r.Elapsed)
		}
	})
}

// A primary that just hung is still named by the secondaries: the check
// waits for it only part of -t, then answers from a secondary and says so.
func TestHangingPrimaryStillNamed(t *testing.T) {
	sc := rsThree(0, 90*time.Second)
	sc.Members[0].Hang = true
	sc.Members[0].HangSeenUp = true
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag", "-t", "3")
	rsWant(t, r, 1, "behind primary "+set.Addr(0), "names "+set.Addr(0)+" as primary, which the check could not reach (no answer within ")
	if rsPerf(t, r, set.Addr(2)) != "90s" {
		t.Fatal(r.FirstLine())
	}
	// Both oplog ends come from the one secondary the check pinned
	// (with primaryPreferred they could come from two, whose optimes
	// differ by 90 s).
	r = rsRun(t, nil, "--uri", set.URI(), "--mode", "oplog-window", "-t", "3")
	rsWant(t, r, 0, " (SECONDARY): oplog window 48.00 h", "which is not the primary")
	if r.Elapsed > 2500*time.Millisecond {
		t.Fatalf("answered after %v with -t 3", r.Elapsed)
	}
}

func TestPrimaryChange(t *testing.T) {
	set := mongosim.Start(t, rsThree(0, 0))
	dir := t.TempDir()
	run := func() testenv.Run {
		return rsRun(t, nil, "--uri", set.URI(), "--mode", "primary-change", "--state-dir", dir, "--hold", "2s")
	}
	r := run()
	rsWant(t, r, 0, "rs0 via "+set.Addr(0)+" (PRIMARY): primary is "+set.Addr(0)+" (first run, remembered)")
	r = run()
	rsWant(t, r, 0, "primary is "+set.Addr(0)+", unchanged since")

	set.Update(func(s *mongosim.Scenario) {
		s.Members[0].State = mongosim.Secondary
		s.Members[1].State = mongosim.Primary
		s.Members[1].Term = 2
	})
	r = run()
	rsWant(t, r, 1, "MONGODB WARNING - rs0 via "+set.Addr(1)+" (PRIMARY): primary changed from "+set.Addr(0)+" to "+set.Addr(1), "--hold 2s")
	// Held: still WARNING on the next run, OK once the hold is over.
	r = run()
	rsWant(t, r, 1, "primary changed from "+set.Addr(0)+" to "+set.Addr(1)+" ")
	time.Sleep(2100 * time.Millisecond)
	r = run()
	rsWant(t, r, 0, "primary is "+set.Addr(1)+", unchanged since")

	// A step-down after which the same member wins again: a newer term.
	set.Update(func(s *mongosim.Scenario) { s.Members[1].Term = 3 })
	r = run()
	rsWant(t, r, 1, set.Addr(1)+" was elected again (term 3, was 2)")
	time.Sleep(2100 * time.Millisecond)

	set.Update(func(s *mongosim.Scenario) { s.Members[1].State = mongosim.Secondary })
	r = rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "primary-change", "--state-dir", dir)
	rsWant(t, r, 2, "MONGODB CRITICAL - rs0 via "+set.Addr(2)+" (SECONDARY): no primary")

	// The state survived the run without a primary: the old primary
	// coming back is a change against the last one seen.
	set.Update(func(s *mongosim.Scenario) {
		s.Members[0].State = mongosim.Primary
		s.Members[0].Term = 4
	})
	r = run()
	rsWant(t, r, 1, "primary changed from "+set.Addr(1)+" to "+set.Addr(0))
	if set.Commands("insert")+set.Commands("update") != 0 {
		t.Fatal("primary-change wrote to the database")
	}
	for _, bad := range []string{"0", "-5m", "soon"} {
		r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replset-state", "--hold", bad)
		rsWant(t, r, 3, "invalid duration")
	}
}

func TestReplsetAuth(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Users = map[string]string{"monitor": "pa55-w0rd"}
	set := mongosim.Start(t, sc)
	r := rsRun(t, []string{"MONGODB_PASSWORD=pa55-w0rd"}, "--uri", set.URI(), "--user", "monitor", "--mode", "replset-state")
	rsWant(t, r, 0, "MONGODB OK - rs0 via "+set.Addr(0))
	if set.Commands("saslStart") == 0 {
		t.Fatal("no SCRAM conversation")
	}
	r = rsRun(t, []string{"MONGODB_PASSWORD=wrong-pa55"}, "--uri", set.URI(), "--user", "monitor", "--mode", "replset-state")
	rsWant(t, r, 2, "authentication failed")
	rsLacks(t, r, "wrong-pa55")
	// Item 5: no user given against a set that requires authentication.
	r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replset-state")
	rsWant(t, r, 3, "requires authentication and no user was given", "pass --user and --password-file")
	rsLacks(t, r, "needs the clusterMonitor role")
}

// TestPrivilegeHints: a refused command is named with the privilege it
// needs and the role that grants it on the versions check_mongodb
// supports (clusterMonitor holds find on local.oplog.rs from MongoDB 3.4
// on), and the user's own roles (connectionStatus): a user who already
// has clusterMonitor is not told to get it.
func TestPrivilegeHints(t *testing.T) {
	// The user's roles, read by the simulated members' goroutines.
	var roles atomic.Pointer[[]string]
	roles.Store(&[]string{"read@app"})
	sc := rsThree(0, 0)
	sc.Users = map[string]string{"monitor": "pa55-w0rd"}
	// What mongod answers a user whose roles lack find on local
	// (src/mongo/db/commands.cpp, "not authorized on local to execute
	// command"), and connectionStatus as the manual shows it.
	sc.Commands = map[string]func(int) bson.D{
		"find": func(int) bson.D {
			return mongosim.CommandError(codes.Unauthorized, `not authorized on local to execute command { find: "oplog.rs", filter: {}, $db: "local" }`)
		},
		"connectionStatus": func(int) bson.D {
			var rs bson.A
			for _, r := range *roles.Load() {
				role, db, _ := strings.Cut(r, "@")
				rs = append(rs, bson.D{{Key: "role", Value: role}, {Key: "db", Value: db}})
			}
			return bson.D{{Key: "authInfo", Value: bson.D{
				{Key: "authenticatedUsers", Value: bson.A{bson.D{{Key: "user", Value: "monitor"}, {Key: "db", Value: "admin"}}}},
				{Key: "authenticatedUserRoles", Value: rs}}}, {Key: "ok", Value: 1.0}}
		},
	}
	set := mongosim.Start(t, sc)
	env := []string{"MONGODB_PASSWORD=pa55-w0rd"}
	for _, mode := range []string{"oplog-window", "replication-lag-percent"} {
		r := rsRun(t, env, "--uri", set.URI(), "--user", "monitor", "--mode", mode)
		rsWant(t, r, 3, "refused find on local.oplog.rs to user monitor ((Unauthorized) not authorized on local",
			"grant user monitor (it has the roles read@app) the clusterMonitor role, which holds find on local.oplog.rs on every MongoDB version check_mongodb supports (4.2 to 8.0), or the read role on the local database")
	}
	for _, role := range []string{"clusterMonitor@admin", "read@local"} {
		roles.Store(&[]string{"read@app", role})
		r := rsRun(t, env, "--uri", set.URI(), "--user", "monitor", "--mode", "oplog-window")
		rsWant(t, r, 3, "user monitor has the role "+role+", which grants find on local.oplog.rs on every MongoDB version check_mongodb supports (4.2 to 8.0), so the server grants it less", `db.getUser("monitor", {showPrivileges: true})`)
		rsLacks(t, r, "grant user")
	}
}
