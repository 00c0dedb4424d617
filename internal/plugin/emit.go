package plugin

import (
	"encoding/json"

	flags "github.com/jessevdk/go-flags"
)

// OptionDoc describes one option for the generators under packaging/.
type OptionDoc struct {
	Short       string   `json:"short,omitempty"`
	Long        string   `json:"long"`
	Description string   `json:"description"`
	Default     []string `json:"default,omitempty"`
	ValueName   string   `json:"value_name,omitempty"`
	Choices     []string `json:"choices,omitempty"`
	Bool        bool     `json:"bool"`
	Repeatable  bool     `json:"repeatable"`
	Required    bool     `json:"required"`
}

// CheckDoc describes a binary and its options.
type CheckDoc struct {
	Name    string      `json:"name"`
	Label   string      `json:"label"`
	Doc     string      `json:"doc"`
	Options []OptionDoc `json:"options"`
	Modes   []ModeDoc   `json:"modes,omitempty"` // the values of --mode, when they register themselves (Moded)
}

func optionsJSON(spec Spec, p *flags.Parser, modes []ModeDoc) string {
	d := CheckDoc{Name: spec.Name, Label: spec.Label, Doc: spec.Doc, Modes: modes}
	for _, g := range p.Groups() {
		for _, o := range g.Options() {
			if o.Hidden {
				continue
			}
			od := OptionDoc{
				Long:        o.LongName,
				Description: o.Description,
				Default:     o.Default,
				ValueName:   o.ValueName,
				Choices:     o.Choices,
				Required:    o.Required,
			}
			if o.ShortName != 0 {
				od.Short = string(o.ShortName)
			}
			k := o.Field().Type.Kind().String()
			od.Bool = k == "bool" || (k == "slice" && o.Field().Type.Elem().Kind().String() == "bool")
			od.Repeatable = k == "slice"
			d.Options = append(d.Options, od)
		}
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	return string(b) + "\n"
}
