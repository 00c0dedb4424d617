package mongodb

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/thresholds"
)

// TestModeChoices: --mode lists exactly the registered modes, so --help,
// the man page and the generated definitions name every mode and only
// those.
func TestModeChoices(t *testing.T) {
	var o struct {
		plugin.Common
		Options
	}
	p := plugin.NewParser(plugin.Spec{Name: "check_mongodb", Label: "MONGODB"}, &o)
	choices := slices.Clone(p.FindOptionByLongName("mode").Choices)
	slices.Sort(choices)
	if !slices.Equal(choices, ModeNames()) {
		t.Errorf("--mode choices %v, registered modes %v", choices, ModeNames())
	}
}

// TestModesDocumented: every registered mode says in one line what it
// looks at, and its default thresholds are ranges; --help, the man page's
// MODES and the definitions show exactly this (plugin.Moded).
func TestModesDocumented(t *testing.T) {
	var o Options
	docs := o.Modes()
	if len(docs) != len(modes) {
		t.Fatalf("Modes() lists %d modes, %d are registered", len(docs), len(modes))
	}
	for _, m := range docs {
		if m.Doc == "" || strings.ContainsAny(m.Doc, "\n\t") || len(m.Doc) > 200 {
			t.Errorf("mode %s: Doc %q, want one line of what it looks at and its main metric (register it with a Doc)", m.Name, m.Doc)
		}
		for _, r := range []string{m.Warning, m.Critical} {
			if _, err := thresholds.Parse(r); r != "" && err != nil {
				t.Errorf("mode %s: default %q: %v", m.Name, r, err)
			}
		}
	}
}

// TestThresholdsNeedAMainMetric: -w and -c are refused, as bad input on
// one line naming the mode, with a mode that judges no metric by a range
// (they would change nothing), and taken by every other mode, whether it
// has default thresholds or alerts only when given one.
func TestThresholdsNeedAMainMetric(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	without := map[string]bool{"replset-state": true, "primary-change": true, "startup-warnings": true, "shards": true, "balancer": true}
	// What the modes need besides -w/-c to be valid.
	needs := map[string][]string{
		"read": {"--database", "d", "--collection", "c"}, "collection-size": {"--database", "d", "--collection", "c"},
		"database-size": {"--database", "d"}, "index-size": {"--database", "d"}, "server-status": {"--field", "uptime"},
	}
	// --help (and the man page, from the same plugin.ModeDoc) says so.
	if help := testenv.RunCheck(t, bin, nil, "--help").Stdout; strings.Count(help, "(no -w/-c)") != len(without) {
		t.Errorf("--help marks %d modes \"(no -w/-c)\", want %d:\n%s", strings.Count(help, "(no -w/-c)"), len(without), help)
	}
	for _, m := range ModeNames() {
		if got := !modes[m].judgesMetric(); got != without[m] {
			t.Errorf("mode %s: judges no metric %v, want %v", m, got, without[m])
		}
		for _, opt := range []string{"-w", "-c"} {
			r := testenv.RunCheck(t, bin, nil, append([]string{"--mode", m, opt, "5", "--validate-options"}, needs[m]...)...)
			switch name := map[string]string{"-w": "-w/--warning", "-c": "-c/--critical"}[opt]; {
			case without[m]:
				want := "MONGODB UNKNOWN - " + name + " does not apply to --mode " + m + ", which judges no metric by a range (see check_mongodb --help)\n"
				if r.Code != 3 || r.Stdout != want || r.Stderr != "" {
					t.Errorf("--mode %s %s 5: exit %d %q %q, want exit 3 %q", m, opt, r.Code, r.Stdout, r.Stderr, want)
				}
			case r.Code != 0:
				t.Errorf("--mode %s %s 5: exit %d %q, want the options valid", m, opt, r.Code, r.Stdout)
			}
		}
	}
}

// TestModeBoundOptions: an option that belongs to some modes is refused
// with any other, named with the modes it belongs to, instead of being
// ignored without a word; with its own modes it passes.
func TestModeBoundOptions(t *testing.T) {
	// --hold has no default tag (so that it can be told from none);
	// primary-change holds for 15 minutes without it.
	if h := (&ReplOptions{}).hold(); h != 15*time.Minute {
		t.Errorf("hold without --hold: %v, want 15m", h)
	}
	five := thresholds.MustParse("5")
	r := &five
	for _, tc := range []struct {
		name string
		set  func(*Options)
		ok   []string
		bad  string
	}{
		{"--member", func(o *Options) { o.Member = "all" }, []string{"replication-lag", "replication-lag-percent"}, "replset-state"},
		{"--member", func(o *Options) { o.Member = "self" }, nil, "connect"},
		{"--hold", func(o *Options) { o.Hold = plugin.Duration(time.Hour) }, []string{"primary-change"}, "replset-state"},
		{"--hold", func(o *Options) { o.Hold = plugin.Duration(15 * time.Minute) }, nil, "connect"},
		{"--dirty-warning", func(o *Options) { o.DirtyWarning = r }, []string{"wiredtiger-cache"}, "memory"},
		{"--dirty-critical", func(o *Options) { o.DirtyCritical = r }, []string{"wiredtiger-cache"}, "connect"},
		{"--ignore-id", func(o *Options) { o.IgnoreID = LogIDs{22178} }, []string{"startup-warnings"}, "connect"},
		{"--database", func(o *Options) { o.Database = "app" }, []string{"database-size", "index-size", "collections", "chunk-balance", "jumbo-chunks"}, "connect"},
		{"--collection", func(o *Options) { o.Database, o.Collection = "app", "users" }, []string{"collection-size", "index-size", "read", "chunk-balance", "jumbo-chunks"}, "database-size"},
	} {
		for _, mode := range tc.ok {
			o := Options{Mode: mode, Host: "127.0.0.1"}
			tc.set(&o)
			if err := o.Validate(); err != nil {
				t.Errorf("%s with --mode %s: %v", tc.name, mode, err)
			}
		}
		o := Options{Mode: tc.bad, Host: "127.0.0.1"}
		tc.set(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.name+" applies only to --mode ") || !strings.HasSuffix(err.Error(), ", not "+tc.bad) {
			t.Errorf("%s with --mode %s: %v, want it refused", tc.name, tc.bad, err)
		}
	}
}

// TestHostOption: --host is one host without a port, checked with the
// other options (so --validate-options sees it too); a "host:port" names
// -P rather than failing as an unknown host at run time.
func TestHostOption(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "db1.example.net", "::1", "[::1]", "fe80::1%eth0"} {
		if err := (&Options{Mode: "connect", Host: h}).Validate(); err != nil {
			t.Errorf("--host %s: %v", h, err)
		}
	}
	for h, want := range map[string]string{
		"127.0.0.1:27018": "give the port with -P/--port",
		"db1:27018":       "give the port with -P/--port",
		"[::1]:27018":     "give the port with -P/--port",
		"":                "expected a host name or IP address",
		"db1,db2":         "use --uri for several hosts",
		"bad host":        "expected a host name or IP address",
	} {
		err := (&Options{Mode: "connect", Host: h}).Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--host %q: %v, want it refused (%s)", h, err, want)
		}
	}
}
