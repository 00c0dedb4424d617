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

var modes = map[string]ModeFunc{}

// register adds a mode; each mode file registers its own in init.
func register(name string, f ModeFunc) { modes[name] = f }

// ModeNames lists the modes, sorted, for help and validation.
func ModeNames() []string {
	out := make([]string, 0, len(modes))
	for n := range modes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
