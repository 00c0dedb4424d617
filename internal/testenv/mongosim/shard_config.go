package mongosim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// The documents of the config database, per server version. Sources:
//   - config.shards: src/mongo/s/catalog/type_shard.cpp (ShardType::toBSON:
//     _id, host, draining when set, state 1 = kShardAware, topologyTime
//     from 5.0, when the topology time was introduced); listShards returns
//     the same documents (manual, listShards output).
//   - config.collections: 4.2/4.4 src/mongo/s/catalog/type_collection.cpp
//     (_id the namespace, lastmodEpoch, lastmod, dropped, key, unique,
//     uuid, noBalance only when set); 5.0 and later the example of the
//     DOCS-14450 ticket (the 5.0 manual's config database page): _id,
//     lastmodEpoch, lastmod, timestamp, uuid, key, unique, noBalance —
//     "timestamp" is what mongosh (helpers.js,
//     buildConfigChunksCollectionMatch) tells the two formats apart by.
//   - config.chunks: 4.2/4.4 the manual's config.chunks example (_id
//     "<ns>-<shard key>_<min>", ns, min, max, shard, lastmod, lastmodEpoch,
//     history); 5.0 and later src/mongo/s/catalog/type_chunk.cpp
//     (ChunkType::toConfigBSON: _id an ObjectId, uuid instead of ns, min,
//     max, shard, lastmod, jumbo only when set, history) and DOCS-14450
//     ("the ns field of config.chunks is replaced by the uuid field, while
//     the lastmodEpoch field has been thrown out").
//   - config.databases: DOCS-14450 (_id, primary, partitioned, version
//     {uuid, timestamp, lastMod}); before 5.0 without the timestamp;
//     partitioned, deprecated from 6.0, is left out there (mongosh reads
//     it as optional): left out rather than guessed.
//   - config.settings {_id: "balancer"}: written by sh.stopBalancer() /
//     sh.startBalancer() (balancerStop/balancerStart: mode and stopped;
//     manual, "Manage Sharded Cluster Balancer"), activeWindow {start,
//     stop} by sh.setBalancerState's window procedure (manual, "Schedule
//     the Balancing Window"); absent on a cluster where neither was run.
//   - config.actionlog: src/mongo/db/s/balancer/balancer.cpp
//     (BalanceRoundDetails::toBSON: executionTimeMillis, errorOccured —
//     spelt so until 4.4, errorOccurred from 5.0 —, errmsg on failure,
//     else candidateChunks and chunksMoved), logged as what
//     "balancer.round" by ShardingLogging::logAction
//     (src/mongo/s/catalog/type_changelog.cpp: _id
//     "<host>-<date>-<oid>", server, shard, clientAddr, time, what, ns,
//     details).
//   - config.version: src/mongo/s/catalog/type_config_version.cpp
//     (_id 1, clusterId; minCompatibleVersion 5 and currentVersion 6
//     until 4.4, src/mongo/s/catalog/config_server_version.h).
//   - config.mongos: the manual's config.mongos example (_id host:port,
//     ping, up, waiting, mongoVersion, advisoryHostFQDNs).
//   - config.changelog, config.locks, config.tags: empty (no migrations,
//     no zones).
func (c *Cluster) configDocs(now time.Time) map[string][]bson.D {
	v50 := c.ver.since50
	v60 := c.ver.wire >= 17
	cfg := map[string][]bson.D{}
	epoch := primitive.NewObjectIDFromTimestamp(now.Add(-30 * 24 * time.Hour))
	created := primitive.Timestamp{T: uint32(now.Add(-30 * 24 * time.Hour).Unix()), I: 1}

	for i, sh := range c.sc.Shards {
		d := bson.D{{Key: "_id", Value: sh.Name}, {Key: "host", Value: c.shards[i].sc.SetName + "/" + strings.Join(c.shards[i].addrs, ",")}}
		if sh.Draining {
			d = append(d, bson.E{Key: "draining", Value: true})
		}
		d = append(d, bson.E{Key: "state", Value: int32(1)})
		if v50 {
			d = append(d, bson.E{Key: "topologyTime", Value: created})
		}
		cfg["shards"] = append(cfg["shards"], d)
	}

	dbs := map[string]bool{}
	for _, coll := range c.sc.Collections {
		uuid := newUUID()
		db, _, _ := strings.Cut(coll.NS, ".")
		dbs[db] = true
		cd := bson.D{{Key: "_id", Value: coll.NS}, {Key: "lastmodEpoch", Value: epoch}, {Key: "lastmod", Value: date(now.Add(-30 * 24 * time.Hour))}}
		if v50 {
			cd = append(cd, bson.E{Key: "timestamp", Value: created}, bson.E{Key: "uuid", Value: uuid},
				bson.E{Key: "key", Value: bson.D{{Key: "k", Value: int32(1)}}}, bson.E{Key: "unique", Value: false},
				bson.E{Key: "noBalance", Value: coll.NoBalance})
		} else {
			cd = append(cd, bson.E{Key: "dropped", Value: false}, bson.E{Key: "key", Value: bson.D{{Key: "k", Value: int32(1)}}},
				bson.E{Key: "unique", Value: false}, bson.E{Key: "uuid", Value: uuid})
			if coll.NoBalance {
				cd = append(cd, bson.E{Key: "noBalance", Value: true})
			}
		}
		cfg["collections"] = append(cfg["collections"], cd)
		cfg["chunks"] = append(cfg["chunks"], c.chunks(coll, uuid, epoch, created)...)
	}

	var names []string
	for db := range dbs {
		names = append(names, db)
	}
	sort.Strings(names)
	for _, db := range names {
		version := bson.D{{Key: "uuid", Value: newUUID()}}
		if v50 {
			version = append(version, bson.E{Key: "timestamp", Value: created})
		}
		version = append(version, bson.E{Key: "lastMod", Value: int32(1)})
		d := bson.D{{Key: "_id", Value: db}, {Key: "primary", Value: c.sc.Shards[0].Name}}
		if !v60 {
			d = append(d, bson.E{Key: "partitioned", Value: true})
		}
		cfg["databases"] = append(cfg["databases"], append(d, bson.E{Key: "version", Value: version}))
	}

	b := c.sc.Balancer
	if b.Mode != "" || b.Window[0] != "" {
		mode := b.Mode
		if mode == "" {
			mode = "full"
		}
		d := bson.D{{Key: "_id", Value: "balancer"}, {Key: "mode", Value: mode}, {Key: "stopped", Value: mode == "off"}}
		if b.Window[0] != "" {
			d = append(d, bson.E{Key: "activeWindow", Value: bson.D{{Key: "start", Value: b.Window[0]}, {Key: "stop", Value: b.Window[1]}}})
		}
		cfg["settings"] = append(cfg["settings"], d)
	}

	errField := "errorOccured"
	if v50 {
		errField = "errorOccurred"
	}
	for i, rd := range c.sc.Rounds {
		at := now.Add(-rd.Ago)
		details := bson.D{{Key: "executionTimeMillis", Value: int32(120 + i)}, {Key: errField, Value: rd.Err != ""}}
		if rd.Err != "" {
			details = append(details, bson.E{Key: "errmsg", Value: rd.Err})
		} else {
			details = append(details, bson.E{Key: "candidateChunks", Value: int32(rd.Moved)}, bson.E{Key: "chunksMoved", Value: int32(rd.Moved)})
		}
		cfg["actionlog"] = append(cfg["actionlog"], bson.D{
			{Key: "_id", Value: fmt.Sprintf("cfg1-%s-%s", at.UTC().Format("2006-01-02T15:04:05.000Z07:00"), primitive.NewObjectID().Hex())},
			{Key: "server", Value: "cfg1"}, {Key: "shard", Value: "config"}, {Key: "clientAddr", Value: ""},
			{Key: "time", Value: date(at)}, {Key: "what", Value: "balancer.round"}, {Key: "ns", Value: ""},
			{Key: "details", Value: details},
		})
	}

	version := bson.D{{Key: "_id", Value: int32(1)}}
	if !v50 {
		version = append(version, bson.E{Key: "minCompatibleVersion", Value: int32(5)}, bson.E{Key: "currentVersion", Value: int32(6)})
	}
	cfg["version"] = []bson.D{append(version, bson.E{Key: "clusterId", Value: epoch})}
	cfg["mongos"] = []bson.D{{{Key: "_id", Value: c.mongos.Addr()}, {Key: "advisoryHostFQDNs", Value: bson.A{}},
		{Key: "mongoVersion", Value: c.ver.full}, {Key: "ping", Value: date(now)}, {Key: "up", Value: int64(3600)}, {Key: "waiting", Value: true}}}
	return cfg
}

