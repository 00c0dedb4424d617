package mongodb_test

import (
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// Scenarios of issue 14, each through the built binary against the
// simulator in real shapes.

// Item 2: a member whose heartbeats fail internal authentication
// (health 0, state UNKNOWN, authenticated false, and no
// lastHeartbeatMessage: setAuthIssue clears it) gets the keyFile/x.509
// hint, not "check that mongod runs".
func TestMemberAuthenticationFailure(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members[2].AuthFailed = true
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replset-state")
	rsWant(t, r, 1, set.Addr(2)+" is UNKNOWN, unreachable, its heartbeats fail authentication",
		"keyFile (security.keyFile) must hold the same key on every member", "x.509 membership")
	rsLacks(t, r, "check that mongod runs")
}

// Item 3: replication-lag-percent directly on a secondary divides by its
// sync source's oplog window, not by its own.
func TestReplicationLagPercentOnSecondary(t *testing.T) {
	sc := rsThree(9*time.Hour, 0)
	sc.Members[0].OplogWindow = 10 * time.Hour
	sc.Members[1].OplogWindow = 48 * time.Hour
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.DirectURI(1), "--mode", "replication-lag-percent")
	rsWant(t, r, 2, set.Addr(1)+" (connected) lag 32400 s = 90.00 % of the oplog window of its sync source "+set.Addr(0))
	if rsPerf(t, r, set.Addr(1)) != "90%" {
		t.Fatal(r.FirstLine())
	}
	r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag-percent")
	rsWant(t, r, 2, set.Addr(1)+" lag 32400 s = 90.00 % of the oplog window")

	// Its sync source unreachable: said plainly, no guess.
	set.Update(func(s *mongosim.Scenario) { s.Members[0].Hang = true })
	r = rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag-percent", "-t", "3")
	if r.Code == 0 {
		t.Fatalf("answered OK without the source's window:\n%s", r.Stdout)
	}
}

// Item 5: two primaries are named as such in every summary.
func TestTwoPrimariesSummary(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members[1].State = mongosim.Primary
	sc.Members[1].Term = 2
	set := mongosim.Start(t, sc)
	r := rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replset-state")
	rsWant(t, r, 2, "2 primaries ("+set.Addr(0)+", "+set.Addr(1)+")")
	rsLacks(t, r, "no primary")
	r = rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag", "--member", "all")
	rsWant(t, r, 0, "2 members claim PRIMARY")
	rsLacks(t, r, "no primary")
}

// Item 6: a --uri that lists a delayed member among its seeds never
// fails the check (the driver drops that member once the primary's
// hello leaves it out), nor one that lists only the delayed member (the
// driver learns the others from its hello).
func TestDelayedMemberAmongSeeds(t *testing.T) {
	sc := rsThree(0, 0)
	sc.Members = append(sc.Members, mongosim.Member{State: mongosim.Secondary, Delay: time.Hour, Lag: time.Hour})
	set := mongosim.Start(t, sc)
	for range 8 {
		for _, uri := range []string{set.URI(3, 0), set.URI(3)} {
			r := rsRun(t, nil, "--uri", uri, "--mode", "replication-lag")
			rsWant(t, r, 0, "rs0 via "+set.Addr(0)+" (PRIMARY)")
		}
		r := rsRun(t, nil, "--uri", set.URI(3, 0), "--mode", "connect")
		rsWant(t, r, 0, "answers ping in")
	}
}

// Item 8: a secondary whose initial sync keeps failing: the attempts, the
// last failure and the keepalive/NAT hint.
func TestInitialSyncRestarting(t *testing.T) {
	for _, v := range []string{"4.2", "8.0"} {
		t.Run(v, func(t *testing.T) {
			sc := rsThree(0, 0)
			sc.Version = v
			sc.Members[2].State = mongosim.Startup2
			sc.Members[2].InitialSync = &mongosim.InitialSync{Failed: []string{
				"InitialSyncFailure: error cloning databases :: caused by :: HostUnreachable: Connection reset by peer",
				"InitialSyncFailure: error fetching oplog during initial sync :: caused by :: HostUnreachable: Connection reset by peer",
			}}
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replset-state")
			rsWant(t, r, 1, set.Addr(2)+" (connected) is STARTUP2: initial sync restarted, 2 of at most 10 attempts failed, last failure: InitialSyncFailure: error fetching oplog during initial sync :: caused by :: HostUnreachable: Connection reset by peer (sync source "+set.Addr(0)+")",
				"check_keepalive")
			r = rsRun(t, nil, "--uri", set.DirectURI(2), "--mode", "replication-lag")
			rsWant(t, r, 1, "initial sync restarted, 2 of at most 10 attempts failed", "(no lag measured)")
			// Through the set the primary answers; the check asks the
			// member in initial sync itself.
			r = rsRun(t, nil, "--uri", set.URI(), "--mode", "replset-state")
			rsWant(t, r, 1, set.Addr(2)+" is STARTUP2: initial sync restarted, 2 of at most 10 attempts failed", "check_keepalive")
		})
	}
}

// Item 7: the oldest and newest server versions the README names, through
// the binary: the driver accepts their wire versions and the shapes decode.
func TestServerVersionsOldestNewest(t *testing.T) {
	for _, v := range []string{"4.2", "8.0"} {
		t.Run(v, func(t *testing.T) {
			sc := rsThree(90*time.Second, 0)
			sc.Version = v
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "replication-lag")
			rsWant(t, r, 1, set.Addr(1)+" lag 90 s")
			r = rsRun(t, nil, "--uri", set.DirectURI(1), "--mode", "connect", "-v")
			rsWant(t, r, 0, "answers ping")
		})
	}
}
