// Package mongodb implements check_mongodb: the connection to the server
// and the modes that look at it.
package mongodb

import (
	"context"
	"sort"

	"github.com/opschecks/opschecks/internal/plugin"
)

// ModeFunc runs one --mode against an established session.
type ModeFunc func(ctx context.Context, s *Session, o *Options, env plugin.Env) (*plugin.Result, error)

// Mode is one --mode: what it runs, and the check of its options that
// Check makes before any connection, so bad input is an UNKNOWN line
// without network traffic.
type Mode struct {
	Run      ModeFunc
	Validate func(*Options) error // nil when the mode has no options to check
}

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
