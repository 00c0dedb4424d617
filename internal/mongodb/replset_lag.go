package mongodb

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Default thresholds of the lag modes (documented in
// README, "check_mongodb: replica-set modes").
const (
	defLagWarn     = "60"
	defLagCrit     = "300"
	defLagPctWarn  = "50"
	defLagPctCrit  = "80"
	staleHeartbeat = 30 * time.Second
)

func init() {
	register("replication-lag", Mode{Run: lagMode(false), Validate: rsValidate})
	register("replication-lag-percent", Mode{Run: lagMode(true), Validate: rsValidate})
}

// lagMode is replication-lag, or with percent replication-lag-percent,
// which also measures the oplog window to express the lag as part of it.
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
		var w *oplogWindow
		if percent {
			if w, err = rc.oplogWindow(ctx); err != nil {
				return nil, err
			}
		}
		return rsLagResult(v, rsMemberScope(s, o), orDefault(o.Warning, warn), orDefault(o.Critical, crit), w)
	}
}

// rsMemberScope is --member, defaulting to all members for a replica-set
// connection; for a direct connection lagResult decides by the member's
// state.
func rsMemberScope(s *Session, o *Options) string {
	if o.Member == "" && !s.Direct {
		return "all"
	}
	return o.Member
}

// MemberLag is one member's measured lag.
type MemberLag struct {
	Member *ReplMember
	// Lag is behind the reference, after the configured delay is
	// subtracted, never negative. Measured is false for members whose
	// state allows no measurement.
	Lag, Raw time.Duration
	Measured bool
}

// rsReference picks what lag is measured against: the primary (the
// freshest one if a partition shows two), or with no primary the member
// with the newest optime.
func rsReference(st *ReplStatus) (ref *ReplMember, isPrimary bool) {
	for _, p := range st.primaries() {
		if ref == nil || p.Optime.After(ref.Optime) {
			ref = p
		}
	}
	if ref != nil {
		return ref, true
	}
	for i := range st.Members {
		m := &st.Members[i]
		if m.Arbiter || !m.healthy() || m.Optime.IsZero() {
			continue
		}
		if ref == nil || m.Optime.After(ref.Optime) {
			ref = m
		}
	}
	return ref, false
}

// rsMeasurable says whether a member's optime means something: a healthy
// PRIMARY or SECONDARY with an optime. Members starting, recovering,
// rolling back or down are reported by state instead.
func rsMeasurable(m *ReplMember) bool {
	return m.healthy() && (m.State == rsPrimary || m.State == rsSecondary) && !m.Optime.IsZero()
}

// MeasureLag computes every data-bearing member's lag against ref.
func MeasureLag(st *ReplStatus, ref *ReplMember) []MemberLag {
	var out []MemberLag
	for _, m := range rsSorted(st) {
		if m.Arbiter {
			continue
		}
		ml := MemberLag{Member: m}
		if rsMeasurable(m) && ref != nil {
			ml.Measured = true
			ml.Raw = ref.Optime.Sub(m.Optime)
			ml.Lag = max(ml.Raw-m.Delay, 0)
		}
		out = append(out, ml)
	}
	return out
}

