package mongodb

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/plugin"
)

func rsFixture(t testing.TB, name string) bson.Raw {
	t.Helper()
	return fixture(t, filepath.Join("replset", name))
}

func rsStatus(t *testing.T, name string) *ReplStatus {
	t.Helper()
	st, err := DecodeReplStatus(rsFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func rsMember(t *testing.T, st *ReplStatus, name string) *ReplMember {
	t.Helper()
	for i := range st.Members {
		if st.Members[i].Name == name {
			return &st.Members[i]
		}
	}
	t.Fatalf("no member %s", name)
	return nil
}

// rsContains fails the test for every substring out lacks, and then
// shows out once.
func rsContains(t *testing.T, out string, substrings ...string) {
	t.Helper()
	failed := false
	for _, s := range substrings {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
			failed = true
		}
	}
	if failed {
		t.Log(out)
	}
}

// render returns a function that renders a mode's result, failing the
// test on an error.
func rsRender(t *testing.T) func(*plugin.Result, error) (string, plugin.State) {
	return func(r *plugin.Result, err error) (string, plugin.State) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return plugin.Render("MONGODB", r)
	}
}

func TestDecodeReplStatusVersions(t *testing.T) {
	for _, tc := range []struct {
		file, set, self, syncOf, syncSrc string
		members                          int
		majority                         int
		delayOf                          string
		delay                            time.Duration
	}{
		{"status-4.4.json", "rs44", "db1.example.net:27017", "db2.example.net:27017", "db1.example.net:27017", 4, 0, "", 0},
		{"status-6.0.json", "rs60", "db2:27017", "db4:27017", "db1:27017", 4, 2, "db4:27017", 2 * time.Hour},
		{"status-8.0.json", "rs80", "mongo-b:27017", "mongo-c:27017", "", 3, 2, "", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			st := rsStatus(t, tc.file)
			if st.Set != tc.set || len(st.Members) != tc.members || st.MajorityVoteCount != tc.majority {
				t.Fatalf("decoded %+v", st)
			}
			if s := st.self(); s == nil || s.Name != tc.self {
				t.Fatalf("self = %v, want %s", s, tc.self)
			}
			if got := rsMember(t, st, tc.syncOf).SyncSource; got != tc.syncSrc {
				t.Fatalf("sync source of %s = %q, want %q", tc.syncOf, got, tc.syncSrc)
			}
			if tc.delayOf != "" && rsMember(t, st, tc.delayOf).Delay != tc.delay {
				t.Fatalf("delay %v", rsMember(t, st, tc.delayOf).Delay)
			}
		})
	}
}

func TestDecodeReplStatusDownMember(t *testing.T) {
	st := rsStatus(t, "status-8.0.json")
	a := rsMember(t, st, "mongo-a:27017")
	if a.Health != 0 || a.State != rsDown || !a.Optime.IsZero() || !strings.Contains(a.Message, "Connection refused") {
		t.Fatalf("down member decoded as %+v", a)
	}
	if c := rsMember(t, st, "mongo-c:27017"); !c.Optime.Equal(time.Date(2025, 2, 1, 7, 58, 0, 0, time.UTC)) {
		t.Fatalf("optime %v", c.Optime)
	}
}

func TestDecodeReplStatusErrors(t *testing.T) {
	for _, doc := range []bson.D{
		{{Key: "ok", Value: 1.0}},
		{{Key: "set", Value: "rs0"}, {Key: "members", Value: bson.A{}}},
		{{Key: "set", Value: "rs0"}, {Key: "members", Value: bson.A{bson.D{{Key: "_id", Value: 0}}}}},
		{{Key: "set", Value: "rs0"}, {Key: "members", Value: "nope"}},
	} {
		raw, _ := bson.Marshal(doc)
		if _, err := DecodeReplStatus(raw); err == nil {
			t.Errorf("%v decoded without error", doc)
		}
	}
}

// Optimes as a bare Timestamp (protocol version 0) and without
// optimeDate still give a lag.
func TestOptimeForms(t *testing.T) {
	doc := bson.D{{Key: "set", Value: "old"}, {Key: "members", Value: bson.A{
		bson.D{{Key: "_id", Value: 0}, {Key: "name", Value: "a:1"}, {Key: "health", Value: 1}, {Key: "state", Value: 1}, {Key: "optime", Value: primitive.Timestamp{T: 1000, I: 1}}},
		bson.D{{Key: "_id", Value: 1}, {Key: "name", Value: "b:1"}, {Key: "health", Value: 1}, {Key: "state", Value: 2}, {Key: "optime", Value: bson.D{{Key: "ts", Value: primitive.Timestamp{T: 940, I: 1}}, {Key: "t", Value: int64(1)}}}, {Key: "self", Value: true}},
	}}}
	raw, _ := bson.Marshal(doc)
	st, err := DecodeReplStatus(raw)
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := rsReference(st)
	lags := MeasureLag(st, ref)
	if !ok || ref.Name != "a:1" || len(lags) != 2 || lags[1].Lag != 60*time.Second {
		t.Fatalf("ref %v lags %+v", ref, lags)
	}
}

