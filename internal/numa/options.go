package numa

import (
	"fmt"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// PolicyState is the --policy-state option: the state of a process that
// is not interleaved.
type PolicyState plugin.State

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *PolicyState) UnmarshalFlag(s string) error {
	switch strings.ToLower(s) {
	case "warning":
		*p = PolicyState(plugin.Warning)
	case "critical":
		*p = PolicyState(plugin.Critical)
	default:
		return fmt.Errorf("invalid --policy-state %q: expected warning or critical", s)
	}
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (p PolicyState) MarshalFlag() (string, error) {
	return strings.ToLower(plugin.State(p).String()), nil
}
