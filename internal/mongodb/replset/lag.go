package replset

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// StaleHeartbeat is the heartbeat age beyond which a lag measured
// against that member may be understated (heartbeats come every 2 s).
const StaleHeartbeat = 30 * time.Second

// View is what the replica-set modes fetched: the status (with the
// configuration or hello applied) and notes about how it was fetched.
type View struct {
	Status *Status
	Notes  []string
}

// MemberLag is one member's measured lag.
type MemberLag struct {
	Member *Member
	// Raw is how far the member's optime is behind the reference; Lag is
	// Raw minus the configured delay, never negative. Measured is false
	// for members whose state allows no measurement.
	Lag, Raw time.Duration
	Measured bool
}

// Reference picks what lag is measured against: the primary (the
// freshest one if a partition shows two), or with no primary the member
// with the newest optime.
func Reference(st *Status) (ref *Member, isPrimary bool) {
	for _, p := range st.Primaries() {
		if ref == nil || p.Optime.After(ref.Optime) {
			ref = p
		}
	}
	if ref != nil {
		return ref, true
	}
	for i := range st.Members {
		m := &st.Members[i]
		if m.Arbiter || !m.Healthy() || m.Optime.IsZero() {
			continue
		}
		if ref == nil || m.Optime.After(ref.Optime) {
			ref = m
		}
	}
	return ref, false
}

// measurable: a healthy PRIMARY or SECONDARY with an optime. Members
// starting, recovering, rolling back or down are reported by state.
func measurable(m *Member) bool {
	return m.Healthy() && (m.State == Primary || m.State == Secondary) && !m.Optime.IsZero()
}

// MeasureLag computes every data-bearing member's lag against ref.
func MeasureLag(st *Status, ref *Member) []MemberLag {
	var out []MemberLag
	for _, m := range st.sorted() {
		if m.Arbiter {
			continue
		}
		ml := MemberLag{Member: m}
		if measurable(m) && ref != nil {
			ml.Measured = true
			ml.Raw = ref.Optime.Sub(m.Optime)
			ml.Lag = max(ml.Raw-m.Delay, 0)
		}
		out = append(out, ml)
	}
	return out
}

// Window is the time between the first and the last entry of a member's
// oplog.
type Window struct {
	First, Last time.Time
	Span        time.Duration
	// Member is where it was measured; Source says it is the sync source
	// of the member the check reports on.
	Member string
	Source bool
	// Where names the set and member for the oplog-window summary ("rs0
	// via host:port (PRIMARY)"); empty outside a replica set.
	Where string
	Note  string
	// Size is the oplog's configured and used size, when known.
	Size *OplogSize
}

// LagScope is --member: "self", "all", or "" for the default (self when
// the answering member is a secondary, all otherwise).
type LagScope string

