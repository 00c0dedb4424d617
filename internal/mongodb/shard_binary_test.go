package mongodb_test

import (
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// These tests run the built check against a simulated mongos
// (mongosim.Cluster): the config database in the shapes of each server
// version, every shard a simulated replica set of its own.

// cluster is three shards (the third draining) and two sharded
// collections: app.users 6/3/1 chunks (one jumbo on shard01), app.logs
// 4/4/0, excluded from balancing.
func cluster(version string) mongosim.ClusterScenario {
	return mongosim.ClusterScenario{
		Version: version,
		Shards:  []mongosim.Shard{{}, {}, {Draining: true}},
		Collections: []mongosim.ShardedCollection{
			{NS: "app.users", Chunks: map[string]int{"shard01": 6, "shard02": 3, "shard03": 1}, Jumbo: map[string]int{"shard01": 1}},
			{NS: "app.logs", Chunks: map[string]int{"shard01": 4, "shard02": 4}, NoBalance: true},
		},
		Balancer: mongosim.BalancerScript{Rounds: 1234},
		Rounds: []mongosim.BalancerRound{
			{Err: "Could not find host matching read preference { mode: \"primary\" } for set shard02", Ago: time.Minute},
			{Moved: 2, Ago: 2 * time.Minute},
		},
	}
}

func perf(t *testing.T, r testenv.Run, label string) float64 {
	t.Helper()
	return testenv.PerfValue(t, r, label)
}

func TestShardsMode(t *testing.T) {
	t.Run("all answer, one draining", func(t *testing.T) {
		c := mongosim.StartCluster(t, cluster("8.0"))
		r := rsRun(t, nil, "--uri", c.URI(), "--mode", "shards")
		rsWant(t, r, 0, "MONGODB OK - shard shard03 is draining - "+c.Addr()+": 3 of 3 shards answer")
		for label, want := range map[string]float64{"shards": 3, "shards_answering": 3, "shards_draining": 1} {
			if v := perf(t, r, label); v != want {
				t.Errorf("%s = %v, want %v", label, v, want)
			}
		}
		// No mode writes: the mongos saw no write command.
		for _, mode := range []string{"balancer", "chunk-balance", "jumbo-chunks"} {
			rsRun(t, nil, "--uri", c.URI(), "--mode", mode)
		}
		for _, cmd := range []string{"insert", "update", "delete", "findAndModify", "create", "createIndexes", "drop"} {
			if n := c.Commands(cmd); n != 0 {
				t.Errorf("the mongos received %d %s commands", n, cmd)
			}
		}
		if c.Commands("listShards") == 0 || c.Commands("aggregate") == 0 {
			t.Error("the command counts do not count")
		}
	})
	t.Run("unreachable, no primary, hanging", func(t *testing.T) {
		sc := cluster("6.0")
		down := mongosim.Member{State: mongosim.Secondary, Unreachable: true}
		sc.Shards = []mongosim.Shard{
			{},
			{Members: []mongosim.Member{down, down}},
			{Members: []mongosim.Member{{State: mongosim.Secondary}, {State: mongosim.Secondary}}},
			{Members: []mongosim.Member{{State: mongosim.Primary, Hang: true}}},
		}
		c := mongosim.StartCluster(t, sc)
		start := time.Now()
		r := rsRun(t, nil, "--uri", c.URI(), "--mode", "shards", "-t", "5")
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("answered after %s, -t 5", el)
		}
		rsWant(t, r, 2, "MONGODB CRITICAL - shard shard02 unreachable: ", "shard shard03 has no primary", "shard shard04 did not answer within ", "1 of 4 shards answer")
		if v := perf(t, r, "shards_answering"); v != 1 {
			t.Errorf("shards_answering %v", v)
		}
	})
	t.Run("credentials go to the mongos only", func(t *testing.T) {
		const pw = "Cluster-S3cret"
		sc := cluster("7.0")
		sc.Users = map[string]string{"nagios": pw}
		c := mongosim.StartCluster(t, sc)
		// The shards know no user: were the check to authenticate there,
		// they would refuse it.
		r := rsRun(t, []string{"MONGODB_PASSWORD=" + pw}, "--uri", c.URI(), "-u", "nagios", "--mode", "shards", "-vv")
		rsWant(t, r, 0, "3 of 3 shards answer")
		rsLacks(t, r, pw)
		r = rsRun(t, nil, "--uri", c.URI(), "--mode", "shards")
		rsWant(t, r, 3, "refused listShards (", "pass --user and a password of a user with the clusterMonitor role")
	})
	t.Run("not a mongos", func(t *testing.T) {
		set := mongosim.Start(t, rsThree(0, 0))
		for _, mode := range []string{"shards", "balancer", "chunk-balance", "jumbo-chunks"} {
			r := rsRun(t, nil, "--uri", set.DirectURI(0), "--mode", mode)
			rsWant(t, r, 3, set.Addr(0)+" is not a mongos (hello has no msg \"isdbgrid\")")
		}
	})
	t.Run("config servers that do not answer", func(t *testing.T) {
		sc := cluster("8.0")
		sc.Stall = []string{"listShards", "balancerStatus", "aggregate"}
		c := mongosim.StartCluster(t, sc)
		// The timeout names the command and the server it waited for,
		// with where to look, and comes before -t (the runtime's
		// watchdog answered "without an answer" while the check was
		// still disconnecting).
		for mode, cmd := range map[string]string{"shards": "listShards", "balancer": "balancerStatus", "chunk-balance": "listShards"} {
			r := rsRun(t, nil, "--uri", c.URI(), "--mode", mode, "-t", "2")
			rsWant(t, r, 3, "MONGODB UNKNOWN - timed out after 2s while waiting for "+c.Addr()+" to answer "+cmd+", which a mongos answers from its config servers and shards: check that the config server replica set and each shard have a primary (--mode replset-state against them)")
			rsLacks(t, r, "without an answer", "context deadline exceeded")
			if r.Elapsed > 2*time.Second {
				t.Errorf("%s answered after %v, -t 2", mode, r.Elapsed)
			}
		}
	})
}