// chunks lays a collection's chunks out over the shards in shard key
// order: chunk n covers {k: n*1000} to {k: (n+1)*1000}, the first from
// MinKey, the last to MaxKey.
func (c *Cluster) chunks(coll ShardedCollection, uuid primitive.Binary, epoch primitive.ObjectID, created primitive.Timestamp) []bson.D {
	var out []bson.D
	total := 0
	for _, sh := range c.sc.Shards {
		total += coll.Chunks[sh.Name]
	}
	n := 0
	for _, sh := range c.sc.Shards {
		for j := range coll.Chunks[sh.Name] {
			var lo, hi any = int32(n * 1000), int32((n + 1) * 1000)
			if n == 0 {
				lo = primitive.MinKey{}
			}
			if n == total-1 {
				hi = primitive.MaxKey{}
			}
			lastmod := primitive.Timestamp{T: 1, I: uint32(n)}
			history := bson.A{bson.D{{Key: "validAfter", Value: created}, {Key: "shard", Value: sh.Name}}}
			var d bson.D
			if c.ver.since50 {
				d = bson.D{{Key: "_id", Value: primitive.NewObjectID()}, {Key: "uuid", Value: uuid},
					{Key: "min", Value: bson.D{{Key: "k", Value: lo}}}, {Key: "max", Value: bson.D{{Key: "k", Value: hi}}},
					{Key: "shard", Value: sh.Name}, {Key: "lastmod", Value: lastmod}}
				if j < coll.Jumbo[sh.Name] {
					d = append(d, bson.E{Key: "jumbo", Value: true})
				}
				d = append(d, bson.E{Key: "history", Value: history})
			} else {
				id := coll.NS + "-k_" + keyString(lo)
				d = bson.D{{Key: "_id", Value: id}, {Key: "lastmod", Value: lastmod}, {Key: "lastmodEpoch", Value: epoch},
					{Key: "ns", Value: coll.NS}, {Key: "min", Value: bson.D{{Key: "k", Value: lo}}},
					{Key: "max", Value: bson.D{{Key: "k", Value: hi}}}, {Key: "shard", Value: sh.Name}}
				if j < coll.Jumbo[sh.Name] {
					d = append(d, bson.E{Key: "jumbo", Value: true})
				}
				d = append(d, bson.E{Key: "history", Value: history})
			}
			out = append(out, d)
			n++
		}
	}
	return out
}

