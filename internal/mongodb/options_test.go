package mongodb

import (
	"slices"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
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
