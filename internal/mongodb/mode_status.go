package mongodb

import (
	"context"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

// Default thresholds of the serverStatus modes that have one.
const (
	defConnectionsWarn = "80" // % of current + available
	defConnectionsCrit = "90"
	defCacheWarn       = "95" // % of the configured cache
	defCacheCrit       = "99"
	defQueuesWarn      = "10" // readers or writers waiting
	defQueuesCrit      = "50"
)

func init() {
	register("connections", Mode{Run: modeConnections, Warning: defConnectionsWarn, Critical: defConnectionsCrit,
		Doc: "serverStatus.connections: connections in use, in % of current + available; the count and the creation rate by --count-*/--rate-*"})
	register("memory", Mode{Run: statusMode(memoryResult), Metric: true,
		Doc: "serverStatus.mem: resident memory in MiB"})
	register("wiredtiger-cache", Mode{Run: statusMode(wiredTigerResult), Warning: defCacheWarn, Critical: defCacheCrit,
		Doc: "serverStatus.wiredTiger.cache: % of the configured cache in use; its dirty part by --dirty-warning/--dirty-critical"})
	register("queues", Mode{Run: statusMode(queuesResult), Warning: defQueuesWarn, Critical: defQueuesCrit,
		Doc: "serverStatus.globalLock.currentQueue: readers and writers waiting for a lock, each"})
}

// serverStatus fetches serverStatus without the sections no mode reads.
func (s *Session) serverStatus(ctx context.Context) (Doc, error) {
	return s.statusWith(ctx, bson.E{Key: "repl", Value: 0}, bson.E{Key: "metrics", Value: 0}, bson.E{Key: "locks", Value: 0})
}

// statusMode turns a pure function of the serverStatus document into a
// mode; the functions are tested on fixture documents.
func statusMode(f func(ss Doc, target string, o *Options) (*plugin.Result, error)) ModeFunc {
	return func(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
		ss, err := s.serverStatus(ctx)
		if err != nil {
			return nil, err
		}
		return f(ss, s.Target, o)
	}
}

// modeConnections judges the connections in use (percent of the limit,
// and with --count-warning/--count-critical their number) and, when
// --rate-warning or --rate-critical is given, the connections created
// per second since the previous run (connections.totalCreated, kept in
// the state file): a client that opens a connection per request shows
// there long before the limit is reached.
func modeConnections(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	ss, err := s.serverStatus(ctx)
	if err != nil {
		return nil, err
	}
	r, err := connectionsResult(ss, s.Target, o)
	if err != nil || (o.RateWarning == nil && o.RateCritical == nil) {
		return r, err
	}
	created, err := ss.Num("connections", "totalCreated")
	if err != nil {
		return nil, err
	}
	creationRate(r, sampleCounters(ctx, o, ss, map[string]float64{"created": created}, "connections-created", s.Target, o.User), o)
	return r, nil
}

func connectionsResult(ss Doc, target string, o *Options) (*plugin.Result, error) {
	v, err := ss.Nums([]string{"connections"}, "current", "available")
	if err != nil {
		return nil, err
	}
	cur, avail := v[0], v[1]
	limit := cur + avail
	pct := 0.0
	if limit > 0 {
		pct = cur / limit * 100
	}
	used := plugin.Perf{Label: "connections_used", Value: round(pct, 2), UOM: "%", Thresholds: o.pair(defConnectionsWarn, defConnectionsCrit), Min: plugin.F(0), Max: plugin.F(100)}
	current := plugin.Perf{Label: "connections_current", Value: cur, Thresholds: thresholds.NewPair(o.CountWarning, o.CountCritical), Min: plugin.F(0), Max: plugin.F(limit)}
	var r plugin.Result
	f := r.Add(plugin.Worst(used.State(), current.State()), fmt.Sprintf("%s: %.0f of %.0f connections used (%.1f%%)", target, cur, limit, pct),
		used, current, plugin.Perf{Label: "connections_available", Value: avail, Min: plugin.F(0)})
	if created, err := ss.Num("connections", "totalCreated"); err == nil {
		f.Perf = append(f.Perf, plugin.Perf{Label: "connections_created", Value: created, UOM: "c", Min: plugin.F(0)})
	}
	if st := current.State(); st != plugin.OK {
		f.Detailf("%.0f connections are open, in the %s range of --count-warning/--count-critical", cur, st)
	}
	if f.State != plugin.OK {
		f.Detailf("the limit is net.maxIncomingConnections and the open-files limit of mongod (ulimit -n, LimitNOFILE in the systemd unit); look for clients that leak connections or use too large pools (db.currentOp(), serverStatus.connections)")
	}
	return &r, nil
}

// creationRate adds the finding of the connections created per second,
// judged by --rate-warning/--rate-critical.
func creationRate(r *plugin.Result, rates state.Rates, o *Options) {
	pair := thresholds.NewPair(o.RateWarning, o.RateCritical)
	if st, why, ready := rates.Pending(); !ready {
		r.Add(st, "connections created: "+why, plugin.Perf{Label: "connections_created_rate", Value: math.NaN(), Thresholds: pair, Min: plugin.F(0)})
		return
	}
	p := plugin.Perf{Label: "connections_created_rate", Value: round(rates.PerSecond["created"], 3), Thresholds: pair, Min: plugin.F(0)}
	f := r.Judge(fmt.Sprintf("%s connections created per second", fmtNum(p.Value)), p)
	if f.State != plugin.OK {
		f.Detailf("clients that connect for every request (no pool, or a pool that is recreated) cost the server a thread and authentication each time; find them by appName and client address in the mongod log (\"Connection accepted\") or db.currentOp(true)")
	}
}

func memoryResult(ss Doc, target string, o *Options) (*plugin.Result, error) {
	v, err := ss.Nums([]string{"mem"}, "resident", "virtual")
	if err != nil {
		return nil, err
	}
	res, virt := v[0], v[1]
	// serverStatus.mem is in MiB; the perfdata is in bytes, since the
	// guidelines' "MB" is read as 10^6 bytes (Icinga 2's PerfdataValue::Parse
	// would record a MiB figure 4.6% low). -w/-c stay in MiB, scaled with it.
	const mib = 1 << 20
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s: resident memory %.0f MiB (virtual %.0f MiB)", target, res, virt),
		plugin.Perf{Label: "mem_resident", Value: res * mib, UOM: "B", Thresholds: o.pair("", "").Scale(mib), Min: plugin.F(0)},
		plugin.Perf{Label: "mem_virtual", Value: virt * mib, UOM: "B", Min: plugin.F(0)},
	)
	if f.State != plugin.OK {
		f.Detailf("most of mongod's memory is the WiredTiger cache (storage.wiredTiger.engineConfig.cacheSizeGB, 50%% of RAM minus 1 GiB by default); lower it or add memory")
	}
	return &r, nil
}

