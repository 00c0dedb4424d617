package state

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opschecks/opschecks/thresholds"
)

// Counters is a sample of monotonically increasing counters, as kept
// between runs. Of names what they were read from when that can change
// under the same state file (a network namespace): a sample of something
// else is no baseline.
type Counters struct {
	Time   time.Time          `json:"time"`
	Of     string             `json:"of,omitempty"`
	Values map[string]float64 `json:"values"`
}

// Rates is what a run learns from the previous run's sample: per-second
// rates, or why there are none this time.
type Rates struct {
	// PerSecond holds a rate for every counter of the sample; nil when
	// there is no usable previous sample.
	PerSecond map[string]float64
	// Note says why there are no rates (a baseline is being collected)
	// or what happened to the state file ("was unreadable").
	Note string
	// Err is set when the state file could not be used at all: the
	// --state-dir cannot be created or written, or another run holds
	// the lock past the deadline.
	Err error
}

// Pending says what a rate that cannot be given this run is: OK with the
// note while a baseline is collected (the first run, a counter reset, a
// damaged state file), UNKNOWN with the reason when the state file cannot
// be used. Every rate check reports it the same way: its rate findings
// take this state and text, their rates not measured (NaN, which the
// runtime leaves out of the perfdata and names in the long output), and
// its other findings are made as usual. ready is false in both cases.
func (r Rates) Pending() (st thresholds.State, why string, ready bool) {
	switch {
	case r.Err != nil:
		return thresholds.Unknown, r.Err.Error(), false
	case r.PerSecond == nil:
		return thresholds.OK, r.Note, false
	}
	return thresholds.OK, "", true
}

// Sample stores cur in the state file key under dir, in place of the
// previous run's sample, and returns the rates since that sample.
func Sample(ctx context.Context, dir Dir, key string, cur Counters) Rates {
	var r Rates
	err := Update(dir, key, Deadline(ctx), func(prev *Counters, found bool, note string) *Counters {
		if !found {
			prev = nil
		}
		r = Since(prev, cur)
		if note != "" {
			r.Note = note
		}
		return &cur
	})
	if err != nil {
		return Rates{Err: err}
	}
	return r
}

// Since turns two samples into per-second rates. There are none, with a
// note for the output, when there is no usable previous sample: none yet,
// one of something else (Of changed), a clock that went backwards or did
// not advance, or a counter that went backwards (a reboot or restart
// reset it). Rates are never negative.
func Since(prev *Counters, cur Counters) Rates {
	switch {
	case prev == nil || prev.Values == nil:
		return Rates{Note: "collecting baseline"}
	case prev.Of != cur.Of:
		return Rates{Note: fmt.Sprintf("%s changed (%s -> %s), collecting a new baseline", what(cur.Of), prev.Of, cur.Of)}
	}
	dt := cur.Time.Sub(prev.Time).Seconds()
	if dt <= 0 {
		return Rates{Note: "the clock did not advance since the last run, collecting a new baseline"}
	}
	rates := map[string]float64{}
	for k, v := range cur.Values {
		p, had := prev.Values[k]
		if !had {
			return Rates{Note: fmt.Sprintf("counter %s is new, collecting baseline", k)}
		}
		if v < p {
			return Rates{Note: fmt.Sprintf("counter %s went backwards (restart or reboot), collecting a new baseline", k)}
		}
		rates[k] = (v - p) / dt
	}
	return Rates{PerSecond: rates}
}

// what names the kind of thing an Of identifies, for the note.
func what(of string) string {
	if strings.HasPrefix(of, "net:") {
		return "the network namespace"
	}
	return "what the counters are read from"
}