func TestBalancerMode(t *testing.T) {
	for _, v := range mongosim.Versions() {
		t.Run(v, func(t *testing.T) {
			c := mongosim.StartCluster(t, cluster(v))
			r := rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer")
			// Both spellings of the round's failure flag are read
			// (errorOccured until 4.4, errorOccurred from 5.0).
			rsWant(t, r, 1, "MONGODB WARNING - 1 collections excluded from balancing (noBalance): app.logs - the last balancer round failed (",
				"): Could not find host matching read preference", c.Addr()+": balancer enabled")
			for label, want := range map[string]float64{"balancer_enabled": 1, "balancer_rounds": 1234, "balancer_rounds_failed": 1, "collections_nobalance": 1} {
				if got := perf(t, r, label); got != want {
					t.Errorf("%s = %v, want %v", label, got, want)
				}
			}
		})
	}
	sc := cluster("8.0")
	sc.Balancer = mongosim.BalancerScript{Mode: "off", Window: [2]string{"23:00", "06:00"}}
	sc.Collections[1].NoBalance = false
	sc.Rounds = []mongosim.BalancerRound{{Ago: time.Hour}}
	c := mongosim.StartCluster(t, sc)
	r := rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer")
	rsWant(t, r, 2, "MONGODB CRITICAL - "+c.Addr()+": balancer is disabled (mode off)", "sh.startBalancer()")
	if got := perf(t, r, "balancer_enabled"); got != 0 {
		t.Errorf("balancer_enabled %v", got)
	}
	r = rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer", "--balancer-off", "warning")
	rsWant(t, r, 1, "MONGODB WARNING - "+c.Addr()+": balancer is disabled")
	r = rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer", "--balancer-off", "OK")
	rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": balancer is disabled")

	sc.Balancer.Mode = "full"
	c = mongosim.StartCluster(t, sc)
	r = rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer")
	rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": balancer enabled", "it balances only between 23:00 and 06:00")

	r = testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "shards", "--balancer-off", "ok")
	rsWant(t, r, 3, "MONGODB UNKNOWN - --balancer-off applies only to --mode balancer, not shards")
	r = testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "balancer", "--balancer-off", "sometimes")
	rsWant(t, r, 3, `MONGODB UNKNOWN - invalid --balancer-off "sometimes": expected ok, warning or critical`)
}

func TestChunkBalanceMode(t *testing.T) {
	for _, v := range mongosim.Versions() {
		t.Run(v, func(t *testing.T) {
			c := mongosim.StartCluster(t, cluster(v))
			// app.users: 6 and 3 on the shards that take chunks (shard03
			// drains): (6-3)/6 = 50 %. app.logs 4/4: 0 %.
			r := rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance", "-w", "30", "-c", "60")
			rsWant(t, r, 1, "MONGODB WARNING - app.users: chunks shard01 6, shard02 3, shard03 1, imbalance 50%",
				c.Addr()+": 2 sharded collections on 3 shards, largest imbalance 50% (app.users)")
			for label, want := range map[string]float64{
				"imbalance_app_users": 50, "chunks_app_users_shard01": 6, "chunks_app_users_shard02": 3, "chunks_app_users_shard03": 1,
				"imbalance_app_logs": 0, "chunks_app_logs_shard01": 4, "chunks_app_logs_shard02": 4, "chunks_app_logs_shard03": 0,
			} {
				if got := perf(t, r, label); got != want {
					t.Errorf("%s = %v, want %v", label, got, want)
				}
			}
			r = rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance", "--database", "app", "--collection", "logs", "-w", "30")
			rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": 1 sharded collections on 3 shards, largest imbalance 0% (app.logs)")
			rsLacks(t, r, "app_users")
		})
	}
	c := mongosim.StartCluster(t, cluster("8.0"))
	r := rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance", "--database", "app", "--collection", "nope")
	rsWant(t, r, 3, "config.collections lists no sharded collection app.nope")
	r = testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "chunk-balance", "--collection", "users")
	rsWant(t, r, 3, "MONGODB UNKNOWN - --mode chunk-balance: --collection needs --database")
}

