package mongodb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

// rendered is the plugin output of a result, for table tests.
func rendered(r *plugin.Result) (string, plugin.State) { return plugin.Render("MONGODB", r) }

func TestReadVerdicts(t *testing.T) {
	unauth := mongo.CommandError{Code: 13, Name: "Unauthorized", Message: "command find requires authentication"}
	for _, tc := range []struct {
		name  string
		seen  readSeen
		user  string
		opts  Options
		state plugin.State
		text  string
	}{
		{"fast", readSeen{NS: "app.c", Found: true, Elapsed: 20 * time.Millisecond}, "", Options{}, plugin.OK, "db1:27017: canary read of app.c in 0.020 s | read_time=0.02s;1;3;0"},
		{"slow", readSeen{NS: "app.c", Found: true, Elapsed: 1500 * time.Millisecond}, "", Options{}, plugin.Warning, "canary read of app.c in 1.500 s"},
		{"thresholds", readSeen{NS: "app.c", Found: true, Elapsed: 1500 * time.Millisecond}, "", Options{Warning: rng("2"), Critical: rng("5")}, plugin.OK, "read_time=1.5s;2;5;0"},
		{"timed out", readSeen{NS: "app.c", TimedOut: true, Elapsed: 9 * time.Second}, "", Options{}, plugin.Critical, "canary read of app.c did not answer within 9.0 s"},
		{"no user", readSeen{NS: "app.c", Err: unauth}, "", Options{}, plugin.Critical, "refused ((Unauthorized) command find requires authentication): without a user: pass --user and a password"},
		{"user without the role", readSeen{NS: "app.c", Err: unauth}, "nagios", Options{}, plugin.Critical, "user nagios may not read it: grant the read role on the database"},
		{"other error", readSeen{NS: "app.c", Err: errors.New("boom")}, "", Options{}, plugin.Critical, "canary read of app.c failed: boom"},
		{"missing", readSeen{NS: "app.c", Missing: true}, "", Options{}, plugin.Critical, "collection app.c does not exist"},
		{"nothing matches", readSeen{NS: "app.c", Filter: `{"_id": 1}`}, "", Options{}, plugin.Critical, `found no document in app.c (looked for a document matching {"_id": 1})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, st := rendered(readResult(tc.seen, "db1:27017", tc.user, &tc.opts))
			if st != tc.state || !strings.Contains(out, tc.text) {
				t.Fatalf("%s %q, want %s with %q", st, out, tc.state, tc.text)
			}
		})
	}
}

func TestFieldValue(t *testing.T) {
	d := Doc{Name: "serverStatus", Raw: fixture(t, "serverstatus-6.0.json")}
	for _, tc := range []struct {
		path string
		want float64
		err  string
	}{
		{"connections.current", 700, ""},
		{"wiredTiger.cache.maximum bytes configured", 0, ""},
		{"connections.nope", 0, "server does not report serverStatus.connections.nope"},
		{"connections.current.x", 0, "serverStatus.connections.current.x (connections.current is of BSON type 32-bit integer)"},
		{"host", 0, "serverStatus.host as a number (it is a string)"},
		{"connections", 0, "serverStatus.connections as a number (it is a document)"},
	} {
		v, err := fieldValue(d, FieldPath(tc.path).Keys())
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.path, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.want != 0 && v != tc.want:
			t.Errorf("%s = %v, want %v", tc.path, v, tc.want)
		}
	}
	// A key that holds dots itself (transportSecurity's TLS versions).
	raw, _ := bson.Marshal(bson.D{{Key: "transportSecurity", Value: bson.D{{Key: "1.2", Value: int64(7)}, {Key: "1.3", Value: int64(40)}}}})
	if v, err := fieldValue(Doc{Name: "serverStatus", Raw: raw}, FieldPath("transportSecurity.1.3").Keys()); err != nil || v != 40 {
		t.Fatalf("transportSecurity.1.3 = %v, %v", v, err)
	}
}

func TestFieldResult(t *testing.T) {
	o := &Options{Warning: rng("10"), Critical: rng("20")}
	out, st := rendered(fieldResult("metrics.cursor.timedOut", 15, nil, "db1:27017", o))
	if st != plugin.Warning || !strings.Contains(out, "serverStatus metrics.cursor.timedOut = 15 | metrics_cursor_timedOut=15;10;20") {
		t.Fatalf("%s %q", st, out)
	}
	out, st = rendered(fieldResult("metrics.cursor.timedOut", 15, &state.Rates{PerSecond: map[string]float64{"value": 25}}, "db1:27017", o))
	if st != plugin.Critical || !strings.Contains(out, "rises by 25.00/s (now 15) | metrics_cursor_timedOut_rate=25;10;20") {
		t.Fatalf("%s %q", st, out)
	}
	out, st = rendered(fieldResult("x", 1, &state.Rates{Note: "collecting baseline"}, "db1:27017", o))
	if st != plugin.OK || !strings.Contains(out, "collecting baseline\n") || !unmeasured(out, "x_rate") {
		t.Fatalf("%s %q", st, out)
	}
	out, st = rendered(fieldResult("x", 1, &state.Rates{Err: errors.New("cannot create /nope")}, "db1:27017", o))
	if st != plugin.Unknown || !strings.Contains(out, "cannot create /nope") {
		t.Fatalf("%s %q", st, out)
	}
}

func TestCollectionsVerdicts(t *testing.T) {
	dbs := []dbSeen{
		{Name: "app", Views: 1, Indexes: map[string]int{"users": 61, "orders": 52, "small": 1}},
		{Name: "logs", Indexes: map[string]int{"events": 3}},
	}
	out, st := rendered(collectionsResult(dbs, 2, "db1:27017", &Options{}))
	if st != plugin.Critical {
		t.Fatalf("%s %q", st, out)
	}
	for _, want := range []string{
		"MONGODB CRITICAL - app.users has 61 indexes (a collection holds at most 64) - app.orders has 52 indexes",
		"max_indexes=61;50;60;0;64", "collections_app=3;;;0", "indexes_app=114;;;0", "collections_logs=1;;;0",
		"4 collections (and 1 views) in 2 databases, at most 61 indexes in one collection (app.users)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Counted only in part before the deadline: UNKNOWN next to what was seen.
	dbs[1].Uncounted = []string{"late"}
	out, st = rendered(collectionsResult(dbs[1:], 3, "db1:27017", &Options{}))
	if st != plugin.Unknown || !strings.Contains(out, "the indexes of 1 collections and 2 databases were not counted before the deadline") {
		t.Fatalf("%s %q", st, out)
	}
}

func TestConnectionsCountAndRate(t *testing.T) {
	ss := readDoc(t, "serverstatus-6.0.json", "serverStatus")
	for _, tc := range []struct {
		name  string
		o     Options
		rates *state.Rates
		state plugin.State
		text  string
	}{
		{"count within", Options{Warning: rng("95"), ModeOptions: ModeOptions{CountWarning: rng("800")}}, nil, plugin.OK, "connections_current=700;800;;0;838"},
		{"count above", Options{Warning: rng("95"), ModeOptions: ModeOptions{CountWarning: rng("600")}}, nil, plugin.Warning, "700 connections are open, in the WARNING range"},
		{"percent wins", Options{ModeOptions: ModeOptions{CountWarning: rng("600"), CountCritical: rng("1000")}}, nil, plugin.Warning, "(83.5%)"},
		{"rate pending", Options{Warning: rng("95"), ModeOptions: ModeOptions{RateWarning: rng("5")}}, &state.Rates{Note: "collecting baseline"}, plugin.OK, "connections created: collecting baseline"},
		{"rate", Options{Warning: rng("95"), ModeOptions: ModeOptions{RateWarning: rng("5"), RateCritical: rng("50")}}, &state.Rates{PerSecond: map[string]float64{"created": 75}}, plugin.Critical, "75.00 connections created per second"},
		{"state dir unusable", Options{Warning: rng("95"), ModeOptions: ModeOptions{RateCritical: rng("50")}}, &state.Rates{Err: errors.New("cannot create /x")}, plugin.Unknown, "connections created: cannot create /x"},
	} {
		r, err := connectionsResult(ss, "db1:27017", &tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if tc.rates != nil {
			creationRate(r, *tc.rates, &tc.o)
		}
		out, st := rendered(r)
		if st != tc.state || !strings.Contains(out, tc.text) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, st, out, tc.state, tc.text)
		}
	}
}

func TestReplicatedOpcounters(t *testing.T) {
	cur := map[string]float64{"apart.insert": 1, "apart.update": 1}
	var r plugin.Result
	apartResult(&r, opcounterSet, cur, state.Rates{PerSecond: map[string]float64{"apart.insert": 400, "apart.update": 20.5, "apart.query": 0}})
	out, st := rendered(&r)
	if st != plugin.OK || !strings.Contains(out, "replicated 420 operations/s (insert 400/s, query 0.00/s, update 20.50/s) | opcounters_repl_insert=400;;;0 opcounters_repl_query=0;;;0 opcounters_repl_update=20.5;;;0") {
		t.Fatalf("%s %q", st, out)
	}
	r = plugin.Result{}
	apartResult(&r, opcounterSet, cur, state.Rates{Note: "collecting baseline"})
	out, _ = rendered(&r)
	if !strings.Contains(out, "replicated operations (opcountersRepl): collecting baseline\n") || !unmeasured(out, "opcounters_repl_insert") || !unmeasured(out, "opcounters_repl_update") {
		t.Fatalf("%q", out)
	}
}
