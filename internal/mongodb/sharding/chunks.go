package sharding

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Collection is a sharded collection of config.collections.
type Collection struct {
	NS        string               `bson:"_id"`
	UUID      primitive.Binary     `bson:"uuid"`
	Timestamp *primitive.Timestamp `bson:"timestamp"`
	NoBalance bool                 `bson:"noBalance"`
}

// ByUUID says whether config.chunks refers to the collection by uuid:
// from 5.0 (with the 5.0 feature compatibility version), when
// config.collections carries a timestamp; before, chunks carry the
// namespace (ns). It is the rule mongosh's sh.status() applies
// (shell-api helpers.js, buildConfigChunksCollectionMatch).
func (c Collection) ByUUID() bool { return c.Timestamp != nil }

// Filter selects the sharded collections of config.collections, as
// sh.status() does: not dropped (a 4.x flag), not an unsharded
// collection the config servers track (8.0's unsplittable).
func Filter() bson.D {
	return bson.D{{Key: "dropped", Value: bson.D{{Key: "$ne", Value: true}}},
		{Key: "unsplittable", Value: bson.D{{Key: "$ne", Value: true}}}}
}

// CountPipeline counts the chunks of config.chunks per collection, shard
// and jumbo flag, in one aggregation the server runs; only the chunks of
// colls unless all.
func CountPipeline(colls []Collection, all bool) bson.A {
	var p bson.A
	if !all {
		var uuids, nss bson.A
		for _, c := range colls {
			if c.ByUUID() {
				uuids = append(uuids, c.UUID)
			} else {
				nss = append(nss, c.NS)
			}
		}
		p = append(p, bson.D{{Key: "$match", Value: bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "uuid", Value: bson.D{{Key: "$in", Value: nonNil(uuids)}}}},
			bson.D{{Key: "ns", Value: bson.D{{Key: "$in", Value: nonNil(nss)}}}},
		}}}}})
	}
	return append(p, bson.D{{Key: "$group", Value: bson.D{
		{Key: "_id", Value: bson.D{{Key: "uuid", Value: "$uuid"}, {Key: "ns", Value: "$ns"}, {Key: "shard", Value: "$shard"}, {Key: "jumbo", Value: "$jumbo"}}},
		{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
	}}})
}

func nonNil(a bson.A) bson.A {
	if a == nil {
		return bson.A{}
	}
	return a
}

// Count is the chunks of one collection on one shard.
type Count struct{ Chunks, Jumbo int }

// Counts holds the counts by namespace and shard.
type Counts map[string]map[string]*Count

// DecodeCounts maps the groups of CountPipeline back to the collections
// (by uuid or ns); chunks of collections not in colls are left out.
func DecodeCounts(groups []bson.Raw, colls []Collection) (Counts, error) {
	byUUID, byNS := map[string]string{}, map[string]string{}
	for _, c := range colls {
		if c.ByUUID() {
			byUUID[string(c.UUID.Data)] = c.NS
		} else {
			byNS[c.NS] = c.NS
		}
	}
	out := Counts{}
	for _, g := range groups {
		var d struct {
			ID struct {
				UUID  *primitive.Binary `bson:"uuid"`
				NS    string            `bson:"ns"`
				Shard string            `bson:"shard"`
				Jumbo bool              `bson:"jumbo"`
			} `bson:"_id"`
			N int64 `bson:"n"`
		}
		if err := bsondoc.Unmarshal(g, &d); err != nil {
			return nil, fmt.Errorf("decoding the chunk counts: %v", err)
		}
		var ns string
		var ok bool
		if d.ID.UUID != nil {
			ns, ok = byUUID[string(d.ID.UUID.Data)]
		} else {
			ns, ok = byNS[d.ID.NS]
		}
		if !ok {
			continue
		}
		if out[ns] == nil {
			out[ns] = map[string]*Count{}
		}
		c := out[ns][d.ID.Shard]
		if c == nil {
			c = &Count{}
			out[ns][d.ID.Shard] = c
		}
		c.Chunks += int(d.N)
		if d.ID.Jumbo {
			c.Jumbo += int(d.N)
		}
	}
	return out, nil
}

// Distribution is the chunks of the sharded collections over the shards.
type Distribution struct {
	Shards      []Shard
	Collections []Collection
	Counts      Counts
}

func (d Distribution) count(ns, shard string) Count {
	if c := d.Counts[ns][shard]; c != nil {
		return *c
	}
	return Count{}
}