func keyString(v any) string {
	if _, ok := v.(primitive.MinKey); ok {
		return "MinKey"
	}
	return fmt.Sprint(v)
}

// newUUID is a random version 4 UUID as BSON binary subtype 4.
func newUUID() primitive.Binary {
	id := primitive.NewObjectID()
	id2 := primitive.NewObjectID()
	b := append(id[:], id2[:4]...)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return primitive.Binary{Subtype: 4, Data: b}
}

// shardedDataDistribution answers [{$shardedDataDistribution: {}}] on
// admin, which sh.status() sends: from 6.0.3 one document per sharded
// collection, shards [{shardName, numOrphanedDocs, numOwnedDocuments,
// ownedSizeBytes, orphanedSizeBytes}] (manual, $shardedDataDistribution,
// output), with 100 documents of 1 KiB per chunk; before 6.0 the stage
// is unknown (error 40324, "Unrecognized pipeline stage name").
func (c *Cluster) shardedDataDistribution(stages bson.A, cursorSpec bson.D) bson.D {
	first, _ := stages[0].(bson.D)
	if len(stages) != 1 || len(first) != 1 || first[0].Key != "$shardedDataDistribution" {
		return CommandError(codes.BadValue, "mongosim: the simulated mongos answers no other aggregate on admin")
	}
	if c.ver.wire < 17 {
		return CommandError(codes.Code(40324), "Unrecognized pipeline stage name: '$shardedDataDistribution'")
	}
	var out []bson.D
	for _, coll := range c.sc.Collections {
		var shards bson.A
		for _, sh := range c.sc.Shards {
			n := int64(coll.Chunks[sh.Name])
			if n == 0 {
				continue
			}
			shards = append(shards, bson.D{{Key: "shardName", Value: sh.Name}, {Key: "numOrphanedDocs", Value: int64(0)},
				{Key: "numOwnedDocuments", Value: n * 100}, {Key: "ownedSizeBytes", Value: n * 100 * 1024}, {Key: "orphanedSizeBytes", Value: int64(0)}})
		}
		out = append(out, bson.D{{Key: "ns", Value: coll.NS}, {Key: "shards", Value: shards}})
	}
	return c.cursor("admin.$cmd.aggregate", out, batchSize(cursorSpec), false)
}
