package numa

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// PID is a --pid option value: a positive process ID.
type PID int

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *PID) UnmarshalFlag(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		return fmt.Errorf("invalid PID %q: expected a positive process ID such as 1234", s)
	}
	*p = PID(v)
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (p PID) MarshalFlag() (string, error) { return strconv.Itoa(int(p)), nil }

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
