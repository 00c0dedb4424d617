// Package mongodb implements check_mongodb: the connection to the server
// and the modes that look at it.
//
// Files: options.go, options_modes.go, replset_options.go (Options,
// declared once: --mode, --member and --auth-mechanism are choices,
// --ignore-id is typed, Validate runs each mode's checks when the options
// are parsed); mode.go (the mode registry); check.go (Check: connect,
// run the mode, redact); session*.go (the driver connection, its errors
// and options); budget.go (deadlines within -t). One file per mode
// family, mode_*.go: each gathers with the session, then judges with a
// pure function of what it read, named *Result (connectResult,
// connectionsResult, rateResult, startupResult, ...), which the tests
// call on fixture documents; the replica-set modes (mode_replset.go,
// replset_client.go) gather for package replset, which holds their
// verdicts. doc.go (reply documents, MissingError); startup.go (startup
// warnings classified); redact.go (secrets out of every line); codes/
// (MongoDB error codes, named once); bsondoc/ (reply documents decoded
// without a driver panic); sharding/ (the sharded-cluster
// modes' documents and verdicts, gathered by mode_shard.go).
package mongodb

import (
	"context"
	"sort"

	"github.com/opschecks/opschecks/internal/plugin"
)

// ModeFunc runs one --mode against an established session.
type ModeFunc func(ctx context.Context, s *Session, o *Options, env plugin.Env) (*plugin.Result, error)

// Mode is one --mode: what it runs, the check of its options that
// Check makes before any connection (so bad input is an UNKNOWN line
// without network traffic), and how --help and the man page describe it.
type Mode struct {
	Run      ModeFunc
	Validate func(*Options) error // nil when the mode has no options to check
	// Doc is one line: what the mode looks at and its main metric, with
	// the unit -w/-c are in.
	Doc string
	// Warning and Critical are the default -w and -c of the main metric,
	// the same constants the mode judges with; "" for none.
	Warning, Critical string
	// Metric: the mode judges a main metric with -w/-c (implied by a
	// default Warning or Critical). With a mode without one, -w and -c
	// are refused: they would change nothing.
	Metric bool
}

// judgesMetric reports whether -w/-c apply to the mode.
func (m Mode) judgesMetric() bool { return m.Metric || m.Warning != "" || m.Critical != "" }

var modes = map[string]Mode{}

// register adds a mode; each mode file registers its own in init.
func register(name string, m Mode) { modes[name] = m }

// ModeNames lists the modes, sorted, for help and validation.
func ModeNames() []string {
	out := make([]string, 0, len(modes))
	for n := range modes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Modes lists the registered modes for the plugin runtime (plugin.Moded):
// they are --mode's choices, and --help, the man page and the generated
// definitions describe each from its Mode.
func (o *Options) Modes() []plugin.ModeDoc {
	var out []plugin.ModeDoc
	for _, n := range ModeNames() {
		m := modes[n]
		out = append(out, plugin.ModeDoc{Name: n, Doc: m.Doc, Warning: m.Warning, Critical: m.Critical, NoThresholds: !m.judgesMetric()})
	}
	return out
}
