package tcpwindow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Options are check_tcp_window's options, declared once: the binary
// parses them and the check reads them as its configuration. Single
// values are checked by their types when parsed, the rest by Validate.
type Options struct {
	Host          string          `short:"H" long:"hostname" value-name:"HOST" description:"Probe a live connection to this host (name or IP; resolved within the timeout)"`
	Port          plugin.Port     `short:"p" long:"port" value-name:"PORT" description:"Port of the probe; with --established, only connections with this local or remote port"`
	IPv4          bool            `short:"4" long:"ipv4" description:"Probe over IPv4 only"`
	IPv6          bool            `short:"6" long:"ipv6" description:"Probe over IPv6 only"`
	Send          string          `short:"s" long:"send" value-name:"STRING" description:"Send this after connecting; the peer's ACK shows its scaled window"`
	Expect        string          `short:"e" long:"expect" value-name:"STRING" description:"Wait for this string in the answer (WARNING when the peer closes without it)"`
	Local         bool            `long:"local" description:"Only the local audit of the window-scaling sysctls"`
	Established   bool            `long:"established" description:"Scan the existing ESTABLISHED connections for the mangled-scale signature"`
	Remote        plugin.Prefix   `long:"remote" value-name:"ADDR|PREFIX" description:"With --established: only connections to this address or prefix"`
	RTT           plugin.Duration `long:"rtt" default:"50ms" value-name:"DURATION" description:"Round-trip time for the local throughput ceiling"`
	MaxWscale     *plugin.Int     `long:"max-wscale" value-name:"N" description:"WARNING when this host advertises a wscale above N (0-14; default: no limit)"`
	MinWindow     plugin.Int      `long:"min-window" default:"8192" value-name:"BYTES" description:"A peer window below this without scaling is the mangled-option signature"`
	MinThroughput Bitrate         `long:"min-throughput" value-name:"RATE" description:"WARNING when window/RTT allows less (bits/s: 800k, 10M, 1G)"`
}

// Validate checks the options together, once, when they are parsed.
func (o *Options) Validate() error {
	switch {
	case o.Local && (o.Host != "" || o.Established):
		return errors.New("--local runs the local audit alone: drop --local, or -H/--established")
	case o.Host != "" && o.Established:
		return errors.New("-H probes one connection and --established scans the existing ones: use one of them")
	case o.IPv4 && o.IPv6:
		return errors.New("-4 and -6 exclude each other")
	case o.Host != "" && o.Port == 0:
		return fmt.Errorf("-H %s needs -p PORT (1-65535)", o.Host)
	case o.Host == "" && (o.Send != "" || o.Expect != "" || o.IPv4 || o.IPv6):
		return errors.New("--send, --expect, -4 and -6 belong to the live probe: add -H HOST -p PORT")
	case o.Remote.IsValid() && !o.Established:
		return errors.New("--remote filters the --established scan: add --established")
	case o.Port != 0 && o.Host == "" && !o.Established:
		return errors.New("-p needs -H HOST (live probe) or --established (filter)")
	case o.MaxWscale != nil && (*o.MaxWscale < 0 || *o.MaxWscale > MaxWscale):
		return plugin.OptionError("invalid --max-wscale %d: expected 0-14", *o.MaxWscale)
	case o.MinWindow < 0 || o.MinWindow > maxWindow<<MaxWscale:
		return plugin.OptionError("invalid --min-window %d: expected 0-%d bytes", o.MinWindow, maxWindow<<MaxWscale)
	case strings.ContainsAny(o.Host, " \t\n/"):
		return fmt.Errorf("invalid host %q: expected a host name or an IP address", plugin.Clip(o.Host, 40))
	}
	return nil
}

// maxWscale is --max-wscale, and whether it was given.
func (o *Options) maxWscale() (int, bool) {
	if o.MaxWscale == nil {
		return 0, false
	}
	return int(*o.MaxWscale), true
}
