package mongodb_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// oplog-window judges the window the oplog holds once full: a young or
// enlarged oplog is not a short window; a full one is judged as it is.
// Its size, used bytes and fill come next to it, and equal what mongosh's
// db.getReplicationInfo() reads on the same member.
func TestOplogWindowSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		fill   float64
		code   int
		text   string
		full   float64
	}{
		{"young", 2 * time.Hour, 5, 0, "oplog window 2.00 h, oplog 5% full: 40.00 h when full", 40},
		{"enlarged", 10 * time.Hour, 50, 1, "oplog window 10.00 h, oplog 50% full: 20.00 h when full", 20},
		{"full and short", 2 * time.Hour, 100, 2, "oplog window 2.00 h, oplog full (100% of 773.5 KiB)", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := rsThree(0, 0)
			sc.Members[0].OplogWindow, sc.Members[0].OplogFill = tc.window, tc.fill
			set := mongosim.Start(t, sc)
			r := rsRun(t, nil, "--uri", set.URI(), "--mode", "oplog-window")
			rsWant(t, r, tc.code, "rs0 via "+set.Addr(0)+" (PRIMARY): "+tc.text)
			if v := testenv.PerfValue(t, r, "oplog_window_full_hours"); math.Abs(v-tc.full) > 0.01 {
				t.Errorf("oplog_window_full_hours %v, want %v", v, tc.full)
			}

			out, err := testenv.RunMongosh(t, set.DirectURI(0), `print("INFO " + JSON.stringify(db.getSiblingDB("admin").getReplicationInfo())); print("END");`)
			if err != nil || !strings.Contains(out, "END") {
				t.Fatalf("mongosh failed (%v):\n%s", err, out)
			}
			_, js, _ := strings.Cut(out, "INFO ")
			js, _, _ = strings.Cut(js, "\n")
			var info struct {
				ConfiguredLogSizeMB, UsedMB, TimeDiffHours float64
			}
			if err := json.Unmarshal([]byte(js), &info); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			const mb = 1 << 20
			// mongosh rounds usedMB up to 1/100 MB and the hours to 1/100.
			if got := testenv.PerfValue(t, r, "oplog_size") / mb; math.Abs(got-info.ConfiguredLogSizeMB) > 1e-6 {
				t.Errorf("configured size: mongosh %v MB, check %v MB", info.ConfiguredLogSizeMB, got)
			}
			if got := testenv.PerfValue(t, r, "oplog_used") / mb; math.Ceil(got*100)/100 != info.UsedMB {
				t.Errorf("used: mongosh %v MB, check %v MB", info.UsedMB, got)
			}
			if got := testenv.PerfValue(t, r, "oplog_window_hours"); math.Abs(got-info.TimeDiffHours) > 0.01 {
				t.Errorf("window: mongosh %v h, check %v h", info.TimeDiffHours, got)
			}
		})
	}
}
