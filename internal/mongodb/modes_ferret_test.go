package mongodb_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// These tests run the built check against a real FerretDB: the test
// writes its data through the driver first; the check only reads.

// ferretClient connects the test itself to f (as user, when given).
func ferretClient(t *testing.T, f *testenv.FerretDB, user, password string) *mongo.Client {
	t.Helper()
	o := options.Client().ApplyURI("mongodb://" + f.Addr + "/?directConnection=true").SetTimeout(20 * time.Second)
	if user != "" {
		o.SetAuth(options.Credential{Username: user, Password: password, AuthSource: "admin"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := mongo.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func mustInsert(t *testing.T, c *mongo.Client, db, coll string, docs ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Database(db).Collection(coll).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
}

// countDocs is what the test reads back, to prove the check wrote nothing.
func countDocs(t *testing.T, c *mongo.Client, db, coll string) int64 {
	t.Helper()
	n, err := c.Database(db).Collection(coll).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadOnFerretDB(t *testing.T) {
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	c := ferretClient(t, f, "", "")
	mustInsert(t, c, "app", "canary", bson.D{{Key: "_id", Value: "canary"}, {Key: "n", Value: 1}}, bson.D{{Key: "_id", Value: "other"}})
	mustInsert(t, c, "app", "placeholder", bson.D{{Key: "x", Value: 1}})
	if _, err := c.Database("app").Collection("placeholder").DeleteMany(context.Background(), bson.D{}); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(f.Port)
	base := []string{"-H", "127.0.0.1", "-P", port, "--mode", "read", "--database", "app"}
	run := func(args ...string) testenv.Run {
		return rsRun(t, nil, append(append([]string{}, base...), args...)...)
	}

	t.Run("a document", func(t *testing.T) {
		r := run("--collection", "canary", "-w", "8", "-c", "9")
		rsWant(t, r, 0, "MONGODB OK - 127.0.0.1:"+port+": canary read of app.canary in ", ";8;9;0")
		if v := testenv.PerfValue(t, r, "read_time"); v <= 0 || v > 9 {
			t.Fatalf("read_time %v", v)
		}
	})
	t.Run("filter that matches", func(t *testing.T) {
		r := run("--collection", "canary", "--filter", `{"_id": "canary", "n": {"$gte": 1}}`, "-w", "8", "-c", "9")
		rsWant(t, r, 0, "canary read of app.canary in ")
	})
	t.Run("time above the critical range", func(t *testing.T) {
		r := run("--collection", "canary", "-w", "@0:100", "-c", "@0:100")
		rsWant(t, r, 2, "MONGODB CRITICAL - 127.0.0.1:"+port+": canary read of app.canary in ")
	})
	t.Run("no document matches", func(t *testing.T) {
		r := run("--collection", "canary", "--filter", `{"_id": "gone"}`)
		rsWant(t, r, 2, `canary read found no document in app.canary (looked for a document matching {"_id": "gone"})`)
	})
	t.Run("empty collection", func(t *testing.T) {
		r := run("--collection", "placeholder")
		rsWant(t, r, 2, "canary read found no document in app.placeholder (looked for a document)")
	})
	t.Run("missing collection", func(t *testing.T) {
		r := run("--collection", "typo")
		rsWant(t, r, 2, "collection app.typo does not exist, check --database and --collection")
	})
	t.Run("bad filter is refused before connecting", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "read", "--database", "app", "--collection", "c", "--filter", `{"_id": `)
		rsWant(t, r, 3, `MONGODB UNKNOWN - invalid --filter "{\"_id\": ": expected a document in MongoDB Extended JSON`)
		if strings.Count(r.Stdout, "\n") != 1 || r.Stderr != "" {
			t.Fatalf("not one line: %q %q", r.Stdout, r.Stderr)
		}
	})
	t.Run("no collection given", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "read", "--database", "app")
		rsWant(t, r, 3, "MONGODB UNKNOWN - --mode read needs --collection NAME (and --database DB) (see check_mongodb --help)")
	})
	t.Run("filter with another mode", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "connect", "--filter", `{}`)
		rsWant(t, r, 3, "MONGODB UNKNOWN - --filter applies only to --mode read, not connect (see check_mongodb --help)")
	})
	if n := countDocs(t, c, "app", "canary"); n != 2 {
		t.Fatalf("app.canary holds %d documents after the checks, want the 2 the test wrote", n)
	}
}

