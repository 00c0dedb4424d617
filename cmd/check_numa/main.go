// Command check_numa checks NUMA placement: node topology, the memory
// policy of large-memory processes, vm.zone_reclaim_mode and remote
// allocations.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/numa"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

type options struct {
	plugin.Common
	state.Options
	PID          []plugin.PID     `long:"pid" value-name:"PID" description:"Check the memory policy of this process; repeatable"`
	Pidfile      string           `long:"pidfile" value-name:"FILE" description:"Check the process whose PID this file holds"`
	Process      string           `long:"process" value-name:"NAME" description:"Check every process with this name (comm or argv[0], e.g. mongod); CRITICAL when none runs"`
	Distribution bool             `long:"distribution" description:"Read all of numa_maps (slow on a large process) and report its pages per node and their imbalance"`
	Warning      thresholds.Range `short:"w" long:"warning" default:"20" value-name:"RANGE" description:"Warning range for the page imbalance over the nodes, in percent (with --distribution)"`
	Critical     thresholds.Range `short:"c" long:"critical" default:"50" value-name:"RANGE" description:"Critical range for the page imbalance over the nodes, in percent (with --distribution)"`
	PolicyState  numa.PolicyState `long:"policy-state" default:"warning" value-name:"STATE" description:"State of a process that is not interleaved: warning or critical"`
	AllowBind    bool             `long:"allow-bind" description:"Accept a process bound to a single node (one instance per node)"`
	RequireNUMA  bool             `long:"require-numa" description:"CRITICAL when the machine has only one memory node"`
	MissWarning  thresholds.Range `long:"miss-warning" default:"10" value-name:"RANGE" description:"Warning range for numa_miss in percent of allocations"`
	MissCritical thresholds.Range `long:"miss-critical" default:"25" value-name:"RANGE" description:"Critical range for numa_miss in percent of allocations"`
	SysfsRoot    string           `long:"sysfs-root" default:"/" value-name:"DIR" description:"Directory that holds sys/ (for containers and fixture trees)"`
	ProcfsRoot   string           `long:"procfs-root" default:"/" value-name:"DIR" description:"Directory that holds proc/"`
}

func main() {
	var o options
	plugin.Main(plugin.Spec{
		Name:  "check_numa",
		Label: "NUMA",
		Doc:   "Checks NUMA placement: the node topology, whether large-memory processes (databases) run interleaved over the nodes, vm.zone_reclaim_mode, and remote allocations (numa_miss) per node.",
	}, &o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		pids := make([]int, len(o.PID))
		for i, p := range o.PID {
			pids[i] = int(p)
		}
		return numa.Check(ctx, numa.Config{
			PIDs: pids, Pidfile: o.Pidfile, Process: o.Process, Distribution: o.Distribution,
			Warn: &o.Warning, Crit: &o.Critical, PolicyState: plugin.State(o.PolicyState),
			AllowBind: o.AllowBind, RequireNUMA: o.RequireNUMA,
			MissWarn: &o.MissWarning, MissCrit: &o.MissCritical,
			SysfsRoot: o.SysfsRoot, ProcfsRoot: o.ProcfsRoot, StateDir: o.StateDir,
		}, env)
	})
}