func TestJumboChunksMode(t *testing.T) {
	for _, v := range []string{"4.4", "8.0"} {
		c := mongosim.StartCluster(t, cluster(v))
		r := rsRun(t, nil, "--uri", c.URI(), "--mode", "jumbo-chunks")
		rsWant(t, r, 1, "MONGODB WARNING - "+c.Addr()+": 1 jumbo chunks in 2 sharded collections: app.users 1", "clearJumboFlag")
		for label, want := range map[string]float64{"jumbo_chunks": 1, "jumbo_app_users": 1, "jumbo_app_logs": 0} {
			if got := perf(t, r, label); got != want {
				t.Errorf("%s %s = %v, want %v", v, label, got, want)
			}
		}
		r = rsRun(t, nil, "--uri", c.URI(), "--mode", "jumbo-chunks", "--database", "app", "--collection", "logs")
		rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": 0 jumbo chunks in 1 sharded collections")
	}
}

// lookalikes are sharded collections whose names the first label
// writing could not tell apart: by case, '.' against '-', '_' inside a
// name against the '_' between parts.
func lookalikes() mongosim.ClusterScenario {
	return mongosim.ClusterScenario{
		Shards: []mongosim.Shard{{Name: "rs_a"}, {Name: "rs-a"}},
		Collections: []mongosim.ShardedCollection{
			{NS: "app.users", Chunks: map[string]int{"rs_a": 1, "rs-a": 1}},
			{NS: "app.Users", Chunks: map[string]int{"rs_a": 2, "rs-a": 1}, Jumbo: map[string]int{"rs_a": 1}},
			{NS: "app.a.b", Chunks: map[string]int{"rs_a": 3, "rs-a": 1}},
			{NS: "app.a-b", Chunks: map[string]int{"rs_a": 4, "rs-a": 1}, Jumbo: map[string]int{"rs-a": 1}},
			{NS: "app.user_events", Chunks: map[string]int{"rs_a": 5, "rs-a": 1}},
		},
	}
}

// TestLookalikeCollections: collections whose names differ only by case
// or by '.' against '-' (app.users and app.Users, app.a.b and app.a-b),
// and shards rs_a and rs-a, each get perfdata labels of their own in
// chunk-balance and jumbo-chunks (the first writing gave them one and
// the run ended UNKNOWN "duplicate perfdata label"), the same labels
// run after run.
func TestLookalikeCollections(t *testing.T) {
	c := mongosim.StartCluster(t, lookalikes())
	r := rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance", "-w", "90")
	rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": 5 sharded collections on 2 shards")
	shards := []string{"rs_a", "rs-a"}
	for ns, chunks := range map[string][2]float64{
		"app.users": {1, 1}, "app.Users": {2, 1}, "app.a.b": {3, 1}, "app.a-b": {4, 1}, "app.user_events": {5, 1},
	} {
		for i, shard := range shards {
			label := plugin.Label("chunks", append(plugin.Split(ns, "."), shard)...)
			if got := perf(t, r, label); got != chunks[i] {
				t.Errorf("%s on %s (%s) = %v, want %v", ns, shard, label, got, chunks[i])
			}
		}
		want := (chunks[0] - chunks[1]) / chunks[0] * 100
		if got := perf(t, r, plugin.Label("imbalance", plugin.Split(ns, ".")...)); math.Abs(got-want) > 0.01 {
			t.Errorf("imbalance of %s = %v, want %v", ns, got, want)
		}
	}
	for _, label := range []string{"chunks_app_users_rs-a", "chunks_app_Users_rs-a", "chunks_app_a_b_rs-a", "chunks_app_a-b_rs-a", "imbalance_app_Users"} {
		perf(t, r, label)
	}
	again := rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance", "-w", "90")
	if a, b := testenv.Printed(t, r), testenv.Printed(t, again); !reflect.DeepEqual(a, b) {
		t.Errorf("labels changed between runs:\n%v\n%v", a, b)
	}

	r = rsRun(t, nil, "--uri", c.URI(), "--mode", "jumbo-chunks")
	rsWant(t, r, 1, "MONGODB WARNING - "+c.Addr()+": 2 jumbo chunks in 5 sharded collections")
	for ns, want := range map[string]float64{"app.users": 0, "app.Users": 1, "app.a.b": 0, "app.a-b": 1, "app.user_events": 0} {
		if got := perf(t, r, plugin.Label("jumbo", plugin.Split(ns, ".")...)); got != want {
			t.Errorf("jumbo chunks of %s = %v, want %v", ns, got, want)
		}
	}
}