// An unauthenticated or unauthorized read is CRITICAL with the reason,
// and the password never shows.
func TestReadAuthorizationOnFerretDB(t *testing.T) {
	const pw = "s3cret-Canary"
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{SetupUsername: "admin", SetupPassword: pw})
	c := ferretClient(t, f, "admin", pw)
	mustInsert(t, c, "app", "canary", bson.D{{Key: "_id", Value: "canary"}})
	port := strconv.Itoa(f.Port)
	args := []string{"-H", "127.0.0.1", "-P", port, "--mode", "read", "--database", "app", "--collection", "canary", "-w", "8", "-c", "9"}

	r := rsRun(t, nil, args...)
	rsWant(t, r, 2, "MONGODB CRITICAL - 127.0.0.1:"+port+": canary read of app.canary refused (", "without a user: pass --user and a password")

	r = rsRun(t, []string{"MONGODB_PASSWORD=" + pw}, append(args, "-u", "admin", "-vv")...)
	rsWant(t, r, 0, "canary read of app.canary in ")
	rsLacks(t, r, pw)
}

func TestServerStatusFieldOnFerretDB(t *testing.T) {
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	port := strconv.Itoa(f.Port)
	base := []string{"-H", "127.0.0.1", "-P", port, "--mode", "server-status"}
	run := func(args ...string) testenv.Run {
		return rsRun(t, nil, append(append([]string{}, base...), args...)...)
	}

	t.Run("gauge", func(t *testing.T) {
		r := run("--field", "catalogStats.collections", "-w", "100", "-c", "200")
		rsWant(t, r, 0, "MONGODB OK - 127.0.0.1:"+port+": serverStatus catalogStats.collections = 0", ";100;200")
		if v := testenv.PerfValue(t, r, "catalogStats_collections"); v != 0 {
			t.Fatalf("catalogStats_collections %v", v)
		}
	})
	t.Run("gauge above critical", func(t *testing.T) {
		// uptime is above 0 s: @0.001: is 'at least a millisecond'.
		r := run("--field", "uptime", "-c", "@0.001:")
		rsWant(t, r, 2, "MONGODB CRITICAL - 127.0.0.1:"+port+": serverStatus uptime = ")
	})
	t.Run("missing field", func(t *testing.T) {
		r := run("--field", "metrics.cursor.timedOut")
		rsWant(t, r, 3, "MONGODB UNKNOWN - server does not report serverStatus.metrics.cursor.timedOut\n")
	})
	t.Run("not a number", func(t *testing.T) {
		r := run("--field", "process")
		rsWant(t, r, 3, "MONGODB UNKNOWN - server does not report serverStatus.process as a number (it is a string)\n")
	})
	t.Run("rate", func(t *testing.T) {
		dir := t.TempDir()
		r := run("--field", "uptime", "--rate", "--state-dir", dir, "-w", "0.5:2")
		rsWant(t, r, 0, "serverStatus uptime = ", ": collecting baseline", "not measured in this run, so left out of the perfdata: uptime_rate")
		time.Sleep(1100 * time.Millisecond)
		r = run("--field", "uptime", "--rate", "--state-dir", dir, "-w", "0.5:2")
		// uptime rises by one second per second.
		rsWant(t, r, 0, "serverStatus uptime rises by ")
		if v := testenv.PerfValue(t, r, "uptime_rate"); v < 0.5 || v > 1.5 {
			t.Fatalf("uptime rate %v, want about 1", v)
		}
	})
	t.Run("field is required", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "server-status")
		rsWant(t, r, 3, "MONGODB UNKNOWN - --mode server-status needs --field PATH")
	})
	t.Run("empty key", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "server-status", "--field", "metrics..x")
		rsWant(t, r, 3, `MONGODB UNKNOWN - invalid --field "metrics..x": expected serverStatus keys separated by dots`)
	})
	t.Run("rate with another mode", func(t *testing.T) {
		r := testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "memory", "--rate")
		rsWant(t, r, 3, "MONGODB UNKNOWN - --rate applies only to --mode server-status, not memory (see check_mongodb --help)")
	})
}

