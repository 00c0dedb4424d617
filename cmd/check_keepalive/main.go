// Command check_keepalive checks TCP keepalive against the idle timeout of
// the NAT device or load balancer in the path, host-wide and per socket.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/keepalive"
	"github.com/opschecks/opschecks/internal/plugin"
)

type options struct {
	plugin.Common
	keepalive.Options
}

func main() {
	var o options
	plugin.Main(plugin.Spec{
		Name:  "check_keepalive",
		Label: "KEEPALIVE",
		Doc:   "Checks TCP keepalive against the idle timeout of the NAT device or load balancer in the path: the keepalive sysctls of the relevant network namespace and, per established socket, the keepalive timer and the idle time. With --pid, --pidfile or --process it audits the network namespace and the sockets of those processes.",
	}, &o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		return keepalive.Check(ctx, &o.Options, env)
	})
}
