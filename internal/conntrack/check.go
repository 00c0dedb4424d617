// Package conntrack checks the kernel's connection-tracking table, which
// NAT boxes, stateful firewalls, Kubernetes nodes and Docker hosts depend
// on: how full it is, whether flows were dropped since the last run, and
// whether idle established flows outlive the keepalive probe gap.
//
// Files: options.go declares the options (and the threshold pairs);
// gather.go reads everything of one network namespace into an
// Observation (Gather); judge.go holds the verdicts, pure functions of
// (Observation, Options), tested by the literal table of judge_test.go;
// check.go resolves the namespace (internal/target: --pid, --pidfile,
// --process, --netns), then joins Gather, the rates' state file
// (state.Sample) and Judge. The parser of /proc/net/stat/nf_conntrack is
// shared, in internal/linux (conntrack.go).
package conntrack

import (
	"context"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
)

// Check resolves the network namespace to look into, gathers its table,
// samples its counters for the rates and judges.
func Check(ctx context.Context, o *Options) (*plugin.Result, error) {
	fsys := o.Mounts.FS()
	t, err := target.Resolve(fsys, o.Process, target.Want{})
	if err != nil {
		return nil, err
	}
	n, err := target.Namespace(fsys, t, o.Netns)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	ns := Namespace{Netns: n}
	ns.Desc, ns.Enter = target.Describe(n)
	obs, err := Gather(fsys, ns, time.Now)
	if err != nil {
		return nil, err
	}
	if obs.InUse && obs.StatErr == nil {
		obs.Rates = state.Sample(ctx, o.StateDir, state.Key(CheckName, n.ID), obs.Sample())
	}
	return Judge(obs, o), nil
}
