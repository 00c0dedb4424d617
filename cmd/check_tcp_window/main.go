// Command check_tcp_window finds broken TCP window scaling: the local
// sysctls, a live probe's TCP_INFO, or the established connections.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/tcpwindow"
)

type options struct {
	plugin.Common
	Host          string            `short:"H" long:"hostname" value-name:"HOST" description:"Probe a live connection to this host (name or IP; resolved within the timeout)"`
	Port          int               `short:"p" long:"port" value-name:"PORT" description:"Port of the probe; with --established, only connections with this local or remote port"`
	IPv4          bool              `short:"4" long:"ipv4" description:"Probe over IPv4 only"`
	IPv6          bool              `short:"6" long:"ipv6" description:"Probe over IPv6 only"`
	Send          string            `short:"s" long:"send" value-name:"STRING" description:"Send this after connecting; the peer's ACK shows its scaled window"`
	Expect        string            `short:"e" long:"expect" value-name:"STRING" description:"Wait for this string in the answer (WARNING when the peer closes without it)"`
	Local         bool              `long:"local" description:"Only the local audit of the window-scaling sysctls"`
	Established   bool              `long:"established" description:"Scan the existing ESTABLISHED connections for the mangled-scale signature"`
	Remote        plugin.Prefix     `long:"remote" value-name:"ADDR|PREFIX" description:"With --established: only connections to this address or prefix"`
	RTT           plugin.Duration   `long:"rtt" default:"50ms" value-name:"DURATION" description:"Round-trip time for the local throughput ceiling"`
	MaxWscale     int               `long:"max-wscale" default:"-1" value-name:"N" description:"WARNING when this host advertises a wscale above N (0-14; -1: no limit)"`
	MinWindow     int               `long:"min-window" default:"8192" value-name:"BYTES" description:"A peer window below this without scaling is the mangled-option signature"`
	MinThroughput tcpwindow.Bitrate `long:"min-throughput" value-name:"RATE" description:"WARNING when window/RTT allows less (bits/s: 800k, 10M, 1G)"`
}

func main() {
	var o options
	plugin.Main(plugin.Spec{Name: "check_tcp_window", Label: "TCP_WINDOW",
		Doc: "Finds broken TCP window scaling: a middlebox that strips or rewrites the window-scale option, or local settings that cap the window."},
		&o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			return tcpwindow.Check(ctx, tcpwindow.Config{FS: linux.Host, Local: o.Local, Host: o.Host, Port: o.Port,
				IPv4: o.IPv4, IPv6: o.IPv6, Send: o.Send, Expect: o.Expect, Established: o.Established, Remote: o.Remote.Prefix,
				RTT: o.RTT.D(), MaxWscale: o.MaxWscale, MinWindow: o.MinWindow, MinThroughput: o.MinThroughput}, env)
		})
}
