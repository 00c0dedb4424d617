package mongodb

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Default thresholds of oplog-window, in hours: low is bad.
const (
	defOplogWarn = "24:"
	defOplogCrit = "4:"
)

func init() {
	register("oplog-window", Mode{Run: modeOplogWindow, Validate: rsNoMember})
}

// oplogWindow is the time between the first and the last entry of a
// member's oplog.
type oplogWindow struct {
	First, Last time.Time
	Span        time.Duration
	Member      string
	// Where names the set and member for the summary ("rs0 via
	// host:port (PRIMARY)"); empty outside a replica set.
	Where string
	Note  string
}

// oplogEntry is the part of an oplog entry the window needs.
type oplogEntry struct {
	TS   primitive.Timestamp `bson:"ts"`
	Wall primitive.DateTime  `bson:"wall"`
}

func (e oplogEntry) time() time.Time {
	if e.TS.T > 0 {
		return time.Unix(int64(e.TS.T), 0).UTC()
	}
	return rsDate(e.Wall)
}

// DecodeOplogEntry reads the find reply's single entry (cursor.firstBatch
// of a find with limit 1); ok is false for an empty oplog.
func DecodeOplogEntry(raw bson.Raw) (t time.Time, ok bool, err error) {
	var reply struct {
		Cursor struct {
			FirstBatch []oplogEntry `bson:"firstBatch"`
		} `bson:"cursor"`
	}
	if err := bson.Unmarshal(raw, &reply); err != nil {
		return time.Time{}, false, fmt.Errorf("decoding the oplog entry: %v", err)
	}
	if len(reply.Cursor.FirstBatch) == 0 {
		return time.Time{}, false, nil
	}
	t = reply.Cursor.FirstBatch[0].time()
	if t.IsZero() {
		return time.Time{}, false, &MissingError{Field: "local.oplog.rs entry ts"}
	}
	return t, true, nil
}

// oplogEnd runs find on local.oplog.rs for the first (dir 1) or last
// (dir -1) entry in natural order, which is what an oplog scan costs
// least for.
func (rc *replClient) oplogEnd(ctx context.Context, dir int) (time.Time, error) {
	var raw bson.Raw
	cmd := bson.D{
		{Key: "find", Value: "oplog.rs"},
		{Key: "filter", Value: bson.D{}},
		{Key: "sort", Value: bson.D{{Key: "$natural", Value: dir}}},
		{Key: "projection", Value: bson.D{{Key: "ts", Value: 1}, {Key: "wall", Value: 1}}},
		{Key: "limit", Value: 1},
		{Key: "singleBatch", Value: true},
	}
	if err := rc.run(ctx, "local", cmd, &raw); err != nil {
		return time.Time{}, rsError(rc.s, "find on local.oplog.rs", err)
	}
	t, ok, err := DecodeOplogEntry(raw)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, fmt.Errorf("local.oplog.rs on %s is empty or missing: the member is not part of a replica set, or is an arbiter", rc.member())
	}
	return t, nil
}

// member names the member the client talks to.
func (rc *replClient) member() string {
	if rc.hello != nil && rc.hello.Me != "" {
		return rc.hello.Me
	}
	return rc.s.Target
}

// oplogWindow measures the oplog window of the chosen member: the
// primary when there is one.
func (rc *replClient) oplogWindow(ctx context.Context) (*oplogWindow, error) {
	first, err := rc.oplogEnd(ctx, 1)
	if err != nil {
		return nil, err
	}
	last, err := rc.oplogEnd(ctx, -1)
	if err != nil {
		return nil, err
	}
	w := &oplogWindow{First: first, Last: last, Span: last.Sub(first), Member: rc.member(), Where: rsHelloWhere(rc.hello)}
	if h := rc.hello; h != nil && !h.Writable && h.SetName != "" {
		if !rc.s.Direct && rc.pinned == nil {
			// No primary and no pinned member: any secondary may have
			// answered the finds, so name none.
			w.Member = "a secondary of " + h.SetName
			w.Where = h.SetName + " via a secondary (no reachable primary)"
		}
		w.Note = fmt.Sprintf("the oplog window was measured on %s, which is not the primary", w.Member)
	}
	return w, nil
}

func modeOplogWindow(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	rc, err := openRepl(ctx, s, true)
	if err != nil {
		return nil, err
	}
	defer rc.close(ctx)
	w, err := rc.oplogWindow(ctx)
	if err != nil {
		return nil, err
	}
	r := rsOplogResult(w, orDefault(o.Warning, defOplogWarn), orDefault(o.Critical, defOplogCrit))
	for _, n := range rc.notes {
		r.Detailf("%s", n)
	}
	return r, nil
}

func rsOplogResult(w *oplogWindow, warn, crit *thresholds.Range) *plugin.Result {
	hours := math.Round(w.Span.Hours()*100) / 100
	perf := plugin.Perf{Label: "oplog_window_hours", Value: hours, Thresholds: thresholds.NewPair(warn, crit), Min: plugin.F(0)}
	st := perf.State()
	var r plugin.Result
	text := fmt.Sprintf("oplog window %.2f h on %s", hours, w.Member)
	if w.Where != "" {
		text = fmt.Sprintf("%s: oplog window %.2f h", w.Where, hours)
	}
	f := r.Add(st, text, perf)
	f.Detailf("first entry %s, last entry %s", w.First.Format(time.RFC3339), w.Last.Format(time.RFC3339))
	if w.Note != "" {
		f.Detailf("%s", w.Note)
	}
	if st != plugin.OK {
		f.Detailf("a secondary that is down or behind for longer than the window cannot catch up and needs an initial sync: enlarge the oplog (db.adminCommand({replSetResizeOplog: 1, size: MB})) or set a minimum retention (minRetentionHours)")
	}
	return &r
}
