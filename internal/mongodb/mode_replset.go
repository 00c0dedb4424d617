package mongodb

import (
	"context"
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/mongodb/replset"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

// Default thresholds of the replica-set modes (README, "check_mongodb:
// replica-set modes").
const (
	defLagWarn    = "60"
	defLagCrit    = "300"
	defLagPctWarn = "50"
	defLagPctCrit = "80"
	defOplogWarn  = "24:"
	defOplogCrit  = "4:"
)

func init() {
	register("replication-lag", Mode{Run: lagMode(false), Warning: defLagWarn, Critical: defLagCrit,
		Doc: "replSetGetStatus: how far each member (--member self|all) is behind the primary, in seconds"})
	register("replication-lag-percent", Mode{Run: lagMode(true), Warning: defLagPctWarn, Critical: defLagPctCrit,
		Doc: "the lag of each member in % of the oplog window it must stay within"})
	register("replset-state", Mode{Run: modeReplsetState,
		Doc: "the state of every member, the primaries and the voting majority: WARNING for a member down or syncing, CRITICAL without a primary or a majority"})
	register("primary-change", Mode{Run: modePrimaryChange,
		Doc: "the primary and its election term against the last run's: WARNING for --hold after a change or a re-election, CRITICAL without a primary"})
	register("oplog-window", Mode{Run: modeOplogWindow, Warning: defOplogWarn, Critical: defOplogCrit,
		Doc: "hours the oplog holds once full (between its first and last entry; projected while it fills): low is bad"})
}

// lagMode is replication-lag, or with percent replication-lag-percent,
// which also measures an oplog window to express the lag as part of it.
func lagMode(percent bool) ModeFunc {
	warn, crit := defLagWarn, defLagCrit
	if percent {
		warn, crit = defLagPctWarn, defLagPctCrit
	}
	return func(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
		rc, v, err := fetchRepl(ctx, s)
		if err != nil {
			return nil, err
		}
		defer rc.close(ctx)
		scope := replset.LagScope(o.Member)
		if scope == "" && !s.Direct {
			scope = "all"
		}
		var w *replset.Window
		if percent {
			if w, err = lagWindow(ctx, rc, v.Status, scope); err != nil {
				return nil, err
			}
		}
		return replset.Lag(v, scope, orDefault(o.Warning, warn), orDefault(o.Critical, crit), w)
	}
}

// lagWindow is the oplog window a lag is a part of. A member falls off
// when its lag exceeds the window of the member it copies from, so for a
// secondary reported on its own (--member self, the default directly on
// a secondary) that is its sync source's window; otherwise the window of
// the member answering, the primary.
func lagWindow(ctx context.Context, rc *replClient, st *replset.Status, scope replset.LagScope) (*replset.Window, error) {
	self := st.Self()
	onSecondary := self != nil && self.State != replset.Primary
	if !onSecondary || (scope == "all" && !rc.s.Direct) {
		return rc.oplogWindow(ctx)
	}
	if scope == "all" {
		if ps := st.Primaries(); len(ps) == 1 {
			w, err := rc.sourceWindow(ctx, ps[0].Name)
			if err != nil {
				return nil, fmt.Errorf("cannot read the oplog window of the primary %s (%s): the lag of the members is a part of it, and %s's own window does not bound it", ps[0].Name, errText(err), self.Name)
			}
			w.Source = false
			return w, nil
		}
		return nil, fmt.Errorf("%s has no primary, so there is no one oplog window the members' lags are a part of: use --member self on each member", st.Set)
	}
	if self.SyncSource == "" {
		return nil, fmt.Errorf("%s (%s) has no sync source, so the oplog window its lag is a part of is unknown (its own window does not bound its lag), run --mode replset-state", self.Name, self.State)
	}
	w, err := rc.sourceWindow(ctx, self.SyncSource)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("cannot read the oplog window of %s, the sync source of %s (%s): %s falls off when its lag exceeds that window, and its own window does not bound it", self.SyncSource, self.Name, errText(err), self.Name)
	}
	return w, nil
}

func modeReplsetState(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	rc, v, err := fetchRepl(ctx, s)
	if err != nil {
		return nil, err
	}
	rc.close(ctx)
	return replset.Health(v), nil
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
	switch size, err := rc.oplogSize(ctx); {
	case err == nil:
		w.Size = size
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		rc.notes = append(rc.notes, fmt.Sprintf("the oplog's size is unknown ($collStats on local.oplog.rs: %s): the window is judged as it is now, though a young oplog's grows until it is full", errText(err)))
	}
	r := replset.OplogWindowResult(w, orDefault(o.Warning, defOplogWarn), orDefault(o.Critical, defOplogCrit))
	for _, n := range rc.notes {
		r.Detailf("%s", n)
	}
	return r, nil
}

// modePrimaryChange compares hello's primary and term with the last
// run's. Its state file is keyed by the set name and the target the check
// connects to, so two sets that share a name never share a file.
func modePrimaryChange(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	// No pinning: hello alone answers, from any member.
	rc, err := openRepl(ctx, s, false)
	if err != nil {
		return nil, err
	}
	h := rc.hello
	if h.SetName == "" {
		return nil, fmt.Errorf("%s is not a replica-set member (hello has no setName): primary-change needs a replica set", s.Target)
	}
	if h.Primary == "" && h.Writable {
		// Servers that report a one-member set (FerretDB with
		// --repl-set-name) may leave out primary and me.
		if h.Me == "" {
			h.Me = s.Target
		}
		h.Primary = h.Me
	}
	var res *plugin.Result
	key := state.Key("check_mongodb", "primary-change", h.SetName, s.Target)
	err = state.Update(o.StateDir, key, state.Deadline(ctx), func(prev *replset.PrimaryState, found bool, note string) *replset.PrimaryState {
		var next *replset.PrimaryState
		res, next = replset.PrimaryChange(h, *prev, found, note, time.Now(), o.hold())
		return next
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
