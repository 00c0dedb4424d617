package mongosim

import (
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// The collections of the local database the simulator knows: the oplog
// (capped; entries as src/mongo/db/repl/oplog_entry.idl shapes a no-op:
// op "n", ns "", o {msg: "periodic noop"}, ts, t, v 2, wall) and
// system.replset (the configuration document).
const (
	nsOplog   = "local.oplog.rs"
	nsReplset = "local.system.replset"
	// oplogEntryBytes is the size the $collStats of the oplog counts per
	// entry (one entry a second).
	oplogEntryBytes = 110
	// emptyOplogMax is the configured size of an oplog without entries
	// yet (a member in initial sync).
	emptyOplogMax = 990 << 20
)

// oplogBytes is member i's oplog: the bytes its entries use and its
// configured size (capped maxSize), which they fill to OplogFill.
func (sn snapshot) oplogBytes(i int) (used, max int64, ok bool) {
	f, l, ok := sn.oplogEnds(i)
	if !ok {
		return 0, 0, false
	}
	used = (int64(l.Sub(f)/time.Second) + 1) * oplogEntryBytes
	fill := sn.sc.Members[i].OplogFill
	if fill <= 0 {
		fill = 100
	}
	return used, int64(float64(used) * 100 / fill), true
}

// oplogEnds returns member i's first and last oplog entry times.
func (sn snapshot) oplogEnds(i int) (first, last time.Time, ok bool) {
	m := sn.sc.Members[i]
	if !m.hasOptime() {
		return time.Time{}, time.Time{}, false
	}
	window := m.OplogWindow
	if window == 0 {
		window = 48 * time.Hour
	}
	last = sn.optime(i)
	return last.Add(-window), last, true
}

func (sn snapshot) oplogEntry(at time.Time) bson.D {
	return bson.D{
		{Key: "op", Value: "n"}, {Key: "ns", Value: ""},
		{Key: "o", Value: bson.D{{Key: "msg", Value: "periodic noop"}}},
		{Key: "ts", Value: ts(at)}, {Key: "t", Value: sn.maxTerm()}, {Key: "v", Value: int64(2)},
		{Key: "wall", Value: date(at)},
	}
}

// cursorReply is a find/aggregate/listCollections reply whose first batch
// is the whole result (manual, "find" output: cursor {firstBatch, id,
// ns}).
func cursorReply(ns string, batch bson.A) bson.D {
	return bson.D{{Key: "cursor", Value: bson.D{
		{Key: "firstBatch", Value: batch},
		{Key: "id", Value: int64(0)},
		{Key: "ns", Value: ns},
	}}, {Key: "ok", Value: 1.0}}
}

// find answers queries on local.oplog.rs with the first ({$natural: 1})
// or last ({$natural: -1}) entry, and on local.system.replset with the
// configuration.
func (s *Set) find(i int, r *Request) bson.D {
	sn := s.snap()
	coll, _ := r.Cmd.Lookup("find").StringValueOK()
	ns := r.DB + "." + coll
	batch := bson.A{}
	switch ns {
	case nsOplog:
		if first, last, ok := sn.oplogEnds(i); ok {
			at := first
			if dir, ok := r.Cmd.Lookup("sort", "$natural").AsInt64OK(); ok && dir < 0 {
				at = last
			}
			batch = append(batch, sn.oplogEntry(at))
		}
	case nsReplset:
		batch = append(batch, sn.config())
	}
	return cursorReply(ns, batch)
}

func (s *Set) getMore(r *Request) bson.D {
	coll, _ := r.Cmd.Lookup("collection").StringValueOK()
	return bson.D{{Key: "cursor", Value: bson.D{{Key: "id", Value: int64(0)},
		{Key: "ns", Value: r.DB + "." + coll}, {Key: "nextBatch", Value: bson.A{}}}}, {Key: "ok", Value: 1.0}}
}

// listCollections lists what member i's local database holds: oplog.rs
// (capped) and system.replset (manual, listCollections output: name,
// type, options, info).
func (s *Set) listCollections(i int, r *Request) bson.D {
	sn := s.snap()
	batch := bson.A{}
	if r.DB == "local" && sn.sc.Members[i].State != Arbiter {
		_, max, ok := sn.oplogBytes(i)
		if !ok {
			max = emptyOplogMax
		}
		batch = append(batch,
			bson.D{{Key: "name", Value: "oplog.rs"}, {Key: "type", Value: "collection"},
				{Key: "options", Value: bson.D{{Key: "capped", Value: true}, {Key: "size", Value: float64(max)}}},
				{Key: "info", Value: bson.D{{Key: "readOnly", Value: false}}}},
			bson.D{{Key: "name", Value: "system.replset"}, {Key: "type", Value: "collection"},
				{Key: "options", Value: bson.D{}},
				{Key: "info", Value: bson.D{{Key: "readOnly", Value: false}}}})
	}
	return cursorReply(r.DB+".$cmd.listCollections", batch)
}

// aggregate answers the two pipelines mongosh's replication helpers send:
// countDocuments on local.system.replset ([{$match: {}}, {$group: {_id:
// 1, n: {$sum: 1}}}]) and $collStats {storageStats} on local.oplog.rs
// (manual, $collStats: storageStats holds collStats' fields: size, count,
// avgObjSize, storageSize, capped, max, maxSize, nindexes,
// totalIndexSize, indexSizes). Any other pipeline is refused, so a test
// never passes on an answer the simulator made up.
func (s *Set) aggregate(i int, r *Request) bson.D {
	sn := s.snap()
	coll, _ := r.Cmd.Lookup("aggregate").StringValueOK()
	ns := r.DB + "." + coll
	stages, _ := r.Cmd.Lookup("pipeline").ArrayOK()
	vals, _ := stages.Values()
	first := ""
	if len(vals) > 0 {
		if st, ok := vals[0].DocumentOK(); ok {
			if e, err := st.IndexErr(0); err == nil {
				first = e.Key()
			}
		}
	}
	switch {
	case ns == nsReplset && first == "$match":
		return cursorReply(ns, bson.A{bson.D{{Key: "_id", Value: int32(1)}, {Key: "n", Value: int32(1)}}})
	case ns == nsOplog && first == "$collStats":
		size, max, ok := sn.oplogBytes(i)
		if !ok {
			return CommandError(codes.NamespaceNotFound, "Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [local.oplog.rs] not found.")
		}
		count := size / oplogEntryBytes
		return cursorReply(ns, bson.A{bson.D{
			{Key: "ns", Value: ns},
			{Key: "host", Value: sn.addrs[i]},
			{Key: "localTime", Value: date(sn.now)},
			{Key: "storageStats", Value: bson.D{
				{Key: "size", Value: size},
				{Key: "count", Value: count},
				{Key: "avgObjSize", Value: int32(oplogEntryBytes)},
				{Key: "storageSize", Value: size / 3},
				{Key: "capped", Value: true},
				{Key: "max", Value: int64(-1)},
				{Key: "maxSize", Value: max},
				{Key: "nindexes", Value: int32(0)},
				{Key: "totalIndexSize", Value: int64(0)},
				{Key: "indexSizes", Value: bson.D{}},
			}},
		}})
	}
	return CommandError(codes.BadValue, fmt.Sprintf("mongosim answers no aggregate %v on %s", first, ns))
}