// Lag is the replication-lag verdict, or with window the
// replication-lag-percent verdict (lag as a percentage of the window).
func Lag(v *View, scope LagScope, w, c *thresholds.Range, window *Window) (*plugin.Result, error) {
	st := v.Status
	self := st.Self()
	ref, isPrimary := Reference(st)
	if ref == nil {
		return nil, plugin.Errorf(plugin.Critical, "%s: no member of %s is healthy with a known optime, so lag cannot be measured, run --mode replset-state for the members' states", st.Where(), st.Set)
	}
	if scope == "" {
		scope = "all"
		if self != nil && self.State != Primary && self.State != Arbiter {
			scope = "self"
		}
	}
	if scope == "self" {
		if self == nil {
			return nil, fmt.Errorf("replSetGetStatus of %s marks no member as self: use --member all", st.Set)
		}
		if self.Arbiter {
			return nil, fmt.Errorf("%s is an arbiter and holds no data, so it has no lag: use --member all or connect to a data-bearing member", self.Name)
		}
	}
	percent := window != nil
	if percent && window.Span <= 0 {
		return nil, fmt.Errorf("the oplog window on %s is %s, so lag cannot be expressed as a part of it", window.Member, Secs(window.Span))
	}

	refText := "primary " + ref.Name
	if !isPrimary {
		refText = fmt.Sprintf("the freshest member %s (%s, no primary)", ref.Name, ref.State)
	}
	windowText := "the oplog window"
	if percent && window.Source {
		windowText = "the oplog window of its sync source " + window.Member
	}

	var r plugin.Result
	var worst *MemberLag
	unknownDelay := false
	for _, ml := range MeasureLag(st, ref) {
		m := ml.Member
		if scope == "self" && !m.Self {
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
		perf := plugin.Perf{Label: plugin.Label("lag", plugin.Endpoint(m.Name)...), Value: value, UOM: unit, Thresholds: thresholds.NewPair(w, c), Min: plugin.F(0)}
		if !ml.Measured {
			perf.UOM = ""
			vst, text, hint := m.Verdict(st.initialSyncOf(m))
			if vst == plugin.OK {
				vst, text = plugin.Unknown, fmt.Sprintf("%s reports no optime", m.Label())
			}
			f := r.Add(vst, text+" (no lag measured)", perf)
			if hint != "" {
				f.Detailf("%s", hint)
			}
			continue
		}
		if m == ref {
			r.Add(plugin.OK, fmt.Sprintf("%s is the reference (%s)", m.Label(), m.State), perf).Quiet = true
			continue
		}
		if m.DelayUnknown() {
			// The true lag is Raw minus a delay of 0 or more: at most Raw.
			// Within the thresholds it is within them whatever the delay;
			// beyond them the check cannot tell.
			unknownDelay = true
			perf.Value, perf.UOM = math.NaN(), ""
			if thresholds.NewPair(w, c).State(value) == plugin.OK {
				r.Add(plugin.OK, fmt.Sprintf("%s lag at most %s", m.Label(), Secs(ml.Raw)), perf).Quiet = true
				continue
			}
			r.Add(plugin.Unknown, fmt.Sprintf("%s is %s behind %s, its configured delay unknown (no lag measured)", m.Label(), Secs(ml.Raw), refText), perf).
				Detailf("hello lists neither hidden nor delayed members and replSetGetConfig was refused, so the check cannot subtract a delay it does not know; grant the monitoring user the clusterMonitor role (replSetGetConfig) for the member's real lag")
			continue
		}
		stt := perf.State()
		text := fmt.Sprintf("%s lag %s", m.Label(), Secs(ml.Lag))
		if percent {
			text = fmt.Sprintf("%s lag %s = %.2f %% of %s", m.Label(), Secs(ml.Lag), value, windowText)
		}
		f := r.Add(stt, text, perf)
		f.Quiet = stt == plugin.OK
		if m.Delay > 0 {
			f.Detailf("%s behind %s, minus the configured delay of %s", Secs(ml.Raw), refText, Secs(m.Delay))
		}
		if ml.Raw < 0 {
			f.Detailf("its optime is %s ahead of %s; shown as 0", Secs(-ml.Raw), refText)
		}
		if stt != plugin.OK {
			if percent && ml.Lag >= window.Span {
				f.Detailf("the member is further behind than %s reaches back: it cannot catch up and needs an initial sync (resync); enlarge the oplog with replSetResizeOplog to prevent it", windowText)
			} else {
				f.Detailf("look at the member's load, disk and network, at long-running operations on it (db.currentOp()) and at its sync source (%s)", orNone(m.SyncSource))
			}
		}
		if age := staleHeartbeat(st, m); age > 0 {
			f.Detailf("the last heartbeat from it is %s old: its optime may be stale", Secs(age))
		}
		if worst == nil || ml.Lag > worst.Lag {
			w := ml
			worst = &w
		}
	}

	head := fmt.Sprintf("%s: lag measured against %s", st.Where(), refText)
	if worst != nil {
		head = fmt.Sprintf("%s: max lag %s (%s) behind %s", st.Where(), Secs(worst.Lag), worst.Member.Name, refText)
		if percent {
			head += fmt.Sprintf(", oplog window %.1f h on %s", window.Span.Hours(), window.Member)
		}
	}
	if age := staleHeartbeat(st, ref); age > 0 {
		// The reference optime came with that heartbeat: every lag
		// measured against it is too small by up to its age.
		r.Add(plugin.Warning, fmt.Sprintf("the last heartbeat from %s is %s old, so lag against it may be understated", refText, Secs(age))).
			Detailf("heartbeats arrive every 2 s: check the network between %s and the connected member, or run the check against the primary", ref.Name)
	}
	hf := r.Add(plugin.OK, head)
	if !isPrimary {
		hf.Detailf("%s has no primary: writes fail until one is elected; run --mode replset-state for why", st.Set)
	}
	if ps := st.Primaries(); len(ps) > 1 {
		hf.Detailf("%d members claim PRIMARY (%s); lag is measured against the freshest, %s", len(ps), names(ps), ref.Name)
	}
	for _, m := range st.sorted() {
		if m.Arbiter && scope == "all" {
			hf.Detailf("arbiter %s skipped: it holds no data", m.Name)
		}
	}
	if unknownDelay {
		hf.Detailf("members hello does not list are hidden or delayed; without replSetGetConfig their delay is unknown, so their lag is left out of the perfdata")
	}
	if percent && window.Note != "" {
		hf.Detailf("%s", window.Note)
	}
	for _, n := range v.Notes {
		hf.Detailf("%s", n)
	}
	return &r, nil
}

// staleHeartbeat is the age of the last heartbeat from another member m
// when it is older than StaleHeartbeat, else 0.
func staleHeartbeat(st *Status, m *Member) time.Duration {
	if m.Self || m.LastHeartbeatRecv.IsZero() || st.Date.IsZero() {
		return 0
	}
	if age := st.Date.Sub(m.LastHeartbeatRecv); age > StaleHeartbeat {
		return age
	}
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func names(ms []*Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, ", ")
}