func TestLag44DaysAndConfigDelay(t *testing.T) {
	st := rsStatus(t, "status-4.4.json")
	if err := st.ApplyConfig(rsFixture(t, "config-4.4.json")); err != nil {
		t.Fatal(err)
	}
	v := &replView{Status: st}
	out, state := rsRender(t)(rsLagResult(v, "", rng(defLagWarn), rng(defLagCrit), nil))
	if state != plugin.Critical {
		t.Fatalf("state %v\n%s", state, out)
	}
	rsContains(t, out,
		// Three days and ten seconds: the days are not dropped.
		"MONGODB CRITICAL - db2.example.net:27017 lag 259210 s",
		"rs44 via db1.example.net:27017 (PRIMARY): max lag 259210 s (db2.example.net:27017) behind primary db1.example.net:27017",
		"'db2.example.net:27017'=259210s;60;300;0",
		// slaveDelay from the configuration is subtracted.
		"'db3.example.net:27017'=10s;60;300;0",
		"db3.example.net:27017 (hidden, delayed 3600 s) lag 10 s",
		"3610 s behind primary db1.example.net:27017, minus the configured delay of 3600 s",
		"arbiter arb.example.net:27017 skipped",
	)
	if strings.Contains(out, "'arb.example.net:27017'") {
		t.Error("arbiter has perfdata")
	}
}

