package mongodb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/description"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/mongodb/sharding"
	"github.com/opschecks/opschecks/internal/plugin"
)

// The sharded-cluster modes run through a mongos and read the config
// database it serves (and ping each shard); they never write.

// defJumboWarn is jumbo-chunks' default -w: any jumbo chunk warns.
const defJumboWarn = "0"

func init() {
	register("shards", Mode{Run: modeShards,
		Doc: "listShards and a ping of each shard's primary: CRITICAL for a shard that does not answer or has no primary"})
	register("balancer", Mode{Run: modeBalancer,
		Doc: "balancerStatus, noBalance collections and the last rounds: CRITICAL when the balancer is off (--balancer-off), WARNING for a failed round"})
	register("chunk-balance", Mode{Run: chunkMode(false), Validate: collectionNeedsDatabase, Metric: true,
		Doc: "the chunks per shard of each sharded collection (or of --database/--collection): its imbalance in %"})
	register("jumbo-chunks", Mode{Run: chunkMode(true), Validate: collectionNeedsDatabase, Warning: defJumboWarn,
		Doc: "chunks flagged jumbo (too large to move) in the sharded collections (or of --database/--collection)"})
}

func collectionNeedsDatabase(o *Options) error {
	if o.Collection != "" && o.Database == "" {
		return fmt.Errorf("--mode %s: --collection needs --database", o.Mode)
	}
	return nil
}

// requireMongos says plainly when the check is not connected to a mongos:
// a mongod has no cluster view (hello's msg is "isdbgrid" only on a
// mongos; manual, hello).
func requireMongos(ctx context.Context, s *Session) error {
	var h struct {
		Msg string `bson:"msg"`
	}
	if err := s.RunAdmin(ctx, bson.D{{Key: "hello", Value: 1}}, &h); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	if h.Msg != "isdbgrid" {
		return fmt.Errorf("%s is not a mongos (hello has no msg \"isdbgrid\"): the sharded-cluster modes run through a mongos router of the cluster", s.Target)
	}
	return nil
}

// configFind reads documents of a config collection.
func configFind(ctx context.Context, s *Session, coll string, filter bson.D, o *options.FindOptions) ([]bson.Raw, error) {
	cur, err := s.Client.Database("config").Collection(coll).Find(ctx, filter, o)
	if err == nil {
		var out []bson.Raw
		if err = cur.All(ctx, &out); err == nil {
			return out, nil
		}
	}
	return nil, shardError(s, "find on config."+coll, err)
}

