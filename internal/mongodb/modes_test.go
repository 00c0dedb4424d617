package mongodb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/thresholds"
)

// fixture reads the document testdata/name.
func fixture(t testing.TB, name string) bson.Raw {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := ReadDocument(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw
}

func readDoc(t *testing.T, name, docName string) Doc {
	t.Helper()
	return Doc{Name: docName, Raw: fixture(t, name)}
}

func rng(s string) *thresholds.Range {
	r := thresholds.MustParse(s)
	return &r
}

func TestStatusModesOnFixtures(t *testing.T) {
	type fn func(Doc, string, *Options) (*plugin.Result, error)
	tests := []struct {
		name    string
		f       fn
		fixture string
		opts    Options
		state   plugin.State
		summary string // substring of the first line
		missing string // expected MissingError field
	}{
		{"connections-4.4", connectionsResult, "serverstatus-4.4.json", Options{}, plugin.OK, "12 of 838860 connections used (0.0%)", ""},
		{"connections-6.0", connectionsResult, "serverstatus-6.0.json", Options{}, plugin.Warning, "700 of 838 connections used (83.5%)", ""},
		{"connections-6.0-raised", connectionsResult, "serverstatus-6.0.json", Options{Warning: rng("85"), Critical: rng("95")}, plugin.OK, "83.5%", ""},
		{"connections-8.0", connectionsResult, "serverstatus-8.0.json", Options{}, plugin.Critical, "950 of 1000 connections used (95.0%)", ""},
		{"connections-ferretdb", connectionsResult, "serverstatus-ferretdb.json", Options{}, 0, "", "serverStatus.connections"},
		{"memory-4.4", memoryResult, "serverstatus-4.4.json", Options{}, plugin.OK, "resident memory 1536 MiB (virtual 3250 MiB)", ""},
		{"memory-8.0-thresholds", memoryResult, "serverstatus-8.0.json", Options{Warning: rng("8192"), Critical: rng("16384")}, plugin.Warning, "resident memory 15872 MiB", ""},
		{"memory-ferretdb", memoryResult, "serverstatus-ferretdb.json", Options{}, 0, "", "serverStatus.mem"},
		{"wiredtiger-4.4", wiredTigerResult, "serverstatus-4.4.json", Options{}, plugin.OK, "WiredTiger cache 50.0% used", ""},
		{"wiredtiger-6.0", wiredTigerResult, "serverstatus-6.0.json", Options{}, plugin.Warning, "WiredTiger cache 96.0% used", ""},
		{"wiredtiger-8.0", wiredTigerResult, "serverstatus-8.0.json", Options{}, plugin.Warning, "dirty 15.0%", ""},
		{"wiredtiger-inmemory", wiredTigerResult, "serverstatus-inmemory.json", Options{}, 0, "", "serverStatus.wiredTiger"},
		{"wiredtiger-ferretdb", wiredTigerResult, "serverstatus-ferretdb.json", Options{}, 0, "", "serverStatus.wiredTiger"},
		{"queues-4.4", queuesResult, "serverstatus-4.4.json", Options{}, plugin.OK, "0 readers and 0 writers queued", ""},
		{"queues-6.0", queuesResult, "serverstatus-6.0.json", Options{}, plugin.Warning, "14 readers and 3 writers queued", ""},
		{"queues-ferretdb", queuesResult, "serverstatus-ferretdb.json", Options{}, 0, "", "serverStatus.globalLock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := readDoc(t, tc.fixture, "serverStatus")
			r, err := tc.f(ss, "db1:27017", &tc.opts)
			if tc.missing != "" {
				var me *MissingError
				if !errors.As(err, &me) {
					t.Fatalf("got %v, %v; want a MissingError", r, err)
				}
				if !strings.HasPrefix(err.Error(), "server does not report "+tc.missing) {
					t.Fatalf("error %q, want it to name %s", err, tc.missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("MONGODB", r)
			if st != tc.state {
				t.Errorf("state %v, want %v:\n%s", st, tc.state, out)
			}
			if first, _, _ := strings.Cut(out, "\n"); !strings.Contains(first, tc.summary) || !strings.Contains(first, "db1:27017") {
				t.Errorf("first line %q lacks %q or the host", first, tc.summary)
			}
			testenv.Golden(t, tc.name+".txt", out)
		})
	}
}

func TestSizeModesOnFixtures(t *testing.T) {
	for _, v := range []string{"4.4", "6.0", "8.0"} {
		d := readDoc(t, "dbstats-"+v+".json", "dbStats")
		r, err := databaseSizeResult(d, "db1:27017", &Options{Database: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		out, st := plugin.Render("MONGODB", r)
		if st != plugin.OK || !strings.Contains(out, "db_disk_size=500658176B;;;0") || !strings.Contains(out, "db_collections=12;;;0") {
			t.Errorf("dbStats %s without thresholds: %v\n%s", v, st, out)
		}
		testenv.Golden(t, "database-size-"+v+".txt", out)

		r, err = databaseSizeResult(d, "db1:27017", &Options{Database: "shop", Warning: rng("400000000"), Critical: rng("600000000")})
		if err != nil {
			t.Fatal(err)
		}
		if _, st := plugin.Render("MONGODB", r); st != plugin.Warning {
			t.Errorf("dbStats %s above -w: %v, want WARNING", v, st)
		}
		r, err = indexSizeResult(d, "db1:27017", &Options{Database: "shop", Critical: rng("50000000")}, "indexSize", "shop")
		if err != nil {
			t.Fatal(err)
		}
		if out, st := plugin.Render("MONGODB", r); st != plugin.Critical || !strings.Contains(out, "index_size=88342528B;;50000000;0 indexes=30;;;0") {
			t.Errorf("index-size %s: %v\n%s", v, st, out)
		}
	}
	c := readDoc(t, "collstats-6.0.json", "collStats")
	r, err := collectionSizeResult(c, "db1:27017", &Options{Database: "shop", Collection: "orders", Critical: rng("100000000")})
	if err != nil {
		t.Fatal(err)
	}
	out, st := plugin.Render("MONGODB", r)
	if st != plugin.Critical {
		t.Errorf("collection-size: %v, want CRITICAL\n%s", st, out)
	}
	testenv.Golden(t, "collection-size-6.0"+".txt", out)
	if _, err := databaseSizeResult(readDoc(t, "serverstatus-ferretdb.json", "dbStats"), "x", &Options{}); err == nil || !strings.Contains(err.Error(), "server does not report dbStats.dataSize") {
		t.Errorf("dbStats without dataSize: %v", err)
	}
}

func TestRatesOnFixtures(t *testing.T) {
	prevDoc := readDoc(t, "serverstatus-6.0.json", "serverStatus")
	curDoc := readDoc(t, "serverstatus-6.0-later.json", "serverStatus")
	for _, cs := range []counterSet{opcounterSet, assertSet} {
		prev, err := cs.counters(prevDoc)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := cs.counters(curDoc)
		if err != nil {
			t.Fatal(err)
		}
		rates := map[string]float64{uptimeKey: 1} // sampled, never reported
		for k, v := range cur {
			rates[k] = (v - prev[k]) / 60
		}
		o := &Options{Warning: rng("100"), Critical: rng("1000")}
		out, st := plugin.Render("MONGODB", rateResult(cs, "db1:27017", cur, state.Rates{PerSecond: rates}, o))
		testenv.Golden(t, "rates-"+cs.section+".txt", out)
		want := map[string]plugin.State{"opcounters": plugin.Warning, "asserts": plugin.OK}[cs.section]
		if st != want {
			t.Errorf("%s: %v, want %v\n%s", cs.section, st, want, out)
		}
		out, st = plugin.Render("MONGODB", rateResult(cs, "db1:27017", cur, state.Rates{Note: "collecting baseline"}, o))
		if st != plugin.OK || !strings.Contains(out, "collecting baseline") || !unmeasured(out, cs.section+"_alerting") {
			t.Errorf("%s baseline: %v\n%s", cs.section, st, out)
		}
		// An unusable --state-dir: UNKNOWN with the reason, the rates left
		// out of the perfdata.
		out, st = plugin.Render("MONGODB", rateResult(cs, "db1:27017", cur, state.Rates{Err: errors.New("cannot create state directory /x: permission denied")}, o))
		if st != plugin.Unknown || !strings.Contains(out, "MONGODB UNKNOWN - db1:27017: "+cs.section+": cannot create state directory /x") || !unmeasured(out, cs.section+"_alerting") {
			t.Errorf("%s unusable state dir: %v\n%s", cs.section, st, out)
		}
	}
	if _, err := opcounterSet.counters(readDoc(t, "serverstatus-ferretdb.json", "serverStatus")); err == nil || err.Error() != "server does not report serverStatus.opcounters" {
		t.Errorf("opcounters on FerretDB: %v", err)
	}
}

func TestConnectResult(t *testing.T) {
	tests := []struct {
		secs float64
		o    Options
		want plugin.State
	}{
		{0.004, Options{}, plugin.OK},
		{1.5, Options{}, plugin.Warning},
		{3.5, Options{}, plugin.Critical},
		{0.2, Options{Warning: rng("0.1"), Critical: rng("0.5")}, plugin.Warning},
	}
	for _, tc := range tests {
		out, st := plugin.Render("MONGODB", connectResult("h:1", tc.secs, &tc.o))
		if st != tc.want {
			t.Errorf("%v s: %v, want %v\n%s", tc.secs, st, tc.want, out)
		}
	}
}

// unmeasured reports whether out leaves label out of its perfdata and names
// it as not measured (the runtime's policy instead of 'U').
func unmeasured(out, label string) bool {
	first, _, _ := strings.Cut(out, "\n")
	return !strings.Contains(first, label+"=") && strings.Contains(out, "left out of the perfdata: ") && strings.Contains(out, label)
}