// rsLagResult builds the replication-lag result, or with window the
// replication-lag-percent result (lag as a percentage of the window).
func rsLagResult(v *replView, member string, w, c *thresholds.Range, window *oplogWindow) (*plugin.Result, error) {
	st := v.Status
	self := st.self()
	ref, isPrimary := rsReference(st)
	if ref == nil {
		return nil, plugin.Errorf(plugin.Critical, "%s: no member of %s is healthy with a known optime, so lag cannot be measured; run --mode replset-state for the members' states", rsWhere(st), st.Set)
	}
	if member == "" {
		member = "all"
		if self != nil && self.State != rsPrimary && self.State != rsArbiter {
			member = "self"
		}
	}
	if member == "self" {
		if self == nil {
			return nil, fmt.Errorf("replSetGetStatus of %s marks no member as self: use --member all", st.Set)
		}
		if self.Arbiter {
			return nil, fmt.Errorf("%s is an arbiter and holds no data, so it has no lag: use --member all or connect to a data-bearing member", self.Name)
		}
	}
	percent := window != nil
	if percent && window.Span <= 0 {
		return nil, fmt.Errorf("the oplog window on %s is %s, so lag cannot be expressed as a part of it", window.Member, rsSecs(window.Span))
	}

	refText := "primary " + ref.Name
	if !isPrimary {
		refText = fmt.Sprintf("the freshest member %s (%s; no primary)", ref.Name, rsStateName(ref.State))
	}

	var r plugin.Result
	var worst *MemberLag
	lags := MeasureLag(st, ref)
	for i := range lags {
		ml := &lags[i]
		m := ml.Member
		if member == "self" && !m.Self {
			continue
		}
		value := math.NaN()
		unit := "s"
		if ml.Measured {
			value = math.Round(ml.Lag.Seconds()*1000) / 1000
			if percent {
				value = math.Round(ml.Lag.Seconds()/window.Span.Seconds()*100*100) / 100
				unit = "%"
			}
		}
		perf := plugin.Perf{Label: m.Name, Value: value, UOM: unit, Thresholds: thresholds.NewPair(w, c), Min: plugin.F(0)}
		if !ml.Measured {
			perf.UOM = ""
			vst, text, hint := rsVerdict(m)
			if vst == plugin.OK {
				vst, text = plugin.Unknown, fmt.Sprintf("%s reports no optime", m.label())
			}
			f := r.Add(vst, text+" (no lag measured)", perf)
			if hint != "" {
				f.Detailf("%s", hint)
			}
			continue
		}
		if m == ref {
			r.Add(plugin.OK, fmt.Sprintf("%s is the reference (%s)", m.label(), rsStateName(m.State)), perf).Quiet = true
			continue
		}
		stt := perf.State()
		text := fmt.Sprintf("%s lag %s", m.label(), rsSecs(ml.Lag))
		if percent {
			text = fmt.Sprintf("%s lag %s = %.2f %% of the oplog window", m.label(), rsSecs(ml.Lag), value)
		}
		f := r.Add(stt, text, perf)
		f.Quiet = stt == plugin.OK
		if m.Delay > 0 {
			f.Detailf("%s behind %s, minus the configured delay of %s", rsSecs(ml.Raw), refText, rsSecs(m.Delay))
		}
		if ml.Raw < 0 {
			f.Detailf("its optime is %s ahead of %s; shown as 0", rsSecs(-ml.Raw), refText)
		}
		if stt != plugin.OK {
			if percent && ml.Lag >= window.Span {
				f.Detailf("the member is further behind than the oplog reaches back: it cannot catch up and needs an initial sync (resync); enlarge the oplog with replSetResizeOplog to prevent it")
			} else {
				f.Detailf("look at the member's load, disk and network, at long-running operations on it (db.currentOp()) and at its sync source (%s)", rsOrNone(m.SyncSource))
			}
		}
		if age := rsStaleHeartbeat(st, m); age > 0 {
			f.Detailf("the last heartbeat from it is %s old: its optime may be stale", rsSecs(age))
		}
		if worst == nil || ml.Lag > worst.Lag {
			worst = ml
		}
	}

	head := fmt.Sprintf("%s: lag measured against %s", rsWhere(st), refText)
	if worst != nil {
		head = fmt.Sprintf("%s: max lag %s (%s) behind %s", rsWhere(st), rsSecs(worst.Lag), worst.Member.Name, refText)
		if percent {
			head += fmt.Sprintf(", oplog window %.1f h on %s", window.Span.Hours(), window.Member)
		}
	}
	if age := rsStaleHeartbeat(st, ref); age > 0 {
		// The reference optime came with that heartbeat: every lag
		// measured against it is too small by up to its age.
		r.Add(plugin.Warning, fmt.Sprintf("the last heartbeat from %s is %s old, so lag against it may be understated", refText, rsSecs(age))).
			Detailf("heartbeats arrive every 2 s: check the network between %s and the connected member, or run the check against the primary", ref.Name)
	}
	hf := r.Add(plugin.OK, head)
	if !isPrimary {
		hf.Detailf("%s has no primary: writes fail until one is elected; run --mode replset-state for why", st.Set)
	}
	if ps := st.primaries(); len(ps) > 1 {
		hf.Detailf("%d members claim PRIMARY; lag is measured against the freshest, %s", len(ps), ref.Name)
	}
	for _, m := range rsSorted(st) {
		if m.Arbiter && member == "all" {
			hf.Detailf("arbiter %s skipped: it holds no data", m.Name)
		}
	}
	if percent && window.Note != "" {
		hf.Detailf("%s", window.Note)
	}
	for _, n := range v.Notes {
		hf.Detailf("%s", n)
	}
	return &r, nil
}

// rsStaleHeartbeat is the age of the last heartbeat from another member
// m when it is older than staleHeartbeat, else 0.
func rsStaleHeartbeat(st *ReplStatus, m *ReplMember) time.Duration {
	if m.Self || m.LastHeartbeatRecv.IsZero() || st.Date.IsZero() {
		return 0
	}
	if age := st.Date.Sub(m.LastHeartbeatRecv); age > staleHeartbeat {
		return age
	}
	return 0
}

func rsOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
