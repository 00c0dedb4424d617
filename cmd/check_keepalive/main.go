// Command check_keepalive checks TCP keepalive against the idle timeout of
// the NAT device or load balancer in the path, host-wide and per socket.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/keepalive"
	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

type options struct {
	plugin.Common
	IdleTimeout keepalive.IdleTimeout `long:"idle-timeout" default:"90s" value-name:"DURATION|PRESET" description:"Idle timeout of the NAT/load balancer in the path: a duration (90, 90s, 5m) or a preset: aws-nat 350s, aws-nlb 350s, azure-lb 4m, gcp-nat 20m, ipvs 15m, conntrack 120h"`
	PID         plugin.PID            `long:"pid" value-name:"PID" description:"Audit this process: its network namespace's sysctls and its established sockets (implies --sockets)"`
	Process     string                `long:"process" value-name:"NAME" description:"Audit the processes with this name (comm or argv[0]); CRITICAL when none runs (implies --sockets)"`
	Port        []keepalive.Port      `long:"port" value-name:"PORT" description:"Only sockets with this local or remote port; repeatable (implies --sockets)"`
	Remote      []plugin.Prefix       `long:"remote" value-name:"CIDR" description:"Only sockets whose remote address is in this range; repeatable (implies --sockets)"`
	Sockets     bool                  `long:"sockets" description:"Also audit every established TCP socket of the namespace"`
	MaxDetect   plugin.Duration       `long:"max-detect" value-name:"DURATION" description:"WARNING when a dead peer is detected later than this (tcp_keepalive_time + intvl * probes)"`
	Warning     thresholds.Range      `short:"w" long:"warning" default:"1" value-name:"RANGE" description:"Warning range for the number of sockets idle longer than the idle timeout (Nagios range: 1 warns from 2, 0 from 1)"`
	Critical    *thresholds.Range     `short:"c" long:"critical" value-name:"RANGE" description:"Critical range for the number of sockets idle longer than the idle timeout (default: none)"`
}

func main() {
	var o options
	plugin.Main(plugin.Spec{
		Name:  "check_keepalive",
		Label: "KEEPALIVE",
		Doc:   "Checks TCP keepalive against the idle timeout of the NAT device or load balancer in the path: the keepalive sysctls of the relevant network namespace and, per established socket, the keepalive timer and the idle time.",
	}, &o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		return keepalive.Check(ctx, keepalive.Config{
			FS: linux.Host, Idle: o.IdleTimeout, PID: int(o.PID), Process: o.Process,
			Ports: o.Port, Remotes: o.Remote, Sockets: o.Sockets,
			MaxDetect: o.MaxDetect.D(), Warn: &o.Warning, Crit: o.Critical,
		}, env)
	})
}
