package mongodb

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

// counterSet is a serverStatus section of monotonically increasing
// counters whose per-second rates a mode reports.
type counterSet struct {
	section  string
	required []string
	optional []string
	// alerting are the counters whose summed rate -w/-c apply to.
	alerting []string
	what     string
	hint     string
	// apart is a section of the same counters reported on its own on a
	// secondary: opcountersRepl, the operations it applies from its sync
	// source, which opcounters leaves out (manual, serverStatus,
	// "opcountersRepl").
	apart string
}

var (
	opcounterSet = counterSet{
		section:  "opcounters",
		required: []string{"insert", "query", "update", "delete", "getmore", "command"},
		alerting: []string{"insert", "query", "update", "delete", "getmore", "command"},
		what:     "operations/s",
		hint:     "compare with the usual load of this server; a sudden rise is often a client in a retry loop or a missing index (look at the slow query log and db.currentOp())",
		apart:    "opcountersRepl",
	}
	assertSet = counterSet{
		section:  "asserts",
		required: []string{"regular", "warning", "msg", "user"},
		optional: []string{"tripwire", "rollovers"},
		alerting: []string{"regular", "warning", "msg"},
		what:     "server asserts/s (regular+warning+msg)",
		hint:     "regular, warning and msg asserts are server-side errors: read the mongod log for the matching assertion messages; user asserts are failed client operations (duplicate keys, validation)",
	}
)

func init() {
	register("opcounters", Mode{Run: rateMode(opcounterSet), Metric: true,
		Doc: "serverStatus.opcounters: operations per second since the last run (insert, query, update, delete, getmore, command)"})
	register("asserts", Mode{Run: rateMode(assertSet), Metric: true,
		Doc: "serverStatus.asserts: server-side asserts per second since the last run (regular, warning, msg; user asserts only reported)"})
}

// counters reads the counters of a set from serverStatus.
func (cs counterSet) counters(ss Doc) (map[string]float64, error) {
	v, err := ss.Nums([]string{cs.section}, cs.required...)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for i, k := range cs.required {
		out[k] = v[i]
	}
	for _, k := range cs.optional {
		if v, err := ss.Num(cs.section, k); err == nil {
			out[k] = v
		}
	}
	return out, nil
}

// rateMode samples the counters and compares them with the sample of the
// previous run, kept in a file under --state-dir. The server's uptime is
// kept with the sample so a restart re-baselines even when counters have
// already grown past their old values.
func rateMode(cs counterSet) ModeFunc {
	return func(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
		var ss Doc
		var err error
		if cs.apart == "" {
			ss, err = s.serverStatus(ctx)
		} else {
			// With the repl section: whether the server is a secondary.
			ss, err = s.statusWith(ctx, bson.E{Key: "metrics", Value: 0}, bson.E{Key: "locks", Value: 0})
		}
		if err != nil {
			return nil, err
		}
		cur, err := cs.counters(ss)
		if err != nil {
			return nil, err
		}
		// The counters apart are sampled on every server that has them,
		// so a change of role keeps the baseline.
		if cs.apart != "" {
			if v, err := ss.Nums([]string{cs.apart}, cs.required...); err == nil {
				for i, k := range cs.required {
					cur[apartKey+k] = v[i]
				}
			}
		}
		rates := sampleCounters(ctx, o, ss, cur, cs.section, s.Target, o.User)
		r := rateResult(cs, s.Target, cur, rates, o)
		if secondary, _ := ss.lookup("repl", "secondary"); secondary.Type == bson.TypeBoolean && secondary.Boolean() {
			apartResult(r, cs, cur, rates)
		}
		return r, nil
	}
}

// apartKey prefixes the counters apart in the sample.
const apartKey = "apart."

