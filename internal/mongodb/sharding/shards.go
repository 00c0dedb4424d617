package sharding

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Shard is one document of config.shards, as listShards returns it
// (src/mongo/s/catalog/type_shard.cpp: _id, host, draining).
type Shard struct {
	ID       string `bson:"_id"`
	Host     string `bson:"host"`
	Draining bool   `bson:"draining"`
}

// DecodeShards reads the listShards reply ({shards: [...], ok}).
func DecodeShards(raw bson.Raw) ([]Shard, error) {
	var reply struct {
		Shards []Shard `bson:"shards"`
	}
	if err := bsondoc.Unmarshal(raw, &reply); err != nil {
		return nil, fmt.Errorf("decoding listShards: %v", err)
	}
	return reply.Shards, nil
}

// Seeds splits host, "set/h1:p,h2:p" for a replica-set shard or
// "h1:p" for a standalone one, into the set name and the hosts.
func (s Shard) Seeds() (set string, hosts []string) {
	list := s.Host
	if i := strings.IndexByte(list, '/'); i >= 0 {
		set, list = list[:i], list[i+1:]
	}
	for _, h := range strings.Split(list, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return set, hosts
}

// Reach is what one shard answered: a ping of its primary through its
// replica set.
type Reach struct {
	Shard   Shard
	Elapsed time.Duration
	// Err is why the shard did not answer: no member reachable, or
	// (NoPrimary) members answer but none is primary.
	Err       error
	NoPrimary bool
	// TimedOut: no answer before the check's inner deadline.
	TimedOut bool
}

// ShardsResult is the shards verdict: CRITICAL for every shard that
// does not answer or has no primary (its chunks can take no writes),
// draining shards named (OK: removeShard was run on purpose).
func ShardsResult(rs []Reach) *plugin.Result {
	var r plugin.Result
	up, draining := 0, 0
	for _, x := range rs {
		set, _ := x.Shard.Seeds()
		name := x.Shard.ID
		if set != "" && set != name {
			name += " (" + set + ")"
		}
		switch {
		case x.TimedOut:
			r.Add(plugin.Critical, fmt.Sprintf("shard %s did not answer within %.1f s", name, x.Elapsed.Seconds())).
				Detailf("hosts %s; a shard that does not answer fails every query that needs its chunks: check that its mongod processes run and that this host reaches them", x.Shard.Host)
		case x.NoPrimary:
			r.Add(plugin.Critical, fmt.Sprintf("shard %s has no primary (%s)", name, x.Err)).
				Detailf("writes to its chunks fail until it elects one; run --mode replset-state against %s", x.Shard.Host)
		case x.Err != nil:
			r.Add(plugin.Critical, fmt.Sprintf("shard %s unreachable: %s", name, x.Err)).
				Detailf("hosts %s; check that its mongod processes run and that this host reaches them", x.Shard.Host)
		default:
			up++
		}
		if x.Shard.Draining {
			draining++
			r.Add(plugin.OK, fmt.Sprintf("shard %s is draining", name)).
				Detailf("removeShard moves its chunks away; the balancer must be on for it to finish (--mode balancer)")
		}
	}
	r.Add(plugin.OK, fmt.Sprintf("%d of %d shards answer", up, len(rs)),
		plugin.Perf{Label: "shards", Value: float64(len(rs)), Min: plugin.F(0)},
		plugin.Perf{Label: "shards_answering", Value: float64(up), Min: plugin.F(0), Max: plugin.F(float64(len(rs)))},
		plugin.Perf{Label: "shards_draining", Value: float64(draining), Min: plugin.F(0)})
	if len(rs) == 0 {
		r.Findings = r.Findings[:0]
		r.Add(plugin.Critical, "the cluster lists no shard (listShards is empty): add one with sh.addShard()")
	}
	return &r
}