// shardError names what a failed read of the cluster's metadata means.
func shardError(s *Session, what string, err error) error {
	if codes.Is(err, codes.Unauthorized) {
		if s.User == "" {
			return fmt.Errorf("%s refused %s (%s): pass --user and a password of a user with the clusterMonitor role", s.Target, what, errText(err))
		}
		return fmt.Errorf("%s refused %s to user %s (%s): the user needs the clusterMonitor role", s.Target, what, s.User, errText(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func listShards(ctx context.Context, s *Session) ([]sharding.Shard, error) {
	var raw bson.Raw
	if err := s.RunAdmin(ctx, bson.D{{Key: "listShards", Value: 1}}, &raw); err != nil {
		return nil, shardError(s, "listShards", err)
	}
	return sharding.DecodeShards(raw)
}

// modeShards lists the shards and pings the primary of each through its
// replica set, all at once, each within the check's inner deadline.
func modeShards(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	if err := requireMongos(ctx, s); err != nil {
		return nil, err
	}
	shards, err := listShards(ctx, s)
	if err != nil {
		return nil, err
	}
	pctx, cancel := inner(ctx)
	defer cancel()
	reach := make([]sharding.Reach, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reach[i] = pingShard(ctx, pctx, s, sh)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r := sharding.ShardsResult(reach)
	last := &r.Findings[len(r.Findings)-1]
	last.Text = s.Target + ": " + last.Text
	return r, nil
}

// pingShard connects to a shard's replica set with the check's TLS
// options but without its credentials (cluster users live on the config
// servers, and hello and ping need none; the password goes nowhere but
// the mongos) and pings its primary. Once every member the driver knows
// of has answered or failed its first heartbeat without a primary among
// them, waiting longer changes nothing: the ping ends then, as
// unreachable or as without a primary.
func pingShard(ctx, pctx context.Context, s *Session, sh sharding.Shard) sharding.Reach {
	r := sharding.Reach{Shard: sh}
	set, hosts := sh.Seeds()
	wctx, cancel := context.WithCancelCause(pctx)
	defer cancel(nil)
	co := *s.opts
	co.Auth = nil
	co.ReplicaSet = nil
	co.SetHosts(hosts).SetDirect(set == "")
	co.SetServerMonitor(&event.ServerMonitor{TopologyDescriptionChanged: func(e *event.TopologyDescriptionChangedEvent) {
		if err := settled(e.NewDescription.Servers); err != nil {
			cancel(err)
		}
	}})
	if set != "" {
		co.SetReplicaSet(set)
	}
	setTimeouts(pctx, &co)
	start := time.Now()
	c, err := mongo.Connect(wctx, &co)
	if err == nil {
		defer disconnect(ctx, c)
		err = c.Ping(wctx, readpref.Primary())
	}
	r.Elapsed = time.Since(start)
	var np *noPrimaryError
	switch cause := context.Cause(wctx); {
	case err == nil:
	case errors.As(cause, &np):
		r.NoPrimary, r.Err = true, np
	case cause != nil && !timeout(cause) && !errors.Is(cause, context.Canceled):
		r.Err = errors.New(errText(cause))
	case ctx.Err() == nil && (deadlineError(pctx, err) != nil || timeout(cause)):
		r.TimedOut, r.Err = true, errors.New("no answer")
	default:
		r.Err = errors.New(errText(err))
	}
	return r
}

// timeout says whether err is a timeout: the deadline, or a heartbeat
// whose read timed out with it (a member that accepts and never answers).
func timeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err) || (errors.As(err, &ne) && ne.Timeout()))
}

// kindName names what a member answered as in replica-set terms.
func kindName(k description.ServerKind) string {
	switch k {
	case description.RSSecondary:
		return "SECONDARY"
	case description.RSArbiter:
		return "ARBITER"
	case description.RSMember:
		return "neither primary nor secondary (RECOVERING, STARTUP2, ROLLBACK...)"
	case description.RSGhost:
		return "a member without a replica-set configuration"
	}
	return k.String()
}

// noPrimaryError: every member answered, none is primary.
type noPrimaryError struct{ states []string }

func (e *noPrimaryError) Error() string { return "members answer as " + strings.Join(e.states, ", ") }

// settled says, from the driver's view of a shard, whether waiting can
// still change the answer: nil while a member is unchecked or a primary
// is known; the last heartbeat error when every member failed; a
// noPrimaryError when members answer but none is primary.
func settled(servers []description.Server) error {
	var lastErr error
	var states []string
	for _, sd := range servers {
		switch {
		case sd.Kind == description.RSPrimary || sd.Kind == description.Standalone:
			return nil
		case sd.LastError != nil:
			lastErr = sd.LastError
		case sd.Kind == description.Unknown:
			return nil
		default:
			states = append(states, kindName(sd.Kind))
		}
	}
	switch {
	case len(servers) == 0:
		return nil
	case len(states) > 0:
		return &noPrimaryError{states: states}
	}
	return lastErr
}

// modeBalancer reads balancerStatus, the balancer settings, the
// collections excluded from balancing and the last five balancer rounds.
func modeBalancer(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	if err := requireMongos(ctx, s); err != nil {
		return nil, err
	}
	var b sharding.Balancer
	var raw bson.Raw
	if err := s.RunAdmin(ctx, bson.D{{Key: "balancerStatus", Value: 1}}, &raw); err != nil {
		return nil, shardError(s, "balancerStatus", err)
	}
	if err := bsondoc.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decoding balancerStatus: %v", err)
	}
	settings, err := configFind(ctx, s, "settings", bson.D{{Key: "_id", Value: "balancer"}}, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range settings {
		if err := sharding.DecodeSettings(d, &b); err != nil {
			return nil, err
		}
	}
	colls, err := shardedCollections(ctx, s, "", "")
	if err != nil {
		return nil, err
	}
	for _, c := range colls {
		if c.NoBalance {
			b.NoBalance = append(b.NoBalance, c.NS)
		}
	}
	rounds, err := configFind(ctx, s, "actionlog", bson.D{{Key: "what", Value: "balancer.round"}},
		options.Find().SetSort(bson.D{{Key: "time", Value: -1}}).SetLimit(5))
	if err != nil {
		return nil, err
	}
	for _, d := range rounds {
		rd, err := sharding.DecodeRound(d)
		if err != nil {
			return nil, err
		}
		b.Rounds = append(b.Rounds, rd)
	}
	off := plugin.Critical
	switch o.BalancerOff {
	case "ok":
		off = plugin.OK
	case "warning":
		off = plugin.Warning
	}
	r := sharding.BalancerResult(b, off)
	r.Findings[0].Text = s.Target + ": " + r.Findings[0].Text
	return r, nil
}

// shardedCollections reads the sharded collections of config.collections,
// of database db (and collection coll) when given.
func shardedCollections(ctx context.Context, s *Session, db, coll string) ([]sharding.Collection, error) {
	docs, err := configFind(ctx, s, "collections", sharding.Filter(), options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var out []sharding.Collection
	for _, d := range docs {
		var c sharding.Collection
		if err := bsondoc.Unmarshal(d, &c); err != nil {
			return nil, fmt.Errorf("decoding config.collections: %v", err)
		}
		switch {
		case coll != "" && c.NS != db+"."+coll:
		case db != "" && !strings.HasPrefix(c.NS, db+"."):
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// chunkMode is chunk-balance, or with jumbo jumbo-chunks: the shards, the
// sharded collections and their chunks counted per shard by the server
// (one aggregation on config.chunks).
func chunkMode(jumbo bool) ModeFunc {
	return func(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
		if err := requireMongos(ctx, s); err != nil {
			return nil, err
		}
		shards, err := listShards(ctx, s)
		if err != nil {
			return nil, err
		}
		colls, err := shardedCollections(ctx, s, o.Database, o.Collection)
		if err != nil {
			return nil, err
		}
		if o.Database != "" && len(colls) == 0 {
			what := o.Database
			if o.Collection != "" {
				what += "." + o.Collection
			}
			return nil, fmt.Errorf("config.collections lists no sharded collection %s: check --database and --collection (sh.status() lists them)", what)
		}
		d := sharding.Distribution{Shards: shards, Collections: colls}
		if len(colls) > 0 {
			cur, err := s.Client.Database("config").Collection("chunks").Aggregate(ctx, sharding.CountPipeline(colls, o.Database == ""))
			var groups []bson.Raw
			if err == nil {
				err = cur.All(ctx, &groups)
			}
			if err != nil {
				return nil, shardError(s, "aggregate on config.chunks", err)
			}
			if d.Counts, err = sharding.DecodeCounts(groups, colls); err != nil {
				return nil, err
			}
		}
		var r *plugin.Result
		if jumbo {
			r = sharding.JumboResult(d, o.pair(defJumboWarn, ""))
		} else {
			r = sharding.ChunkBalanceResult(d, o.pair("", ""))
		}
		last := &r.Findings[len(r.Findings)-1]
		last.Text = s.Target + ": " + last.Text
		return r, nil
	}
}