func wiredTigerResult(ss Doc, target string, o *Options) (*plugin.Result, error) {
	if !ss.Has("wiredTiger") {
		if eng := ss.Str("storageEngine", "name"); eng != "" {
			return nil, &MissingError{Field: "serverStatus.wiredTiger", Note: "the storage engine is " + eng + ", not wiredTiger"}
		}
	}
	v, err := ss.Nums([]string{"wiredTiger", "cache"}, "maximum bytes configured", "bytes currently in the cache", "tracked dirty bytes in the cache")
	if err != nil {
		return nil, err
	}
	maxB, used, dirty := v[0], v[1], v[2]
	if maxB <= 0 {
		return nil, fmt.Errorf("serverStatus.wiredTiger.cache.maximum bytes configured is %.0f: expected a positive cache size", maxB)
	}
	usedPct, dirtyPct := used/maxB*100, dirty/maxB*100
	dirtyPair := thresholds.NewPair(orDefault(o.DirtyWarning, "10"), orDefault(o.DirtyCritical, "20"))
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s: WiredTiger cache %.1f%% used (%s of %s)", target, usedPct, plugin.Bytes(used), plugin.Bytes(maxB)),
		plugin.Perf{Label: "cache_used", Value: round(usedPct, 2), UOM: "%", Thresholds: o.pair(defCacheWarn, defCacheCrit), Min: plugin.F(0), Max: plugin.F(100)},
		plugin.Perf{Label: "cache_used_bytes", Value: used, UOM: "B", Min: plugin.F(0), Max: plugin.F(maxB)},
	)
	if f.State != plugin.OK {
		f.Detailf("above 95%% of the cache application threads evict pages themselves and requests stall; give the cache more memory (cacheSizeGB) or reduce the working set (indexes, queries that scan)")
	}
	g := r.Judge(fmt.Sprintf("dirty %.1f%% (%s)", dirtyPct, plugin.Bytes(dirty)),
		plugin.Perf{Label: "cache_dirty", Value: round(dirtyPct, 2), UOM: "%", Thresholds: dirtyPair, Min: plugin.F(0), Max: plugin.F(100)},
		plugin.Perf{Label: "cache_dirty_bytes", Value: dirty, UOM: "B", Min: plugin.F(0)},
	)
	if g.State != plugin.OK {
		g.Detailf("above 20%% dirty WiredTiger makes application threads write pages out; the disks do not keep up with the write load (iostat), or checkpoints are slow")
	}
	return &r, nil
}

func queuesResult(ss Doc, target string, o *Options) (*plugin.Result, error) {
	v, err := ss.Nums([]string{"globalLock", "currentQueue"}, "readers", "writers")
	if err != nil {
		return nil, err
	}
	rd, wr := v[0], v[1]
	pair := o.pair(defQueuesWarn, defQueuesCrit)
	readers := plugin.Perf{Label: "queue_readers", Value: rd, Thresholds: pair, Min: plugin.F(0)}
	writers := plugin.Perf{Label: "queue_writers", Value: wr, Thresholds: pair, Min: plugin.F(0)}
	st := plugin.Worst(readers.State(), writers.State())
	var r plugin.Result
	f := r.Add(st, fmt.Sprintf("%s: %.0f readers and %.0f writers queued", target, rd, wr), readers, writers)
	if ar, err := ss.Num("globalLock", "activeClients", "readers"); err == nil {
		aw, _ := ss.Num("globalLock", "activeClients", "writers")
		f.Perf = append(f.Perf,
			plugin.Perf{Label: "active_readers", Value: ar, Min: plugin.F(0)},
			plugin.Perf{Label: "active_writers", Value: aw, Min: plugin.F(0)})
	}
	if st != plugin.OK {
		f.Detailf("operations wait for a lock or an execution ticket; find long-running operations with db.currentOp({secs_running: {$gt: 1}}) and slow queries in the log, and check the disks")
	}
	return &r, nil
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
