package sharding

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Balancer is what the balancer mode reads: balancerStatus (manual:
// mode "full" or "off", inBalancerRound, numBalancerRounds), the
// activeWindow of config.settings {_id: "balancer"}, the collections
// excluded with noBalance, and the last rounds of config.actionlog,
// newest first.
type Balancer struct {
	Mode      string `bson:"mode"`
	InRound   bool   `bson:"inBalancerRound"`
	NumRounds int64  `bson:"numBalancerRounds"`
	Window    [2]string
	NoBalance []string
	Rounds    []Round
}

// Round is one balancer round of config.actionlog (what
// "balancer.round"; details as BalanceRoundDetails writes them).
type Round struct {
	Time   time.Time
	Failed bool
	Errmsg string
}

// DecodeSettings reads the activeWindow of the config.settings balancer
// document (absent when never set).
func DecodeSettings(raw bson.Raw, b *Balancer) error {
	var d struct {
		ActiveWindow *struct {
			Start string `bson:"start"`
			Stop  string `bson:"stop"`
		} `bson:"activeWindow"`
	}
	if err := bsondoc.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decoding config.settings: %v", err)
	}
	if d.ActiveWindow != nil {
		b.Window = [2]string{d.ActiveWindow.Start, d.ActiveWindow.Stop}
	}
	return nil
}

// DecodeRound reads one config.actionlog entry. The failure flag is
// details.errorOccured until MongoDB 4.4 and details.errorOccurred from
// 5.0 (src/mongo/db/s/balancer/balancer.cpp): both are read.
func DecodeRound(raw bson.Raw) (Round, error) {
	var d struct {
		Time    primitive.DateTime `bson:"time"`
		Details struct {
			Occurred *bool  `bson:"errorOccurred"`
			Occured  *bool  `bson:"errorOccured"`
			Errmsg   string `bson:"errmsg"`
		} `bson:"details"`
	}
	if err := bsondoc.Unmarshal(raw, &d); err != nil {
		return Round{}, fmt.Errorf("decoding config.actionlog: %v", err)
	}
	failed := (d.Details.Occurred != nil && *d.Details.Occurred) || (d.Details.Occured != nil && *d.Details.Occured)
	return Round{Time: d.Time.Time().UTC(), Failed: failed, Errmsg: d.Details.Errmsg}, nil
}

// BalancerResult is the balancer verdict: a balancer that is off is
// offState (CRITICAL unless told otherwise: chunks pile up on one shard
// and draining never ends); collections excluded from balancing and a
// failed last round are WARNING.
func BalancerResult(b Balancer, offState plugin.State) *plugin.Result {
	var r plugin.Result
	failed := 0
	for _, x := range b.Rounds {
		if x.Failed {
			failed++
		}
	}
	perf := []plugin.Perf{
		{Label: "balancer_enabled", Value: boolValue(b.Mode == "full"), Min: plugin.F(0), Max: plugin.F(1)},
		{Label: "balancer_rounds", Value: float64(b.NumRounds), UOM: "c", Min: plugin.F(0)},
		{Label: "balancer_rounds_failed", Value: float64(failed), Min: plugin.F(0), Max: plugin.F(float64(len(b.Rounds)))},
		{Label: "collections_nobalance", Value: float64(len(b.NoBalance)), Min: plugin.F(0)},
	}
	switch b.Mode {
	case "full":
		text := "balancer enabled"
		if b.InRound {
			text += ", in a round"
		}
		f := r.Add(plugin.OK, text, perf...)
		if b.Window[0] != "" {
			f.Detailf("it balances only between %s and %s (activeWindow, the config servers' local time)", b.Window[0], b.Window[1])
		}
	default:
		mode := b.Mode
		if mode == "" {
			mode = "unknown"
		}
		r.Add(offState, fmt.Sprintf("balancer is disabled (mode %s)", mode), perf...).
			Detailf("no chunk moves: data piles up on some shards and draining shards never empty; sh.startBalancer() turns it on (--balancer-off ok while it is off on purpose)")
	}
	if len(b.NoBalance) > 0 {
		r.Add(plugin.Warning, fmt.Sprintf("%d collections excluded from balancing (noBalance): %s", len(b.NoBalance), strings.Join(b.NoBalance, ", "))).
			Detailf("sh.enableBalancing(\"db.collection\") includes one again")
	}
	if len(b.Rounds) > 0 && b.Rounds[0].Failed {
		last := b.Rounds[0]
		r.Add(plugin.Warning, fmt.Sprintf("the last balancer round failed (%s): %s", last.Time.Format(time.RFC3339), plugin.OneLine(last.Errmsg))).
			Detailf("%d of the last %d rounds failed (config.actionlog); the config servers' log tells more", failed, len(b.Rounds))
	} else if failed > 0 {
		r.Detailf("%d of the last %d balancer rounds failed; the last one succeeded", failed, len(b.Rounds))
	}
	return &r
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
