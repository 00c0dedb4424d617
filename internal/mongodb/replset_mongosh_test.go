package mongodb_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// mongoshScript runs the replication helpers an operator would and marks
// each one's output, so a helper that fails shows which.
const mongoshScript = `
const st = rs.status(); print("STATUS ok " + st.ok + " members " + st.members.length);
const cf = rs.conf(); print("CONF members " + cf.members.length);
for (const m of cf.members) { print("DELAY " + m.host + " " + (m.secondaryDelaySecs ?? m.slaveDelay ?? 0)); }
const h = db.hello(); print("HELLO setName " + h.setName);
print("SECONDARY-INFO"); print(rs.printSecondaryReplicationInfo());
print("REPLICATION-INFO"); print(rs.printReplicationInfo());
print("END");
`

var (
	mongoshSource = regexp.MustCompile(`source: (\S+)`)
	mongoshLag    = regexp.MustCompile(`replLag: '(-?\d+) secs`)
	mongoshDelay  = regexp.MustCompile(`DELAY (\S+) (\d+)`)
)

// mongoshLags parses what rs.printSecondaryReplicationInfo() prints: per
// member "source: host:port" then "replLag: 'N secs (H hrs) behind the
// primary'" (mongosh's shell-api database.js), minus the configured delay
// rs.conf() shows, which mongosh does not subtract and the check does.
func mongoshLags(t *testing.T, out string) map[string]float64 {
	t.Helper()
	delays := map[string]float64{}
	for _, m := range mongoshDelay.FindAllStringSubmatch(out, -1) {
		delays[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	lags := map[string]float64{}
	part := out[strings.Index(out, "SECONDARY-INFO"):strings.Index(out, "REPLICATION-INFO")]
	blocks := mongoshSource.FindAllStringSubmatchIndex(part, -1)
	for i, b := range blocks {
		end := len(part)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		name := part[b[2]:b[3]]
		if m := mongoshLag.FindStringSubmatch(part[b[1]:end]); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			lags[name] = math.Max(v-delays[name], 0)
		}
	}
	return lags
}

// MongoDB's own shell as an independent client: in each scenario below
// (not the one without replSetGetConfig: rs.conf() needs it) mongosh's rs.status(), rs.conf(), db.hello(),
// rs.printSecondaryReplicationInfo() and rs.printReplicationInfo() run
// against the simulator without an error, and the lag it prints for each
// member (less the configured delay) equals the check's perfdata within
// 1 s.
func TestMongoshCrossCheck(t *testing.T) {
	type scenario struct {
		name string
		sc   mongosim.Scenario
		via  int // the member both clients connect to directly; -1: the check through the set
	}
	var scenarios []scenario
	// mongosh 2.12.0's Node.js driver refuses a 4.2 server ("reports
	// maximum wire version 8, but this version of the Node.js Driver
	// requires at least 9"), so the independent client covers 4.4 to 8.0;
	// 4.2 is covered by the check's own tests (TestServerVersionsOldestNewest).
	for _, v := range mongosim.Versions()[1:] {
		sc := rsThree(2*time.Second, 95*time.Second)
		sc.Version = v
		scenarios = append(scenarios, scenario{"lagging/" + v, sc, -1})
	}
	delayed := rsThree(0, 400*time.Second)
	delayed.Members = append(delayed.Members, mongosim.Member{State: mongosim.Secondary, Hidden: true, Delay: time.Hour, Lag: time.Hour + 30*time.Second})
	scenarios = append(scenarios, scenario{"hidden delayed", delayed, -1})
	down := rsThree(0, 7*time.Second)
	down.Members[0].Unreachable = true
	scenarios = append(scenarios, scenario{"no primary", down, -1})
	recovering := rsThree(0, 12*time.Second)
	recovering.Members = append(recovering.Members, mongosim.Member{State: mongosim.Recovering, Lag: 3 * time.Hour})
	scenarios = append(scenarios, scenario{"recovering", recovering, -1})
	// Issue 14 item 3: both clients connected to a secondary.
	scenarios = append(scenarios, scenario{"on a secondary", rsThree(3*time.Second, 40*time.Second), 1})
	// Issue 14 item 8: a member whose initial sync restarted (STARTUP2,
	// null optimes) beside a lagging secondary.
	syncing := rsThree(5*time.Second, 0)
	syncing.Members[2].State = mongosim.Startup2
	syncing.Members[2].InitialSync = &mongosim.InitialSync{Failed: []string{
		"InitialSyncFailure: error cloning databases :: caused by :: HostUnreachable: Connection reset by peer",
	}}
	scenarios = append(scenarios, scenario{"initial sync", syncing, -1})

	for _, tc := range scenarios {
		t.Run(tc.name, func(t *testing.T) {
			set := mongosim.Start(t, tc.sc)
			via, uri := tc.via, set.URI()
			switch {
			case via >= 0:
				uri = set.DirectURI(via)
			case tc.sc.Members[0].Unreachable:
				via = 1
			default:
				via = 0
			}
			r := rsRun(t, nil, "--uri", uri, "--mode", "replication-lag", "-w", "100000", "-c", "200000")
			out, err := testenv.RunMongosh(t, set.DirectURI(via), mongoshScript)
			if err != nil || !strings.Contains(out, "END") || strings.Contains(out, "Error") {
				t.Fatalf("mongosh failed (%v):\n%s", err, out)
			}
			if !strings.Contains(out, fmt.Sprintf("STATUS ok 1 members %d", len(tc.sc.Members))) || !strings.Contains(out, "HELLO setName rs0") {
				t.Fatalf("mongosh output:\n%s", out)
			}
			lags := mongoshLags(t, out)
			compared := 0
			for i, m := range tc.sc.Members {
				if tc.via >= 0 && i != tc.via {
					continue // connected to one member, the check reports that member
				}
				ours := rsPerf(t, r, set.Addr(i))
				theirs, ok := lags[set.Addr(i)]
				if !ok || m.State != mongosim.Secondary {
					// mongosh skips the primary and members without an
					// optime; for a RECOVERING member it prints the gap,
					// which the check reports as the state instead (no lag perfdata).
					continue
				}
				if ours == "unmeasured" {
					t.Errorf("%s (%v): mongosh prints lag %v, the check left it unmeasured", set.Addr(i), m.State, theirs)
					continue
				}
				v, err := strconv.ParseFloat(strings.TrimSuffix(ours, "s"), 64)
				if err != nil || math.Abs(v-theirs) > 1 {
					t.Errorf("%s: check %s, mongosh %v s", set.Addr(i), ours, theirs)
				}
				compared++
			}
			if compared == 0 {
				t.Fatalf("no lag compared:\n%s\n%s", r.Stdout, out)
			}
			if !strings.Contains(out, "oplog first event time") && !strings.Contains(out, "this is a secondary") {
				t.Fatalf("rs.printReplicationInfo():\n%s", out)
			}
		})
	}
}
