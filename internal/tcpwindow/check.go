// Package tcpwindow finds broken TCP window scaling: a local audit of the
// sysctls that decide the advertised window scale, a live probe that
// reads TCP_INFO of its own connection, and a passive scan of the
// established sockets, each looking for the signature of a middlebox that
// strips or rewrites the window-scale option.
package tcpwindow

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Config is what the check needs from its options.
type Config struct {
	FS linux.FS

	Local       bool   // the local audit alone
	Host        string // live probe target
	Port        int    // probe port; filter in passive mode
	IPv4, IPv6  bool
	Send        string
	Expect      string
	Established bool         // passive mode
	Remote      netip.Prefix // passive filter: the peer's range; zero for any

	RTT           time.Duration // for the local ceiling
	MaxWscale     int           // -1: no limit
	MinWindow     int           // bytes
	MinThroughput Bitrate       // 0: not checked
}

// bannerWait is how long the probe waits for a peer that speaks first
// when there is nothing to send.
const bannerWait = time.Second

func (c Config) validate() error {
	switch {
	case c.Local && (c.Host != "" || c.Established):
		return fmt.Errorf("--local runs the local audit alone: drop --local, or -H/--established")
	case c.Host != "" && c.Established:
		return fmt.Errorf("-H probes one connection and --established scans the existing ones: use one of them")
	case c.IPv4 && c.IPv6:
		return fmt.Errorf("-4 and -6 exclude each other")
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("invalid port %d: expected 1-65535", c.Port)
	case c.Host != "" && c.Port == 0:
		return fmt.Errorf("-H %s needs -p PORT (1-65535)", c.Host)
	case c.Host == "" && (c.Send != "" || c.Expect != "" || c.IPv4 || c.IPv6):
		return fmt.Errorf("--send, --expect, -4 and -6 belong to the live probe: add -H HOST -p PORT")
	case c.Remote.IsValid() && !c.Established:
		return fmt.Errorf("--remote filters the --established scan: add --established")
	case c.Port != 0 && c.Host == "" && !c.Established:
		return fmt.Errorf("-p needs -H HOST (live probe) or --established (filter)")
	case c.MaxWscale < -1 || c.MaxWscale > MaxWscale:
		return fmt.Errorf("invalid --max-wscale %d: expected 0-14", c.MaxWscale)
	case c.MinWindow < 0 || c.MinWindow > maxWindow<<MaxWscale:
		return fmt.Errorf("invalid --min-window %d: expected 0-%d bytes", c.MinWindow, maxWindow<<MaxWscale)
	case c.RTT <= 0:
		return fmt.Errorf("invalid --rtt %s: must be greater than zero", c.RTT)
	case strings.ContainsAny(c.Host, " \t\n/"):
		return fmt.Errorf("invalid host %q: expected a host name or an IP address", c.Host)
	}
	return nil
}

// Check runs the local audit and, when asked, the live probe or the
// passive scan.
func Check(ctx context.Context, cfg Config, env plugin.Env) (*plugin.Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sys, err := ReadSysctls(cfg.FS)
	if err != nil {
		return nil, err
	}
	res := &plugin.Result{}
	audit(res, cfg, sys, cfg.Host != "" || cfg.Established)
	switch {
	case cfg.Host != "":
		p, err := Probe(ctx, cfg)
		if err != nil {
			return nil, err
		}
		judgeProbe(res, cfg, p, sys.WindowScaling != 0)
	case cfg.Established:
		if err := scan(ctx, res, cfg, env.Verbose); err != nil {
			return nil, err
		}
	}
	return res, nil
}
