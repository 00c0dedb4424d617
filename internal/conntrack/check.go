// Package conntrack checks the kernel's connection-tracking table, which
// NAT boxes, stateful firewalls, Kubernetes nodes and Docker hosts depend
// on: how full it is, whether flows were dropped since the last run, and
// whether idle established flows outlive the keepalive probe gap.
//
// Files: options.go declares the options; gather.go reads everything of
// one network namespace into an Observation (Gather); judge.go holds the
// verdicts, pure functions of (Observation, previous sample, Options);
// check.go joins them with the state file. The /proc parsers are shared
// in internal/linux (conntrack.go).
package conntrack

import (
	"context"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

// Check gathers the table of ns, samples its counters for the rates and
// judges.
func Check(ctx context.Context, fsys linux.FS, ns Namespace, o *Options) (*plugin.Result, error) {
	obs, err := Gather(fsys, ns, time.Now)
	if err != nil {
		return nil, err
	}
	if obs.InUse && obs.StatErr == nil {
		obs.Rates = state.Sample(ctx, o.StateDir, state.Key(CheckName, ns.ID), obs.Sample())
	}
	return Judge(obs, o), nil
}