func TestLag60SecondaryView(t *testing.T) {
	st := rsStatus(t, "status-6.0.json")
	h, err := DecodeHello(rsFixture(t, "hello-6.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	st.ApplyHello(h)
	v := &replView{Status: st}

	// Connected to a secondary: self by default.
	out, state := rsRender(t)(rsLagResult(v, "", rng(defLagWarn), rng(defLagCrit), nil))
	if state != plugin.Warning {
		t.Fatalf("state %v\n%s", state, out)
	}
	rsContains(t, out,
		// The primary's optime is known only from a heartbeat that is
		// 45 s old: the lag may be understated, and the check says so.
		"MONGODB WARNING - the last heartbeat from primary db1:27017 is 45 s old, so lag against it may be understated; rs60 via db2:27017 (SECONDARY): max lag 0 s (db2:27017) behind primary db1:27017 | 'db2:27017'=0s;60;300;0",
		"its optime is 35 s ahead of primary db1:27017; shown as 0",
	)
	if strings.Contains(out, "db3:27017") {
		t.Errorf("self mode reports other members:\n%s", out)
	}

	out, state = rsRender(t)(rsLagResult(v, "all", rng(defLagWarn), rng(defLagCrit), nil))
	if state != plugin.Warning {
		t.Fatalf("state %v\n%s", state, out)
	}
	rsContains(t, out,
		"MONGODB WARNING - db3:27017 is RECOVERING (no lag measured)",
		"'db3:27017'=U;60;300;0",
		// hidden from hello, delay from secondaryDelaySecs in the status
		"db4:27017 (hidden, delayed 7200 s) lag 0 s",
	)
}

func TestLagStaleHeartbeat(t *testing.T) {
	st := rsStatus(t, "status-6.0.json")
	// Pretend db4's heartbeat stopped 45 s before the status was taken.
	rsMember(t, st, "db4:27017").LastHeartbeatRecv = st.Date.Add(-45 * time.Second)
	out, _ := rsRender(t)(rsLagResult(&replView{Status: st}, "all", rng(defLagWarn), rng(defLagCrit), nil))
	if !strings.Contains(out, "the last heartbeat from it is 45 s old") {
		t.Fatal(out)
	}
}

func TestLag80NoPrimary(t *testing.T) {
	st := rsStatus(t, "status-8.0.json")
	out, state := rsRender(t)(rsLagResult(&replView{Status: st}, "all", rng("3"), rng("10"), nil))
	if state != plugin.Warning {
		t.Fatalf("state %v\n%s", state, out)
	}
	rsContains(t, out,
		"mongo-b:27017 (connected) lag 5 s",
		"behind the freshest member mongo-c:27017 (SECONDARY; no primary)",
		"mongo-a:27017 is DOWN, unreachable (Error connecting to mongo-a:27017 :: caused by :: Connection refused) (no lag measured)",
		"'mongo-a:27017'=U;3;10;0",
		"rs80 has no primary",
	)
}

func TestLagPercentPure(t *testing.T) {
	st := rsStatus(t, "status-4.4.json")
	w := &oplogWindow{Span: 100 * time.Hour, Member: "db1.example.net:27017"}
	out, state := rsRender(t)(rsLagResult(&replView{Status: st}, "all", rng(defLagPctWarn), rng(defLagPctCrit), w))
	// 259210 s of 360000 s = 72 %: warning.
	if state != plugin.Warning || !strings.Contains(out, "'db2.example.net:27017'=72%;50;80;0") {
		t.Fatalf("state %v\n%s", state, out)
	}
	_, err := rsLagResult(&replView{Status: st}, "all", nil, nil, &oplogWindow{Member: "x"})
	if err == nil {
		t.Fatal("zero window accepted")
	}
}

func TestStateVerdicts(t *testing.T) {
	for _, tc := range []struct {
		m    ReplMember
		want plugin.State
		text string
	}{
		{ReplMember{Name: "a", Health: 1, State: rsPrimary}, plugin.OK, "a is PRIMARY"},
		{ReplMember{Name: "a", Health: 1, State: rsSecondary, Hidden: true}, plugin.OK, "a (hidden) is SECONDARY"},
		{ReplMember{Name: "a", Health: 1, State: rsStartup}, plugin.Warning, "a is STARTUP"},
		{ReplMember{Name: "a", Health: 1, State: rsStartup2}, plugin.Warning, "a is STARTUP2"},
		{ReplMember{Name: "a", Health: 1, State: rsRecovering}, plugin.Warning, "a is RECOVERING"},
		{ReplMember{Name: "a", Health: 1, State: rsRollback}, plugin.Warning, "a is ROLLBACK"},
		{ReplMember{Name: "a", Health: 1, State: rsUnknown}, plugin.Warning, "a is UNKNOWN"},
		{ReplMember{Name: "a", Health: 0, State: rsDown}, plugin.Warning, "a is DOWN, unreachable"},
		{ReplMember{Name: "a", Health: 1, State: rsRemoved}, plugin.Critical, "a is REMOVED"},
		{ReplMember{Name: "a", Health: 1, State: rsArbiter, Arbiter: true}, plugin.OK, "arbiter a is ARBITER"},
		{ReplMember{Name: "a", Health: 0, State: rsDown, Arbiter: true}, plugin.Warning, "arbiter a is DOWN, unreachable"},
		{ReplMember{Name: "a", Health: 1, State: 42}, plugin.Unknown, "a is in state 42"},
	} {
		st, text, _ := rsVerdict(&tc.m)
		if st != tc.want || text != tc.text {
			t.Errorf("%+v: %v %q, want %v %q", tc.m, st, text, tc.want, tc.text)
		}
	}
}

func TestMajority(t *testing.T) {
	// 4.4 has no majorityVoteCount: the configured votes decide (the
	// hidden delayed member has none).
	st := rsStatus(t, "status-4.4.json")
	if err := st.ApplyConfig(rsFixture(t, "config-4.4.json")); err != nil {
		t.Fatal(err)
	}
	if voting, need := rsMajority(st); voting != 3 || need != 2 {
		t.Fatalf("voting %d need %d", voting, need)
	}
	out, state := plugin.Render("MONGODB", rsStateResult(&replView{Status: st}))
	if state != plugin.OK || !strings.Contains(out, "3/3 voting members healthy (majority 2)") {
		t.Fatalf("%v\n%s", state, out)
	}
	// The arbiter and a secondary down: one vote of three left.
	rsMember(t, st, "arb.example.net:27017").Health = 0
	rsMember(t, st, "db2.example.net:27017").Health = 0
	out, state = plugin.Render("MONGODB", rsStateResult(&replView{Status: st}))
	if state != plugin.Critical || !strings.Contains(out, "only 1 of 3 voting members are healthy, a majority needs 2") {
		t.Fatalf("%v\n%s", state, out)
	}
}

func TestReplsetState80(t *testing.T) {
	out, state := plugin.Render("MONGODB", rsStateResult(&replView{Status: rsStatus(t, "status-8.0.json")}))
	if state != plugin.Critical {
		t.Fatal(out)
	}
	rsContains(t, out, "rs80 has no PRIMARY", "mongo-a:27017 is DOWN, unreachable", "2/3 voting members healthy (majority 2)", "'primaries'=0;;;0")
}

func TestPrimaryChangeResult(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &ReplHello{SetName: "rs0", Primary: "a:1", Me: "b:1"}
	r, next := rsPrimaryChange(h, primaryState{}, false, "", t0)
	if r.State() != plugin.OK || next == nil || next.Primary != "a:1" || !strings.Contains(r.Findings[0].Text, "first run") {
		t.Fatalf("%+v %+v", r, next)
	}
	prev := *next
	r, next = rsPrimaryChange(h, prev, true, "", t0.Add(time.Minute))
	if r.State() != plugin.OK || !next.Since.Equal(t0) {
		t.Fatalf("%+v %+v", r, next)
	}
	h2 := &ReplHello{SetName: "rs0", Primary: "c:1", Me: "b:1", Secondary: true}
	r, next = rsPrimaryChange(h2, prev, true, "", t0.Add(2*time.Minute))
	if r.State() != plugin.Warning || r.Findings[0].Text != "rs0 via b:1 (SECONDARY): primary changed from a:1 to c:1" || next.Primary != "c:1" {
		t.Fatalf("%+v %+v", r, next)
	}
	r, next = rsPrimaryChange(&ReplHello{SetName: "rs0", Me: "b:1"}, prev, true, "", t0)
	if r.State() != plugin.Critical || next != nil {
		t.Fatalf("%+v %+v", r, next)
	}
	r, _ = rsPrimaryChange(h, primaryState{}, false, "state file was unreadable", t0)
	if len(r.Findings[0].Details) == 0 {
		t.Fatal("re-baseline note lost")
	}
}

func TestDecodeOplogEntry(t *testing.T) {
	ts, ok, err := DecodeOplogEntry(rsFixture(t, "oplog-first.json"))
	if err != nil || !ok || !ts.Equal(time.Date(2024, 4, 30, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("%v %v %v", ts, ok, err)
	}
	if _, ok, err := DecodeOplogEntry(rsFixture(t, "oplog-empty.json")); ok || err != nil {
		t.Fatalf("empty oplog: %v %v", ok, err)
	}
}

func TestOplogResultRanges(t *testing.T) {
	for _, tc := range []struct {
		span time.Duration
		want plugin.State
	}{{48 * time.Hour, plugin.OK}, {24 * time.Hour, plugin.OK}, {23 * time.Hour, plugin.Warning}, {4 * time.Hour, plugin.Warning}, {3 * time.Hour, plugin.Critical}} {
		r := rsOplogResult(&oplogWindow{Span: tc.span, Member: "m"}, rng(defOplogWarn), rng(defOplogCrit))
		if r.State() != tc.want {
			t.Errorf("%v: %v, want %v", tc.span, r.State(), tc.want)
		}
		if v := r.Findings[0].Perf[0].Value; math.Abs(v-tc.span.Hours()) > 0.01 {
			t.Errorf("perf %v", v)
		}
	}
}

func FuzzDecodeReplStatus(f *testing.F) {
	for _, n := range []string{"status-4.4.json", "status-6.0.json", "status-8.0.json"} {
		f.Add([]byte(rsFixture(f, n)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bson.Raw(b).Validate() != nil {
			return
		}
		st, err := DecodeReplStatus(b)
		if err != nil {
			return
		}
		_ = st.ApplyConfig(b)
		st.ApplyHello(&ReplHello{Hosts: []string{"x"}})
		v := &replView{Status: st}
		for _, m := range []string{"self", "all"} {
			if r, err := rsLagResult(v, m, rng("60"), rng("300"), nil); err == nil {
				plugin.Render("MONGODB", r)
			}
		}
		plugin.Render("MONGODB", rsStateResult(v))
	})
}

func FuzzDecodeOplogEntry(f *testing.F) {
	f.Add([]byte(rsFixture(f, "oplog-first.json")))
	f.Add([]byte(rsFixture(f, "oplog-empty.json")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bson.Raw(b).Validate() != nil {
			return
		}
		ts, ok, err := DecodeOplogEntry(b)
		if ok && (err != nil || ts.IsZero()) {
			t.Fatalf("ok with %v %v", ts, err)
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	f.Add([]byte(rsFixture(f, "hello-6.0.json")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bson.Raw(b).Validate() != nil {
			return
		}
		_, _ = DecodeHello(b)
	})
}
