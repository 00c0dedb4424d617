package target

import (
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// MaxPID is the largest process ID Linux hands out: PIDs stay below
// pid_max, which is at most PID_MAX_LIMIT, 4194304 (2^22, 64-bit kernels;
// include/linux/threads.h).
const MaxPID = 1<<22 - 1

// PID is a --pid option value: a process ID from 1 to MaxPID. A number
// outside that range names no process on any Linux machine: it is bad
// input (UNKNOWN), where a PID in range that does not run is the service
// being down (CRITICAL).
type PID int

// ParsePID parses a process ID the way PID options do.
func ParsePID(s string) (PID, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v <= 0 || v > MaxPID {
		return 0, plugin.OptionError("invalid --pid %q: expected a process ID from 1 to %d", plugin.Clip(s, 40), MaxPID)
	}
	return PID(v), nil
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *PID) UnmarshalFlag(s string) error {
	v, err := ParsePID(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (p PID) MarshalFlag() (string, error) { return strconv.Itoa(int(p)), nil }

// IsValidValue lets "--pid -1" reach UnmarshalFlag and its message.
func (p *PID) IsValidValue(string) error { return nil }
