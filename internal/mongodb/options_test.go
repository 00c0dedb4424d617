package mongodb

import (
	"slices"
	"strings"
	"testing"

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