// mongoshChunks reads the chunk counts sh.status() prints per collection
// (chunkMetadata: [ { shard: 'shard01', nChunks: 6 }, ... ]).
var (
	mongoshColl  = regexp.MustCompile(`'([a-z]+\.[a-z]+)': \{`)
	mongoshChunk = regexp.MustCompile(`\{ shard: '([^']+)', nChunks: (\d+) \}`)
	mongoshFails = regexp.MustCompile(`'Failed balancer rounds in last 5 attempts': (\d+)`)
)

// MongoDB's own shell against the same simulated cluster: the chunk
// counts sh.status() prints for every collection and shard equal the
// check's perfdata, on every version mongosh 2.12.0 can talk to (4.4 to
// 8.0; its driver refuses 4.2's wire version 8).
func TestShardedMongoshCrossCheck(t *testing.T) {
	for _, v := range mongosim.Versions()[1:] {
		t.Run(v, func(t *testing.T) {
			c := mongosim.StartCluster(t, cluster(v))
			out, err := testenv.RunMongosh(t, c.URI(), `print(sh.status()); print("END");`)
			if err != nil || !strings.Contains(out, "END") || strings.Contains(out, "Error") {
				t.Fatalf("mongosh sh.status() failed (%v):\n%s", err, out)
			}
			r := rsRun(t, nil, "--uri", c.URI(), "--mode", "chunk-balance")
			blocks := mongoshColl.FindAllStringSubmatchIndex(out, -1)
			if len(blocks) != 2 {
				t.Fatalf("mongosh printed %d collections:\n%s", len(blocks), out)
			}
			for i, b := range blocks {
				end := len(out)
				if i+1 < len(blocks) {
					end = blocks[i+1][0]
				}
				ns := out[b[2]:b[3]]
				seen := 0
				for _, m := range mongoshChunk.FindAllStringSubmatch(out[b[1]:end], -1) {
					n, _ := strconv.Atoi(m[2])
					label := plugin.Label("chunks", append(plugin.Split(ns, "."), m[1])...)
					if got := perf(t, r, label); got != float64(n) {
						t.Errorf("%s on %s: mongosh prints %d chunks, the check %v (%s)", ns, m[1], n, got, label)
					}
					seen++
				}
				if seen == 0 {
					t.Errorf("mongosh printed no chunk counts for %s:\n%s", ns, out)
				}
			}
			// The last round failed. mongosh 2.12.0 counts failed rounds
			// by details.errorOccured, the field name of 4.4 and before;
			// from 5.0 the server writes errorOccurred and mongosh counts
			// none (its bug, not ours: the check reads both names).
			r = rsRun(t, nil, "--uri", c.URI(), "--mode", "balancer")
			m := mongoshFails.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("mongosh printed no failed rounds:\n%s", out)
			}
			want := "1"
			if v != "4.4" {
				want = "0"
			}
			if m[1] != want || perf(t, r, "balancer_rounds_failed") != 1 {
				t.Errorf("failed rounds: mongosh %s (want %s), check %v", m[1], want, perf(t, r, "balancer_rounds_failed"))
			}
		})
	}
}

// The canary read through a mongos, and a read that never answers: it is
// CRITICAL, named, before -t.
func TestReadThroughMongos(t *testing.T) {
	c := mongosim.StartCluster(t, cluster("8.0"))
	r := rsRun(t, nil, "--uri", c.URI(), "--mode", "read", "--database", "config", "--collection", "shards", "--filter", `{"_id": "shard02"}`, "-w", "8", "-c", "9")
	rsWant(t, r, 0, "MONGODB OK - "+c.Addr()+": canary read of config.shards in ")

	sc := cluster("8.0")
	sc.Stall = []string{"find"}
	c = mongosim.StartCluster(t, sc)
	start := time.Now()
	r = rsRun(t, nil, "--uri", c.URI(), "--mode", "read", "--database", "config", "--collection", "shards", "-t", "3")
	rsWant(t, r, 2, "MONGODB CRITICAL - "+c.Addr()+": canary read of config.shards did not answer within ")
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("answered after %s, -t 3", el)
	}
}
