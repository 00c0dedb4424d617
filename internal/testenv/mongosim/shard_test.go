package mongosim

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func testCluster(t *testing.T, version string) *Cluster {
	return StartCluster(t, ClusterScenario{Version: version,
		Shards: []Shard{{}, {Draining: true}},
		Collections: []ShardedCollection{
			{NS: "app.a", Chunks: map[string]int{"shard01": 5, "shard02": 2}, Jumbo: map[string]int{"shard02": 1}},
			{NS: "app.b", Chunks: map[string]int{"shard01": 1}, NoBalance: true},
		}})
}

// The driver reads the config database through the simulated mongos:
// the shapes per version, filters, sorts, cursors over several batches
// and aggregations, and refusals of what it does not evaluate.
func TestClusterConfigReads(t *testing.T) {
	for _, v := range []string{"4.4", "8.0"} {
		t.Run(v, func(t *testing.T) {
			c := testCluster(t, v)
			cl := connect(t, c.URI())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cfg := cl.Database("config")

			var hello bson.M
			if err := cl.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil || hello["msg"] != "isdbgrid" {
				t.Fatalf("hello %v %v", hello, err)
			}
			var shards struct {
				Shards []bson.M `bson:"shards"`
			}
			if err := cl.Database("admin").RunCommand(ctx, bson.D{{Key: "listShards", Value: 1}}).Decode(&shards); err != nil || len(shards.Shards) != 2 || shards.Shards[1]["draining"] != true {
				t.Fatalf("listShards %v %v", shards, err)
			}
			if _, has := shards.Shards[0]["topologyTime"]; has != (v == "8.0") {
				t.Errorf("topologyTime present %t on %s", has, v)
			}

			// Seven chunks of app.a in batches of two: getMore follows.
			match := bson.D{{Key: "ns", Value: "app.a"}}
			if v == "8.0" {
				var coll bson.M
				if err := cfg.Collection("collections").FindOne(ctx, bson.D{{Key: "_id", Value: "app.a"}}).Decode(&coll); err != nil {
					t.Fatal(err)
				}
				match = bson.D{{Key: "uuid", Value: coll["uuid"]}}
			}
			cur, err := cfg.Collection("chunks").Find(ctx, match, options.Find().SetBatchSize(2).SetSort(bson.D{{Key: "min", Value: -1}}))
			if err != nil {
				t.Fatal(err)
			}
			var chunks []bson.M
			if err := cur.All(ctx, &chunks); err != nil || len(chunks) != 7 {
				t.Fatalf("%d chunks, %v", len(chunks), err)
			}
			if _, isMin := chunks[6]["min"].(bson.M)["k"].(primitive.MinKey); !isMin || chunks[0]["min"].(bson.M)["k"] != int32(6000) {
				t.Errorf("sort by min descending: first %v last %v", chunks[0], chunks[6])
			}

			n, err := cfg.Collection("collections").CountDocuments(ctx, bson.D{{Key: "dropped", Value: bson.D{{Key: "$ne", Value: true}}}, {Key: "noBalance", Value: true}})
			if err != nil || n != 1 {
				t.Fatalf("noBalance collections %d %v", n, err)
			}
			acur, err := cfg.Collection("chunks").Aggregate(ctx, bson.A{bson.D{{Key: "$match", Value: bson.D{{Key: "jumbo", Value: true}}}},
				bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$shard"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}}})
			if err != nil {
				t.Fatal(err)
			}
			var groups []bson.M
			if err := acur.All(ctx, &groups); err != nil || len(groups) != 1 || groups[0]["_id"] != "shard02" || groups[0]["n"] != int32(1) {
				t.Fatalf("jumbo groups %v %v", groups, err)
			}

			for _, bad := range []bson.D{{{Key: "_id", Value: bson.D{{Key: "$regex", Value: "^app"}}}}, {{Key: "$where", Value: "1"}}} {
				if err := cfg.Collection("collections").FindOne(ctx, bad).Err(); err == nil || !strings.Contains(err.Error(), "mongosim") {
					t.Errorf("%v: %v, want a refusal", bad, err)
				}
			}
			if err := cl.Database("app").Collection("a").FindOne(ctx, bson.D{}).Err(); err == nil {
				t.Error("a find outside config answered")
			}
		})
	}
}
