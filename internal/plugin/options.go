package plugin

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	flags "github.com/jessevdk/go-flags"
)

// Common are the options every binary has. Embed it in the options struct
// of a check.
type Common struct {
	Help         bool         `short:"h" long:"help" description:"Show this help and exit (exit code 3)"`
	Version      bool         `short:"V" long:"version" description:"Show name, version and commit and exit (exit code 3)"`
	Verbose      []bool       `short:"v" long:"verbose" description:"More detail; repeat for more (-vvv also shows internal traces)"`
	Timeout      Duration     `short:"t" long:"timeout" default:"10s" value-name:"DURATION" description:"Answer within this time (10, 10s, 1.5s)"`
	TimeoutState TimeoutState `long:"timeout-state" default:"unknown" choice:"unknown" choice:"critical" value-name:"STATE" description:"State reported on timeout"`
	// ValidateOptions is for people who write command definitions: it
	// checks a command line without running the check (README, "How
	// every check behaves"; tests/docs runs every documented one so).
	ValidateOptions bool `long:"validate-options" description:"Check the other options as a run would (values, combinations, what the mode needs) and exit without looking at anything: exit 0 and OK when they are valid, 3 and the reason when not"`

	// Hidden: used by packaging/ to generate definitions and man pages
	// from the options themselves.
	EmitOptions bool `long:"emit-options-json" hidden:"true" description:"Print the options as JSON and exit"`
	EmitMan     bool `long:"emit-man" hidden:"true" description:"Print the man page and exit"`
}

// CommonOptions gives the runtime access to the embedded Common.
func (c *Common) CommonOptions() *Common { return c }

// Options is what Main needs of a check's options struct: it embeds Common.
type Options interface {
	CommonOptions() *Common
}

// Duration is an option value in seconds: a bare number ("10", "1.5") or a
// Go duration ("10s", "1m30s", "250ms"). Negative and zero are rejected.
type Duration time.Duration

// ParseDuration parses a duration the way Duration options do.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	s = Clip(s, 40) // quoted in errors: keep them one readable line
	var d time.Duration
	if f, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xXpPnNiI_") {
		if f > float64(365*24*time.Hour/time.Second) || f < -1e9 {
			return 0, fmt.Errorf("invalid duration %q: out of range", s)
		}
		// Rounded to the nanosecond: 1.57 * 1e9 is 1569999999.9999998 in
		// float64, which truncation made 1.569999999s.
		d = time.Duration(math.Round(f * float64(time.Second)))
	} else {
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: expected seconds or a duration such as 10, 10s, 1.5s, 2m", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be greater than zero", s)
	}
	return d, nil
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (d *Duration) UnmarshalFlag(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (d Duration) MarshalFlag() (string, error) { return time.Duration(d).String(), nil }

// IsValidValue lets "-t -3" reach UnmarshalFlag (and its clear message)
// instead of go-flags taking "-3" for an option.
func (d *Duration) IsValidValue(string) error { return nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// TimeoutState is the state reported when the check runs out of time.
// Its option lists the states allowed as choices.
type TimeoutState State

// UnmarshalFlag implements go-flags' Unmarshaler.
func (t *TimeoutState) UnmarshalFlag(s string) error {
	st, err := ParseState(s, "timeout-state")
	*t = TimeoutState(st)
	return err
}

// MarshalFlag implements go-flags' Marshaler.
func (t TimeoutState) MarshalFlag() (string, error) {
	return strings.ToLower(State(t).String()), nil
}

// ParseState parses a state name as option values give it (ok, warning,
// critical, unknown, in any case), for options of type State whose
// choices say which are allowed.
func ParseState(s, option string) (State, error) {
	for _, st := range []State{OK, Warning, Critical, Unknown} {
		if strings.EqualFold(s, st.String()) {
			return st, nil
		}
	}
	return Unknown, OptionError("invalid --%s %q: expected a state such as warning or critical", option, Clip(s, 40))
}

// OptionError is an option error go-flags reports as it is, without
// wrapping it in its own "invalid argument for flag ... (expected T)": the
// message already names the option and says what is expected.
func OptionError(format string, args ...any) error {
	return &flags.Error{Type: flags.ErrMarshal, Message: fmt.Sprintf(format, args...)}
}

// Int is a whole-number option value. An optional one is a *Int: nil
// when not given, so no number has to stand for "unset" (a value equal to
// such a stand-in would be accepted and ignored); its range is checked by
// the check's Validate.
type Int int

// UnmarshalFlag implements go-flags' Unmarshaler.
func (n *Int) UnmarshalFlag(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", Clip(s, 40))
	}
	*n = Int(v)
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (n Int) MarshalFlag() (string, error) { return strconv.Itoa(int(n)), nil }

// IsValidValue lets "--max-wscale -1" reach UnmarshalFlag and the check's
// range message instead of go-flags taking "-1" for an option.
func (n *Int) IsValidValue(string) error { return nil }

// Port is a --port option value: a TCP port from 1 to 65535. Every check
// that takes a port takes it as this type, so they all refuse the same
// values with the same message.
type Port uint16

// ParsePort parses a port the way Port options do.
func ParsePort(s string) (Port, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || v == 0 {
		return 0, OptionError("invalid --port %q: expected a TCP port from 1 to 65535", Clip(s, 40))
	}
	return Port(v), nil
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *Port) UnmarshalFlag(s string) error {
	v, err := ParsePort(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (p Port) MarshalFlag() (string, error) {
	if p == 0 {
		return "", nil
	}
	return strconv.Itoa(int(p)), nil
}

// IsValidValue lets "--port -1" reach UnmarshalFlag and its message.
func (p *Port) IsValidValue(string) error { return nil }

// Prefix is a --remote option value: a CIDR or a single address.
type Prefix struct{ netip.Prefix }

// ParsePrefix parses a CIDR (10.0.0.0/8, fd00::/8; host bits are masked)
// or a bare address, which becomes a /32 or /128. An IPv4-mapped IPv6
// address is taken as its IPv4 address, since sockets report peers that
// way. Zones are rejected: a prefix cannot hold one.
func ParsePrefix(s string) (Prefix, error) {
	t := strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(t); err == nil {
		return Prefix{p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(t); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
	}
	return Prefix{}, OptionError("invalid --remote %q: expected an address or a CIDR such as 10.0.0.0/8 or fd00::/8", Clip(s, 40))
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *Prefix) UnmarshalFlag(s string) error {
	v, err := ParsePrefix(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (p Prefix) MarshalFlag() (string, error) {
	if !p.IsValid() {
		return "", nil
	}
	return p.String(), nil
}

// IsValidValue lets go-flags hand every value to UnmarshalFlag.
func (p *Prefix) IsValidValue(string) error { return nil }