// Imbalance is how unevenly a collection's chunks lie on the shards that
// take chunks (draining shards are being emptied and do not count):
// (most − fewest) / most × 100. 0 is even; 100 means a shard holds none.
func (d Distribution) Imbalance(ns string) (pct float64, most, fewest int) {
	first := true
	for _, s := range d.Shards {
		if s.Draining {
			continue
		}
		n := d.count(ns, s.ID).Chunks
		if first || n > most {
			most = max(n, most)
		}
		if first || n < fewest {
			fewest = n
		}
		first = false
	}
	if most == 0 {
		return 0, most, fewest
	}
	return float64(most-fewest) / float64(most) * 100, most, fewest
}

// ChunkBalanceResult is the chunk-balance verdict: each collection's
// imbalance by the pair (-w/-c, percent), with its chunks per shard as
// perfdata.
func ChunkBalanceResult(d Distribution, pair thresholds.Pair) *plugin.Result {
	var r plugin.Result
	if len(d.Collections) == 0 {
		r.Add(plugin.OK, "no sharded collection")
		return &r
	}
	worst, worstNS := -1.0, ""
	for _, c := range d.Collections {
		pct, most, fewest := d.Imbalance(c.NS)
		pct = round2(pct)
		perf := []plugin.Perf{{Label: plugin.Label("imbalance", plugin.Split(c.NS, ".")...), Value: pct, UOM: "%", Thresholds: pair, Min: plugin.F(0), Max: plugin.F(100)}}
		var parts, draining []string
		for _, s := range d.Shards {
			n := d.count(c.NS, s.ID).Chunks
			perf = append(perf, plugin.Perf{Label: plugin.Label("chunks", append(plugin.Split(c.NS, "."), s.ID)...), Value: float64(n), Min: plugin.F(0)})
			parts = append(parts, fmt.Sprintf("%s %d", s.ID, n))
			if s.Draining && n > 0 {
				draining = append(draining, fmt.Sprintf("%s %d", s.ID, n))
			}
		}
		f := r.Add(perf[0].State(), fmt.Sprintf("%s: chunks %s, imbalance %.0f%%", c.NS, strings.Join(parts, ", "), pct), perf...)
		f.Quiet = true
		if len(draining) > 0 {
			f.Detailf("left on draining shards, not counted in the imbalance: %s", strings.Join(draining, ", "))
		}
		if f.State != plugin.OK {
			f.Detailf("the fullest shard holds %d chunks, the emptiest %d; check that the balancer runs (--mode balancer) and that the collection is not excluded from balancing%s", most, fewest, noBalanceNote(c))
		}
		if pct > worst {
			worst, worstNS = pct, c.NS
		}
	}
	r.Add(plugin.OK, fmt.Sprintf("%d sharded collections on %d shards, largest imbalance %.0f%% (%s)", len(d.Collections), len(d.Shards), worst, worstNS))
	return &r
}

func noBalanceNote(c Collection) string {
	if c.NoBalance {
		return " (it is: noBalance)"
	}
	return ""
}

// JumboResult is the jumbo-chunks verdict: chunks flagged jumbo (too
// large to move, so the balancer leaves them where they are), per
// collection, the total judged by the pair.
func JumboResult(d Distribution, pair thresholds.Pair) *plugin.Result {
	var r plugin.Result
	total := 0
	var perf []plugin.Perf
	var found []string
	for _, c := range d.Collections {
		n := 0
		for _, s := range d.Shards {
			n += d.count(c.NS, s.ID).Jumbo
		}
		total += n
		perf = append(perf, plugin.Perf{Label: plugin.Label("jumbo", plugin.Split(c.NS, ".")...), Value: float64(n), Min: plugin.F(0)})
		if n > 0 {
			found = append(found, fmt.Sprintf("%s %d", c.NS, n))
		}
	}
	all := plugin.Perf{Label: "jumbo_chunks", Value: float64(total), Thresholds: pair, Min: plugin.F(0)}
	text := fmt.Sprintf("%d jumbo chunks in %d sharded collections", total, len(d.Collections))
	if len(found) > 0 {
		text += ": " + strings.Join(found, ", ")
	}
	f := r.Add(all.State(), text, append([]plugin.Perf{all}, perf...)...)
	if total > 0 {
		f.Detailf("a jumbo chunk is larger than the range size and cannot be split at its shard key values, so it is never moved; refine the shard key (refineCollectionShardKey) or split it by hand (sh.splitAt), then clear the flag (clearJumboFlag)")
	}
	return &r
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
