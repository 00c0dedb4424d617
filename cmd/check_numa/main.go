// Command check_numa checks NUMA placement: node topology, the memory
// policy of large-memory processes, vm.zone_reclaim_mode and remote
// allocations.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/numa"
	"github.com/opschecks/opschecks/internal/plugin"
)

type options struct {
	plugin.Common
	numa.Options
}

func main() {
	var o options
	plugin.Main(plugin.Spec{
		Name:  "check_numa",
		Label: "NUMA",
		Doc:   "Checks NUMA placement: the node topology, whether large-memory processes (databases) run interleaved over the nodes, vm.zone_reclaim_mode, and remote allocations (numa_miss) per node.",
	}, &o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		return numa.Check(ctx, &o.Options, env)
	})
}
