package keepalive

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/thresholds"
)

// Options are check_keepalive's options, declared once: the binary
// parses them and the check reads them as its configuration. Every value
// is checked by its type when parsed; no combination is refused.
type Options struct {
	IdleTimeout IdleTimeout `long:"idle-timeout" default:"90s" value-name:"DURATION|PRESET" description:"Idle timeout of the NAT/load balancer in the path: a duration (90, 90s, 5m) or a preset: aws-nat 350s, aws-nlb 350s, azure-lb 4m, gcp-nat 20m, ipvs 15m, conntrack 120h (the kernel default; the namespace's own nf_conntrack_tcp_timeout_established when it tracks connections)"`
	target.Process
	Port      []plugin.Port     `long:"port" value-name:"PORT" description:"Only sockets with this local or remote port; repeatable (implies --sockets)"`
	Remote    []plugin.Prefix   `long:"remote" value-name:"CIDR" description:"Only sockets whose remote address is in this range; repeatable (implies --sockets)"`
	Sockets   bool              `long:"sockets" description:"Also audit every established TCP socket of the namespace (implied by --pid, --pidfile, --process, --port and --remote)"`
	MaxDetect plugin.Duration   `long:"max-detect" value-name:"DURATION" description:"WARNING when a dead peer is detected later than this (tcp_keepalive_time + intvl * probes)"`
	Warning   thresholds.Range  `short:"w" long:"warning" default:"1" value-name:"RANGE" description:"Warning range for the number of sockets idle longer than the idle timeout (Nagios range: 1 warns above 1 socket, 0 on any)"`
	Critical  *thresholds.Range `short:"c" long:"critical" value-name:"RANGE" description:"Critical range for the number of sockets idle longer than the idle timeout (default: none)"`
}

// perSocket reports whether the established sockets are audited.
func (o *Options) perSocket() bool {
	return o.Sockets || o.Process.Set() || len(o.Port) > 0 || len(o.Remote) > 0
}

// atRisk judges the number of sockets idle longer than the idle timeout.
func (o *Options) atRisk() thresholds.Pair { return thresholds.NewPair(&o.Warning, o.Critical) }

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
	// Linux conntrack: the kernel's default
	// nf_conntrack_tcp_timeout_established; the check reads the
	// namespace's own value instead when the kernel tracks connections.
	{PresetConntrack, 120 * time.Hour},
}

// PresetConntrack is the preset whose idle timeout is read from the
// namespace (Observation.Idle).
const PresetConntrack = "conntrack"

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
	Sysctl string // the sysctl it was read from, for the conntrack preset
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
	if t.Sysctl != "" {
		return fmt.Sprintf("%s (%s, %s)", seconds(t.D), t.Preset, t.Sysctl)
	}
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

// seconds formats a duration as whole (or fractional) seconds: "7200s",
// "1.57s". Exact to the nanosecond, so that it parses back to the same
// duration (Duration.Seconds is a float64 sum: 1.57s gave 1.5699999999999998).
func seconds(d time.Duration) string {
	whole, frac := d/time.Second, d%time.Second
	if frac == 0 {
		return strconv.FormatInt(int64(whole), 10) + "s"
	}
	return strconv.FormatInt(int64(whole), 10) + "." + strings.TrimRight(fmt.Sprintf("%09d", int64(frac)), "0") + "s"
}
