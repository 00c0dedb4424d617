package keepalive

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Preset is a device whose idle timeout is documented.
type Preset struct {
	Name string
	D    time.Duration
}

// Presets are the idle timeouts of common devices, as their vendors
// document the defaults.
var Presets = []Preset{
	{"aws-nat", 350 * time.Second}, // AWS NAT gateway
	{"aws-nlb", 350 * time.Second}, // AWS Network Load Balancer (TCP)
	{"azure-lb", 4 * time.Minute},  // Azure Load Balancer
	{"gcp-nat", 20 * time.Minute},  // Google Cloud NAT (established TCP)
	{"ipvs", 15 * time.Minute},     // Linux IPVS (ipvsadm --set tcp)
	{"conntrack", 120 * time.Hour}, // nf_conntrack_tcp_timeout_established
}

func presetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// IdleTimeout is the idle timeout of the device in the path: a duration
// or the name of a preset.
type IdleTimeout struct {
	D      time.Duration
	Preset string // the preset's name, when given as one
}

// ParseIdleTimeout parses a duration (90, 90s, 5m) or a preset name.
func ParseIdleTimeout(s string) (IdleTimeout, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, p := range Presets {
		if t == p.Name {
			return IdleTimeout{D: p.D, Preset: p.Name}, nil
		}
	}
	d, err := plugin.ParseDuration(t)
	if err == nil {
		return IdleTimeout{D: d}, nil
	}
	// Something that starts with a letter was meant as a preset.
	if t != "" && (t[0] >= 'a' && t[0] <= 'z') {
		return IdleTimeout{}, plugin.OptionError("unknown --idle-timeout preset %q: expected a duration (90s, 5m) or a preset: %s", s, presetNames())
	}
	return IdleTimeout{}, plugin.OptionError("invalid --idle-timeout %q: expected seconds or a duration (90, 90s, 5m) or a preset: %s", s, presetNames())
}

// String is how the timeout is shown in the output.
func (t IdleTimeout) String() string {
	if t.Preset != "" {
		return fmt.Sprintf("%s (%s)", seconds(t.D), t.Preset)
	}
	return seconds(t.D)
}

// UnmarshalFlag implements go-flags' Unmarshaler.
func (t *IdleTimeout) UnmarshalFlag(s string) error {
	v, err := ParseIdleTimeout(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalFlag implements go-flags' Marshaler.
func (t IdleTimeout) MarshalFlag() (string, error) {
	if t.Preset != "" {
		return t.Preset, nil
	}
	return seconds(t.D), nil
}

// IsValidValue lets "--idle-timeout -5" reach UnmarshalFlag and its message.
func (t *IdleTimeout) IsValidValue(string) error { return nil }

// Port is a TCP port number from 1 to 65535.
type Port uint16

// ParsePort parses a port number.
func ParsePort(s string) (Port, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || v == 0 {
		return 0, plugin.OptionError("invalid --port %q: expected a port number from 1 to 65535", s)
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

// IsValidValue lets "--port -1" reach UnmarshalFlag and its message.
func (p *Port) IsValidValue(string) error { return nil }

// seconds formats a duration as whole (or fractional) seconds: "7200s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
