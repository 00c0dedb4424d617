package replset

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
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
	if err := bsondoc.Unmarshal(raw, &reply); err != nil {
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

// OplogSize is the oplog's configured maximum and the bytes it holds:
// storageStats.maxSize and storageStats.size of $collStats on
// local.oplog.rs (manual, $collStats; the same figures collStats gives
// and mongosh's db.getReplicationInfo() reads as configuredLogSizeMB and
// usedMB). Both are uncompressed sizes, the ones the capped oplog is
// truncated by.
type OplogSize struct {
	Max, Used float64
}

// DecodeOplogSize reads the aggregate reply of [{$collStats:
// {storageStats: {}}}] on local.oplog.rs.
func DecodeOplogSize(raw bson.Raw) (*OplogSize, error) {
	var reply struct {
		Cursor struct {
			FirstBatch []struct {
				StorageStats struct {
					MaxSize *float64 `bson:"maxSize"`
					Size    *float64 `bson:"size"`
				} `bson:"storageStats"`
			} `bson:"firstBatch"`
		} `bson:"cursor"`
	}
	if err := bsondoc.Unmarshal(raw, &reply); err != nil {
		return nil, fmt.Errorf("decoding $collStats of local.oplog.rs: %v", err)
	}
	if len(reply.Cursor.FirstBatch) == 0 {
		return nil, &MissingError{Field: "$collStats of local.oplog.rs"}
	}
	st := reply.Cursor.FirstBatch[0].StorageStats
	if st.MaxSize == nil || st.Size == nil || *st.MaxSize <= 0 {
		return nil, &MissingError{Field: "local.oplog.rs storageStats.maxSize and size"}
	}
	return &OplogSize{Max: *st.MaxSize, Used: *st.Size}, nil
}

// fullFill is the fill from which an oplog counts as full. Once full,
// the server removes its oldest entries in blocks, so the fill of a full
// oplog stays a little under 100 %; an oplog filled to less than this
// is young (or was enlarged) and its window is still growing.
const fullFill = 80

// Projected is the window the oplog will hold once full, at the write
// rate its entries show so far (used bytes over the window), and its
// fill in percent; for an oplog that is full the window it holds.
func (w *Window) Projected() (window time.Duration, fill float64, ok bool) {
	if w.Size == nil || w.Size.Max <= 0 || w.Size.Used <= 0 {
		return 0, 0, false
	}
	fill = w.Size.Used / w.Size.Max * 100
	if fill >= fullFill {
		return w.Span, fill, true
	}
	return time.Duration(float64(w.Span) * w.Size.Max / w.Size.Used), fill, true
}

// OplogWindowResult is the oplog-window verdict: the window in hours by
// the thresholds (low is bad).
//
// With the oplog's size known, the thresholds judge the window it holds
// once full (Projected): a young or enlarged oplog holds a short window
// only because it has not filled yet. Its configured size, used bytes
// and fill are reported next to it.
func OplogWindowResult(w *Window, warn, crit *thresholds.Range) *plugin.Result {
	// One rounding for each quantity in the text, the details and the
	// perfdata alike: hours and percent to two decimals, sizes by
	// plugin.Bytes.
	round2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	pct := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) } // as the perfdata writes it
	hours := round2(w.Span.Hours())
	pair := thresholds.NewPair(warn, crit)
	perf := plugin.Perf{Label: "oplog_window_hours", Value: hours, Thresholds: pair, Min: plugin.F(0)}
	judged := &perf
	var more []plugin.Perf
	full, rawFill, sized := w.Projected()
	fullHours, fill := round2(full.Hours()), round2(rawFill)
	if sized {
		perf.Thresholds = thresholds.Pair{}
		more = []plugin.Perf{
			{Label: "oplog_window_full_hours", Value: fullHours, Thresholds: pair, Min: plugin.F(0)},
			{Label: "oplog_size", Value: w.Size.Max, UOM: "B", Min: plugin.F(0)},
			{Label: "oplog_used", Value: w.Size.Used, UOM: "B", Min: plugin.F(0), Max: plugin.F(w.Size.Max)},
			{Label: "oplog_fill", Value: fill, UOM: "%", Min: plugin.F(0)},
		}
		judged = &more[0]
	}
	st := judged.State()
	var r plugin.Result
	text := fmt.Sprintf("oplog window %.2f h on %s", hours, w.Member)
	if w.Where != "" {
		text = fmt.Sprintf("%s: oplog window %.2f h", w.Where, hours)
	}
	if sized && rawFill < fullFill {
		text += fmt.Sprintf(", oplog %s%% full: %.2f h when full", pct(fill), fullHours)
	} else if sized {
		text += fmt.Sprintf(", oplog full (%s%% of %s)", pct(fill), plugin.Bytes(w.Size.Max))
	}
	f := r.Add(st, text, append([]plugin.Perf{perf}, more...)...)
	f.Detailf("first entry %s, last entry %s", w.First.Format(time.RFC3339), w.Last.Format(time.RFC3339))
	if sized {
		f.Detailf("configured size %s, used %s (%s%%)", plugin.Bytes(w.Size.Max), plugin.Bytes(w.Size.Used), pct(fill))
		if rawFill < fullFill {
			f.Detailf("the oplog is not full yet (young, or enlarged): its window grows until it is; judged is the window it will hold when full, %.2f h at the write rate of its %.2f h so far", fullHours, hours)
		}
	}
	if w.Note != "" {
		f.Detailf("%s", w.Note)
	}
	if st != plugin.OK {
		f.Detailf("a secondary that is down or behind for longer than the window cannot catch up and needs an initial sync: enlarge the oplog (db.adminCommand({replSetResizeOplog: 1, size: MB})) or set a minimum retention (minRetentionHours)")
	}
	return &r
}
