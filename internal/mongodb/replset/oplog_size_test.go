package replset

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

func TestDecodeOplogSize(t *testing.T) {
	raw, _ := bson.Marshal(bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: bson.A{bson.D{{Key: "ns", Value: "local.oplog.rs"},
		{Key: "storageStats", Value: bson.D{{Key: "size", Value: int64(907806)}, {Key: "count", Value: int32(4341)}, {Key: "maxSize", Value: int64(16777216)}}}}}}, {Key: "id", Value: int64(0)}}}, {Key: "ok", Value: 1.0}})
	s, err := DecodeOplogSize(raw)
	if err != nil || s.Max != 16777216 || s.Used != 907806 {
		t.Fatalf("%+v %v", s, err)
	}
	raw, _ = bson.Marshal(bson.D{{Key: "cursor", Value: bson.D{{Key: "firstBatch", Value: bson.A{}}}}})
	if _, err := DecodeOplogSize(raw); err == nil {
		t.Fatal("an empty reply decoded")
	}
}

func TestOplogWindowBySize(t *testing.T) {
	r := func(s string) *thresholds.Range { x := thresholds.MustParse(s); return &x }
	last := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	win := func(span time.Duration, size *OplogSize) *Window {
		return &Window{First: last.Add(-span), Last: last, Span: span, Member: "db1:27017", Where: "rs0 via db1:27017 (PRIMARY)", Size: size}
	}
	const mib = 1 << 20
	for _, tc := range []struct {
		name  string
		w     *Window
		state plugin.State
		text  []string
	}{
		{"young oplog: a short window that grows", win(2*time.Hour, &OplogSize{Max: 1000 * mib, Used: 50 * mib}), plugin.OK,
			[]string{"oplog window 2.00 h, oplog 5% full: 40.00 h when full", "oplog_window_hours=2;;;0 oplog_window_full_hours=40;24:;4:;0 oplog_size=1048576000B;;;0 oplog_used=52428800B;;;0;1048576000 oplog_fill=5%;;;0", "not full yet"}},
		{"enlarged to twice: 20 h when full", win(10*time.Hour, &OplogSize{Max: 2000 * mib, Used: 1000 * mib}), plugin.Warning, []string{"oplog 50% full: 20.00 h when full"}},
		{"full and short", win(2*time.Hour, &OplogSize{Max: 1000 * mib, Used: 990 * mib}), plugin.Critical, []string{"oplog window 2.00 h, oplog full (99% of 1000.0 MiB)", "oplog_window_full_hours=2;24:;4:;0"}},
		{"above its size (minRetentionHours)", win(30*time.Hour, &OplogSize{Max: 1000 * mib, Used: 1500 * mib}), plugin.OK, []string{"oplog full (150% of 1000.0 MiB)", "oplog_fill=150%"}},
		// One quantity, one rounding: an oplog of 3,960,110 bytes, full,
		// was "100% of 4 MiB" in the summary and "used 3.8 MiB" below.
		{"full, a size between two whole MiB", win(2*time.Hour, &OplogSize{Max: 3960110, Used: 3960110}), plugin.Critical,
			[]string{"oplog full (100% of 3.8 MiB)", "configured size 3.8 MiB, used 3.8 MiB (100%)", "oplog_fill=100%"}},
		{"fill and hours as the perfdata rounds them", win(2*time.Hour, &OplogSize{Max: 3 * mib, Used: 1 * mib}), plugin.Warning,
			[]string{"oplog 33.33% full: 6.00 h when full", "(33.33%)", "oplog_window_full_hours=6;", "oplog_fill=33.33%"}},
		{"size unknown: the window as it is", win(2*time.Hour, nil), plugin.Critical, []string{"oplog window 2.00 h | oplog_window_hours=2;24:;4:;0"}},
	} {
		out, st := plugin.Render("MONGODB", OplogWindowResult(tc.w, r("24:"), r("4:")))
		if st != tc.state {
			t.Errorf("%s: %s, want %s:\n%s", tc.name, st, tc.state, out)
		}
		for _, want := range tc.text {
			if !strings.Contains(out, want) {
				t.Errorf("%s: lacks %q:\n%s", tc.name, want, out)
			}
		}
	}
}
