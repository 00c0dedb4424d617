package mongodb_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// TestConsumers shows check_mongodb's outputs to the real Icinga 2,
// Graphite writer and Nagios 4 (testenv.AssertConsumers): the binary
// against a simulated replica set (lag in seconds and in percent of the
// oplog window, a member without a measurable lag, the set's state, the
// oplog window) in every state, against a simulated sharded cluster (shards, balancer, chunk-balance,
// jumbo-chunks), against FerretDB (the read,
// server-status, collections and database-size modes), and every golden
// output of the status,
// size, rate and startup-warning modes (the runtime's renders of the
// documents real servers return, testdata/golden).
func TestConsumers(t *testing.T) {
	testenv.Require(t, "icinga2", "nagios4")
	var samples testenv.Samples

	healthy := mongosim.Start(t, rsThree(2*time.Second, 0))
	samples.Add(t, "lag_ok", 0, rsRun(t, nil, "--uri", healthy.URI(), "--mode", "replication-lag"))
	samples.Add(t, "lag_percent_ok", 0, rsRun(t, nil, "--uri", healthy.URI(), "--mode", "replication-lag-percent"))
	samples.Add(t, "state_ok", 0, rsRun(t, nil, "--uri", healthy.URI(), "--mode", "replset-state"))
	samples.Add(t, "oplog_ok", 0, rsRun(t, nil, "--uri", healthy.URI(), "--mode", "oplog-window"))
	samples.Add(t, "connect_ok", 0, rsRun(t, nil, "--uri", healthy.URI(), "--mode", "connect"))

	sc := rsThree(120*time.Second, 0)
	sc.Members[2].State = mongosim.Recovering
	sc.Members[0].OplogWindow = 10 * time.Hour
	behind := mongosim.Start(t, sc)
	samples.Add(t, "lag_critical_unmeasured", 2, rsRun(t, nil, "--uri", behind.URI(), "--mode", "replication-lag", "-w", "30", "-c", "100"))
	samples.Add(t, "lag_warning", 1, rsRun(t, nil, "--uri", behind.URI(), "--mode", "replication-lag", "-w", "30", "-c", "1000"))
	samples.Add(t, "state_warning", 1, rsRun(t, nil, "--uri", behind.URI(), "--mode", "replset-state"))
	samples.Add(t, "oplog_warning", 1, rsRun(t, nil, "--uri", behind.URI(), "--mode", "oplog-window"))

	sc = rsThree(0, 0)
	sc.Members[0].Unreachable = true
	sc.Members[1].Unreachable = true
	lost := mongosim.Start(t, sc)
	samples.Add(t, "state_critical", 2, rsRun(t, nil, "--uri", lost.URI(), "--mode", "replset-state"))
	samples.Add(t, "unknown", 3, rsRun(t, nil, "--uri", lost.URI(), "--mode", "replication-lag", "-w", "abc"))

	// A sharded cluster through its mongos: shards, balancer, chunks.
	c := mongosim.StartCluster(t, cluster("8.0"))
	for _, mode := range []string{"shards", "balancer", "chunk-balance", "jumbo-chunks"} {
		r := rsRun(t, nil, "--uri", c.URI(), "--mode", mode)
		samples = append(samples, testenv.Sample{Name: "cluster_" + strings.ReplaceAll(mode, "-", "_"), Run: r})
	}

	// Collections whose names differ only by case or by '.' against '-':
	// the consumers keep their labels apart as the check writes them.
	look := mongosim.StartCluster(t, lookalikes())
	samples.Add(t, "cluster_lookalike_collections", 0, rsRun(t, nil, "--uri", look.URI(), "--mode", "chunk-balance", "-w", "90"))

	// Modes that read data, on FerretDB.
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	mustInsert(t, ferretClient(t, f, "", ""), "app", "canary", bson.D{{Key: "_id", Value: "canary"}})
	on := []string{"-H", "127.0.0.1", "-P", strconv.Itoa(f.Port)}
	stateDir := t.TempDir()
	for _, tc := range []struct {
		name string
		code int
		args []string
	}{
		{"read_ok", 0, []string{"--mode", "read", "--database", "app", "--collection", "canary"}},
		{"read_critical", 2, []string{"--mode", "read", "--database", "app", "--collection", "missing"}},
		{"field_ok", 0, []string{"--mode", "server-status", "--field", "catalogStats.collections", "-w", "100"}},
		{"field_rate_baseline", 0, []string{"--mode", "server-status", "--field", "uptime", "--rate", "--state-dir", stateDir}},
		{"collections_ok", 0, []string{"--mode", "collections"}},
		{"database_size_ok", 0, []string{"--mode", "database-size", "--database", "app"}},
	} {
		samples.Add(t, tc.name, tc.code, rsRun(t, nil, append(on, tc.args...)...))
	}

	goldens, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.txt"))
	if len(goldens) == 0 {
		t.Fatal("no golden outputs in testdata/golden")
	}
	codes := map[string]int{"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		r := testenv.Run{Stdout: string(b)}
		r.Code = codes[strings.Fields(r.FirstLine() + " x x")[1]]
		testenv.AssertContract(t, "MONGODB", r)
		name := strings.NewReplacer("-", "_", ".", "_").Replace(strings.TrimSuffix(filepath.Base(g), ".txt"))
		samples = append(samples, testenv.Sample{Name: "golden_" + name, Run: r})
	}
	testenv.AssertConsumers(t, samples...)
}
