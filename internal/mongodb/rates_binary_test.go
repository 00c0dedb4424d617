package mongodb_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// statusFixture reads a serverStatus fixture as a document to serve.
func statusFixture(t *testing.T, name string) bson.D {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := mongodb.ReadDocument(f)
	if err != nil {
		t.Fatal(err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// growing serves a serverStatus fixture whose counters grow by step on
// every request (uptime by a second), as a busy server's do.
type growing struct {
	mu   sync.Mutex
	doc  bson.D
	step map[string]int64 // "section.key" -> increment per request
}

func (g *growing) next() bson.D {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, e := range g.doc {
		switch v := e.Value.(type) {
		case bson.D:
			for j, f := range v {
				if inc, ok := g.step[e.Key+"."+f.Key]; ok {
					switch n := f.Value.(type) {
					case int64:
						v[j].Value = n + inc
					case int32:
						v[j].Value = n + int32(inc)
					}
				}
			}
		case float64:
			if e.Key == "uptime" {
				g.doc[i].Value = v + 1
			}
		}
	}
	return append(bson.D(nil), g.doc...)
}

// opcounters on a secondary reports what it replicates (opcountersRepl)
// apart from its clients' operations; on the primary it does not.
func TestOpcountersReplicatedOnSecondary(t *testing.T) {
	sec := &growing{doc: statusFixture(t, "serverstatus-6.0-secondary.json"),
		step: map[string]int64{"opcounters.query": 10, "opcountersRepl.insert": 400, "opcountersRepl.update": 100}}
	prim := &growing{doc: statusFixture(t, "serverstatus-6.0.json"), step: map[string]int64{"opcounters.insert": 500}}
	sc := rsThree(0, 0)
	sc.Status = func(i int) bson.D {
		if i == 0 {
			return prim.next()
		}
		return sec.next()
	}
	set := mongosim.Start(t, sc)
	dir := t.TempDir()
	run := func(member int) testenv.Run {
		return rsRun(t, nil, "--uri", set.DirectURI(member), "--mode", "opcounters", "--state-dir", dir)
	}
	rsWant(t, run(1), 0, "collecting baseline", "replicated operations (opcountersRepl): collecting baseline")
	run(0)
	time.Sleep(1100 * time.Millisecond)
	r := run(1)
	rsWant(t, r, 0, set.Addr(1)+": ", " operations/s (insert 0.00/s, query ", "replicated ", " operations/s (insert ")
	// 400 inserts per request over a little more than a second.
	if v := testenv.PerfValue(t, r, "opcounters_repl_insert"); v < 150 || v > 400 {
		t.Errorf("replicated inserts %v/s", v)
	}
	if v := testenv.PerfValue(t, r, "opcounters_repl_update"); v < 35 || v > 100 {
		t.Errorf("replicated updates %v/s", v)
	}
	if v := testenv.PerfValue(t, r, "opcounters_insert"); v != 0 {
		t.Errorf("client inserts on the secondary %v/s", v)
	}
	r = run(0)
	rsLacks(t, r, "replicated", "opcounters_repl_")
	if v := testenv.PerfValue(t, r, "opcounters_insert"); v < 150 || v > 500 {
		t.Errorf("inserts on the primary %v/s", v)
	}
}

// connections: the creation rate (connections.totalCreated per second,
// through the state file) and the absolute count next to the percentage.
func TestConnectionsRateAndCount(t *testing.T) {
	g := &growing{doc: statusFixture(t, "serverstatus-6.0.json"), step: map[string]int64{"connections.totalCreated": 60}}
	sc := rsThree(0, 0)
	sc.Status = func(int) bson.D { return g.next() }
	set := mongosim.Start(t, sc)
	dir := t.TempDir()
	args := []string{"--uri", set.DirectURI(0), "--mode", "connections", "-w", "95", "-c", "99", "--state-dir", dir, "--rate-warning", "10", "--rate-critical", "100"}
	r := rsRun(t, nil, args...)
	rsWant(t, r, 0, "700 of 838 connections used (83.5%)", "connections created: collecting baseline", "not measured in this run, so left out of the perfdata: connections_created_rate")
	time.Sleep(1100 * time.Millisecond)
	r = rsRun(t, nil, args...)
	rsWant(t, r, 1, "MONGODB WARNING - ", " connections created per second")
	if v := testenv.PerfValue(t, r, "connections_created_rate"); v < 20 || v > 60 {
		t.Errorf("creation rate %v/s, want about 60 per run over a second", v)
	}
	// 700 open connections: critical above 500 whatever the percentage.
	r = rsRun(t, nil, "--uri", set.DirectURI(0), "--mode", "connections", "-w", "95", "-c", "99", "--count-warning", "400", "--count-critical", "500")
	rsWant(t, r, 2, "MONGODB CRITICAL - "+set.Addr(0)+": 700 of 838 connections used (83.5%)", "700 connections are open, in the CRITICAL range", ";400;500;0;838")
	rsLacks(t, r, "connections_created_rate")
}
