package replset

import (
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// oplogEntry is the part of an oplog entry the window needs
// (src/mongo/db/repl/oplog_entry.idl: ts, wall).
type oplogEntry struct {
	TS   primitive.Timestamp `bson:"ts"`
	Wall primitive.DateTime  `bson:"wall"`
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
	e := reply.Cursor.FirstBatch[0]
	if e.TS.T > 0 {
		t = time.Unix(int64(e.TS.T), 0).UTC()
	} else {
		t = Date(e.Wall)
	}
	if t.IsZero() {
		return time.Time{}, false, &MissingError{Field: "local.oplog.rs entry ts"}
	}
	return t, true, nil
}

// OplogWindowResult is the oplog-window verdict: the window in hours by
// the thresholds (low is bad).
func OplogWindowResult(w *Window, warn, crit *thresholds.Range) *plugin.Result {
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
