package conntrack

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

// defaults are the options' defaults (-w 80 -c 90 --drop-warning 0).
func defaults() *Options {
	return &Options{Warning: thresholds.MustParse("80"), Critical: thresholds.MustParse("90"), DropWarning: thresholds.MustParse("0")}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var host = Namespace{Netns: &linux.Netns{ID: "net:[4026531840]"}, Desc: "the host's network namespace"}
var container = Namespace{Netns: &linux.Netns{ID: "net:[4026532999]", FD: 7}, Desc: "the network namespace of PID 42", Enter: "nsenter --net=/proc/42/ns/net "}

// healthy is a quiet router: 1000 of 262144 entries, no drops, kernel
// default timeouts.
func healthy() Observation {
	return Observation{
		Netns: host, Time: t0.Add(300 * time.Second), InUse: true,
		Count: 1000, Max: 262144, Buckets: 262144,
		Stat: linux.ConntrackStat{Entries: 1000, CPUs: []linux.ConntrackCounters{
			{Drop: 10, EarlyDrop: 5, InsertFailed: 1, Invalid: 100},
			{Drop: 20, Invalid: 50, SearchRestart: 3, Error: 2},
		}},
		TCPTimeoutEstablished: 432000, KeepaliveTime: 7200, KeepaliveIntvl: 75, KeepaliveProbes: 9,
	}
}

// since is the observation with its rates since a previous sample whose
// counters were lower by the given amounts, secs seconds earlier.
func since(obs Observation, secs float64, lower map[string]float64) Observation {
	prev := obs.Sample()
	prev.Time = obs.Time.Add(-time.Duration(secs * float64(time.Second)))
	for k, v := range lower {
		prev.Values[k] -= v
	}
	obs.Rates = state.Since(&prev, obs.Sample())
	return obs
}

// withRates is the observation with the given rates.
func withRates(obs Observation, r state.Rates) Observation {
	obs.Rates = r
	return obs
}

type finding struct {
	state   plugin.State
	text    string   // substring of the finding's text
	details []string // substrings, each found in some detail line
}

func TestJudge(t *testing.T) {
	full := func(count, max int64, ns Namespace) Observation {
		o := healthy()
		o.Count, o.Max, o.Netns = count, max, ns
		return o
	}
	withTimeout := func(est, ktime, kintvl int64, ns Namespace) Observation {
		o := healthy()
		o.TCPTimeoutEstablished, o.KeepaliveTime, o.KeepaliveIntvl, o.Netns = est, ktime, kintvl, ns
		return o
	}
	for _, tc := range []struct {
		name  string
		obs   Observation
		opts  *Options
		state plugin.State
		want  []finding
		perf  map[string]float64
	}{
		{name: "not loaded", obs: Observation{Netns: host}, state: plugin.OK, want: []finding{
			{plugin.OK, "connection tracking not in use", []string{"nf_conntrack module is not loaded"}},
		}},
		{name: "healthy, first run", obs: withRates(healthy(), state.Since(nil, healthy().Sample())), state: plugin.OK, want: []finding{
			{plugin.OK, "conntrack table 0.38% full (1000 of 262144 entries) in the host's network namespace", nil},
			{plugin.OK, "drops: collecting baseline", []string{"over 2 CPUs: drop 30, early_drop 5, insert_failed 1, search_restart 3, invalid 150, error 2"}},
			{plugin.OK, "idle established flows tracked for 432000s > keepalive probe gap 7200s", nil},
		}, perf: map[string]float64{"used": 0.38, "entries": 1000, "max": 262144, "buckets": 262144, "drop_rate": math.NaN(), "tcp_timeout_established": 432000, "keepalive_probe_gap": 7200}},
		{name: "healthy, second run", obs: since(healthy(), 300, map[string]float64{"invalid": 30}), state: plugin.OK, want: []finding{
			{plugin.OK, "conntrack table", nil},
			{plugin.OK, "no drops, early drops or insert failures since the last run", nil},
			{plugin.OK, "idle established flows", nil},
		}, perf: map[string]float64{"drop_rate": 0, "invalid_rate": 0.1, "search_restart_rate": 0}},
		{name: "80% is not above 80", obs: full(209715, 262144, host), state: plugin.OK, want: []finding{
			{plugin.OK, "conntrack table 80% full (209715 of 262144 entries)", nil},
		}},
		{name: "85% warns with the fix", obs: full(222823, 262144, host), state: plugin.Warning, want: []finding{
			{plugin.Warning, "conntrack table 85% full (222823 of 262144 entries) in the host's network namespace", []string{
				"table full, dropping packet",
				"fix: sysctl -w net.netfilter.nf_conntrack_max=524288",
				"echo 'net.netfilter.nf_conntrack_max = 524288' >> /etc/sysctl.d/90-conntrack.conf",
				"resize it on the host: echo 524288 > /sys/module/nf_conntrack/parameters/hashsize",
				"options nf_conntrack hashsize=524288",
			}},
		}},
		{name: "full container namespace is critical; the fix is on the host", obs: full(65536, 65536, container), state: plugin.Critical, want: []finding{
			{plugin.Critical, "conntrack table 100% full (65536 of 65536 entries) in the network namespace of PID 42", []string{
				"fix on the host (nf_conntrack_max is global",
			}},
		}, perf: map[string]float64{"used": 100, "entries": 65536, "max": 65536}},
		{name: "a maximum far above the buckets is noted while OK", obs: func() Observation { o := healthy(); o.Max, o.Buckets = 1048576, 65536; return o }(), state: plugin.OK, want: []finding{
			{plugin.OK, "conntrack table", []string{"65536 buckets for up to 1048576 entries: a full table walks chains of about 32 entries"}},
		}},
		{name: "no maximum", obs: full(10, 0, host), state: plugin.OK, want: []finding{
			{plugin.OK, "conntrack table has no limit (nf_conntrack_max 0): 10 entries in the host's network namespace", []string{
				"nf_conntrack_max 0 is no limit: the kernel never drops a packet for a full table",
				"sysctl -w net.netfilter.nf_conntrack_max=262144"}},
		}, perf: map[string]float64{"used": math.NaN(), "entries": 10, "max": 0}},
		{name: "a negative maximum", obs: full(10, -1, host), state: plugin.Unknown, want: []finding{
			{plugin.Unknown, "nf_conntrack_max is -1: the table cannot be judged", nil},
		}},
		{name: "a negative count", obs: full(-5, 262144, host), state: plugin.Unknown, want: []finding{
			{plugin.Unknown, "nf_conntrack_count is -5 in the host's network namespace: not a number of entries, the table cannot be judged", nil},
		}},
		{name: "a negative count without a maximum", obs: full(-5, 0, host), state: plugin.Unknown, want: []finding{
			{plugin.Unknown, "nf_conntrack_count is -5", nil},
		}},
		{name: "drops since the last run warn", obs: since(healthy(), 300, map[string]float64{"drop": 30, "early_drop": 3}), state: plugin.Warning, want: []finding{
			{plugin.Warning, "drop 0.1/s, early_drop 0.01/s since the last run", []string{
				"drop: packets dropped: the table was full",
				"early_drop: entries evicted early",
				"cpu 0: drop 10, early_drop 5, insert_failed 1",
				"cpu 1: drop 20, early_drop 0, insert_failed 0",
			}},
		}, perf: map[string]float64{"drop_rate": 0.1, "early_drop_rate": 0.01, "insert_failed_rate": 0}},
		{name: "one drop a day is not zero", obs: since(healthy(), 86400, map[string]float64{"drop": 1}), state: plugin.Warning, want: []finding{
			{plugin.Warning, "drop 0.000012/s since the last run", nil},
		}, perf: map[string]float64{"drop_rate": 0.000012}},
		{name: "insert failures have their own hint", obs: since(healthy(), 300, map[string]float64{"insert_failed": 1}), state: plugin.Warning, want: []finding{
			{plugin.Warning, "insert_failed 0.0033/s since the last run", []string{"insert_failed: packets dropped because their new entry clashed"}},
		}},
		{name: "--drop-critical", obs: since(healthy(), 300, map[string]float64{"drop": 30}), opts: func() *Options {
			o := defaults()
			o.DropCritical = &thresholds.Range{Start: 0, End: 0.05}
			return o
		}(), state: plugin.Critical, want: []finding{
			{plugin.Critical, "drop 0.1/s", nil},
		}},
		{name: "counters went backwards", obs: since(healthy(), 300, map[string]float64{"drop": -100}), state: plugin.OK, want: []finding{
			{plugin.OK, "drops: counter drop went backwards", nil},
		}},
		{name: "namespace changed", obs: func() Observation {
			o := healthy()
			prev := o.Sample()
			prev.Of, prev.Time = "net:[4026532000]", t0
			o.Rates = state.Since(&prev, o.Sample())
			return o
		}(), state: plugin.OK, want: []finding{
			{plugin.OK, "drops: the network namespace changed (net:[4026532000] -> net:[4026531840])", nil},
		}},
		{name: "unusable state dir", obs: withRates(healthy(), state.Rates{Err: errors.New("cannot create state directory /x: permission denied")}), state: plugin.Unknown, want: []finding{
			{plugin.Unknown, "drops: cannot create state directory /x: permission denied", nil},
			{plugin.OK, "conntrack table", nil},
		}},
		{name: "statistics unreadable", obs: func() Observation { o := healthy(); o.StatErr = errors.New("no such file"); return o }(), state: plugin.Unknown, want: []finding{
			{plugin.Unknown, "cannot read the per-CPU conntrack statistics: no such file", nil},
		}},
		{name: "timeout below the keepalive time", obs: withTimeout(600, 7200, 75, container), state: plugin.Warning, want: []finding{
			{plugin.Warning, "idle established flows are forgotten after 600s (nf_conntrack_tcp_timeout_established) <= keepalive probe gap 7200s (tcp_keepalive_time) in the network namespace of PID 42", []string{
				"loses its conntrack entry before the next keepalive probe",
				"fix for this namespace: nsenter --net=/proc/42/ns/net sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000",
				"or probe sooner: nsenter --net=/proc/42/ns/net sysctl -w net.ipv4.tcp_keepalive_time=200 net.ipv4.tcp_keepalive_intvl=75",
				"persist it where the namespace is made, e.g. docker run --sysctl net.netfilter.nf_conntrack_tcp_timeout_established=432000",
			}},
		}, perf: map[string]float64{"tcp_timeout_established": 600, "keepalive_probe_gap": 7200}},
		{name: "timeout equal to the gap", obs: withTimeout(7200, 7200, 75, host), state: plugin.Warning, want: []finding{
			{plugin.Warning, "forgotten after 7200s", nil},
		}},
		{name: "the interval is the gap when longer", obs: withTimeout(300, 60, 600, host), state: plugin.Warning, want: []finding{
			{plugin.Warning, "<= keepalive probe gap 600s (tcp_keepalive_intvl)", []string{"tcp_keepalive_time=100 net.ipv4.tcp_keepalive_intvl=100"}},
		}},
		{name: "timeout one second above the gap", obs: withTimeout(7201, 7200, 75, host), state: plugin.OK, want: []finding{
			{plugin.OK, "idle established flows tracked for 7201s > keepalive probe gap 7200s", nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			if o == nil {
				o = defaults()
			}
			res := Judge(tc.obs, o)
			if got := res.State(); got != tc.state {
				t.Errorf("state %s, want %s", got, tc.state)
			}
			for _, w := range tc.want {
				f := findingWith(res, w.text)
				if f == nil {
					t.Errorf("no finding with %q in %s", w.text, dump(res))
					continue
				}
				if f.State != w.state {
					t.Errorf("%q is %s, want %s", f.Text, f.State, w.state)
				}
				for _, d := range w.details {
					if !strings.Contains(strings.Join(f.Details, "\n"), d) {
						t.Errorf("%q: no detail with %q in\n%s", f.Text, d, strings.Join(f.Details, "\n"))
					}
				}
			}
			for label, want := range tc.perf {
				got, ok := perfValue(res, label)
				if !ok || !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("perfdata %s = %v (present %v), want %v", label, got, ok, want)
				}
			}
		})
	}
}

func findingWith(res *plugin.Result, text string) *plugin.Finding {
	for i, f := range res.Findings {
		if strings.Contains(f.Text, text) {
			return &res.Findings[i]
		}
	}
	return nil
}

func perfValue(res *plugin.Result, label string) (float64, bool) {
	for _, f := range res.Findings {
		for _, p := range f.Perf {
			if p.Label == label {
				return p.Value, true
			}
		}
	}
	return 0, false
}

func dump(res *plugin.Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("\n[" + f.State.String() + "] " + f.Text)
	}
	return b.String()
}