// apartResult reports the counters apart (opcountersRepl on a secondary)
// as their own finding: what the secondary applies from its sync source.
// -w/-c do not apply to them: the load they measure is the primary's.
func apartResult(r *plugin.Result, cs counterSet, cur map[string]float64, rates state.Rates) {
	label := func(k string) string { return plugin.Label(cs.section, "repl", k) }
	if st, why, ready := rates.Pending(); !ready {
		f := r.Add(st, fmt.Sprintf("replicated operations (%s): %s", cs.apart, why))
		for _, k := range cs.required {
			if _, has := cur[apartKey+k]; has {
				f.Perf = append(f.Perf, plugin.Perf{Label: label(k), Value: math.NaN(), Min: plugin.F(0)})
			}
		}
		return
	}
	total := 0.0
	var parts []string
	var perf []plugin.Perf
	for _, k := range cs.required {
		v, has := rates.PerSecond[apartKey+k]
		if !has {
			continue
		}
		total += v
		parts = append(parts, fmt.Sprintf("%s %s", k, fmtRate(v)))
		perf = append(perf, plugin.Perf{Label: label(k), Value: round(v, 3), Min: plugin.F(0)})
	}
	if len(perf) == 0 {
		return
	}
	r.Add(plugin.OK, fmt.Sprintf("replicated %s operations/s (%s)", fmtNum(total), strings.Join(parts, ", ")), perf...)
}

// uptimeKey is the sampled uptime, kept with the counters but no rate.
const uptimeKey = "_uptime"

// sampleCounters keeps cur, with the server's uptime, as this run's
// sample in the state file keyed by keyParts (after "check_mongodb") and
// returns the rates since the previous run's. The uptime grows with
// time: a restart makes it go backwards, which state.Since treats as a
// reset even when the counters have already grown past their old values.
func sampleCounters(ctx context.Context, o *Options, ss Doc, cur map[string]float64, keyParts ...string) state.Rates {
	if up, err := ss.Num("uptime"); err == nil {
		cur[uptimeKey] = up
	}
	key := state.Key("check_mongodb", keyParts...)
	return state.Sample(ctx, o.StateDir, key, state.Counters{Time: time.Now(), Values: cur})
}

// rateResult builds the result from the rates of one run.
func rateResult(cs counterSet, target string, cur map[string]float64, rates state.Rates, o *Options) *plugin.Result {
	keys := append(append([]string(nil), cs.required...), cs.optional...)
	pair := o.pair("", "")
	var r plugin.Result
	if st, why, ready := rates.Pending(); !ready {
		f := r.Add(st, fmt.Sprintf("%s: %s: %s", target, cs.section, why))
		for _, k := range keys {
			if _, has := cur[k]; has {
				f.Perf = append(f.Perf, plugin.Perf{Label: plugin.Label(cs.section, k), Value: math.NaN(), Min: plugin.F(0)})
			}
		}
		f.Perf = append(f.Perf, plugin.Perf{Label: plugin.Label(cs.section, "alerting"), Value: math.NaN(), Thresholds: pair, Min: plugin.F(0)})
		return &r
	}
	total := 0.0
	for _, k := range cs.alerting {
		total += rates.PerSecond[k]
	}
	var parts []string
	var perf []plugin.Perf
	for _, k := range keys {
		v, has := rates.PerSecond[k]
		if !has {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", k, fmtRate(v)))
		perf = append(perf, plugin.Perf{Label: plugin.Label(cs.section, k), Value: round(v, 3), Min: plugin.F(0)})
	}
	alerting := plugin.Perf{Label: plugin.Label(cs.section, "alerting"), Value: round(total, 3), Thresholds: pair, Min: plugin.F(0)}
	f := r.Add(alerting.State(), fmt.Sprintf("%s: %s %s (%s)", target, fmtNum(total), cs.what, strings.Join(parts, ", ")), append(perf, alerting)...)
	if f.State != plugin.OK {
		f.Detailf("%s", cs.hint)
	}
	return &r
}

func fmtRate(v float64) string { return fmtNum(v) + "/s" }

func fmtNum(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