func TestCollectionsOnFerretDB(t *testing.T) {
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	c := ferretClient(t, f, "", "")
	mustInsert(t, c, "app", "small", bson.D{{Key: "a", Value: 1}})
	mustInsert(t, c, "app", "big", bson.D{{Key: "a", Value: 1}})
	mustInsert(t, c, "logs", "events", bson.D{{Key: "a", Value: 1}})
	var models []mongo.IndexModel
	for i := range 51 {
		models = append(models, mongo.IndexModel{Keys: bson.D{{Key: fmt.Sprintf("f%02d", i), Value: 1}}})
	}
	if _, err := c.Database("app").Collection("big").Indexes().CreateMany(context.Background(), models); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(f.Port)
	base := []string{"-H", "127.0.0.1", "-P", port, "--mode", "collections"}
	run := func(args ...string) testenv.Run {
		return rsRun(t, nil, append(append([]string{}, base...), args...)...)
	}

	// app.big: 51 indexes and _id's.
	r := run()
	rsWant(t, r, 1, "MONGODB WARNING - app.big has 52 indexes (a collection holds at most 64)")
	if v := testenv.PerfValue(t, r, "max_indexes"); v != 52 {
		t.Fatalf("max_indexes %v", v)
	}
	for label, want := range map[string]float64{"collections_app": 2, "indexes_app": 53, "collections_logs": 1, "indexes_logs": 1} {
		if v := testenv.PerfValue(t, r, label); v != want {
			t.Errorf("%s = %v, want %v", label, v, want)
		}
	}

	r = run("--database", "logs")
	rsWant(t, r, 0, "MONGODB OK - 127.0.0.1:"+port+": 1 collections (and 0 views) in 1 databases, at most 1 indexes in one collection (logs.events)")
	rsLacks(t, r, "collections_app")

	r = run("-w", "60", "-c", "51", "--count-warning", "1")
	rsWant(t, r, 2, "MONGODB CRITICAL - app.big has 52 indexes", "database app holds 2 collections")

	r = testenv.RunCheck(t, rsBin(t), nil, "-P", "1", "--mode", "collections", "--collection", "x")
	rsWant(t, r, 3, "MONGODB UNKNOWN - --mode collections looks at whole databases: drop --collection")
}

// TestServerStatusFieldLabels: --field paths whose later keys start with
// a digit (serverStatus.transportSecurity counts connections per TLS
// version under the keys "1.0" to "1.3" and "unknown": MongoDB manual,
// serverStatus output, transportSecurity, since 4.0.2) get a label of the
// scheme from a run against the simulator; a path whose first key does
// not start with a letter names no serverStatus section and is refused.
func TestServerStatusFieldLabels(t *testing.T) {
	set := mongosim.Start(t, mongosim.Scenario{Version: "6.0", Members: []mongosim.Member{{State: mongosim.Primary}},
		Status: func(int) bson.D {
			return bson.D{{Key: "transportSecurity", Value: bson.D{{Key: "1.0", Value: int64(0)}, {Key: "1.1", Value: int64(0)},
				{Key: "1.2", Value: int64(7)}, {Key: "1.3", Value: int64(40)}, {Key: "unknown", Value: int64(0)}}}, {Key: "ok", Value: 1.0}}
		}})
	r := rsRun(t, nil, "--uri", set.DirectURI(0), "--mode", "server-status", "--field", "transportSecurity.1.3", "-w", "100")
	rsWant(t, r, 0, "serverStatus transportSecurity.1.3 = 40 | transportSecurity_1_3=40;100\n")
	r = rsRun(t, nil, "--uri", set.DirectURI(0), "--mode", "server-status", "--field", "transportSecurity.1.3", "--rate", "--state-dir", t.TempDir())
	rsWant(t, r, 0, "left out of the perfdata: transportSecurity_1_3_rate")
	for _, field := range []string{"1abc", "1.3", "_x.y", "2x.metrics"} {
		r := rsRun(t, nil, "-P", "1", "--mode", "server-status", "--field", field)
		rsWant(t, r, 3, `MONGODB UNKNOWN - invalid --field "`+field+`": expected serverStatus keys separated by dots, the first starting with a letter`)
		if strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("--field %s: not one line: %q", field, r.Stdout)
		}
	}
}
