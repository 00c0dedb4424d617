// Command check_conntrack checks the kernel's connection-tracking table:
// its fill against nf_conntrack_max, drops since the last run, and the
// established-flow timeout against the keepalive probe gap.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/conntrack"
	"github.com/opschecks/opschecks/internal/plugin"
)

type options struct {
	plugin.Common
	conntrack.Options
}

func main() {
	var o options
	plugin.Main(plugin.Spec{
		Name:  conntrack.CheckName,
		Label: "CONNTRACK",
		Doc:   "Checks the connection-tracking table of a NAT box or stateful firewall: nf_conntrack_count against nf_conntrack_max, the rates of the per-CPU drop counters since the last run, and nf_conntrack_tcp_timeout_established against the keepalive probe gap, in one network namespace: the check's own, that of the processes named by --pid, --pidfile or --process (a container), or one ip netns names (--netns).",
	}, &o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		return conntrack.Check(ctx, &o.Options)
	})
}
