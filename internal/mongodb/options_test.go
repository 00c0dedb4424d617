package mongodb

import (
	"slices"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
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
