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
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

// Check gathers the table of ns, keeps the counters for the next run and
// judges.
func Check(ctx context.Context, fsys linux.FS, ns Namespace, o *Options) (*plugin.Result, error) {
	obs, err := Gather(fsys, ns, time.Now)
	if err != nil {
		return nil, err
	}
	if !obs.InUse || obs.StatErr != nil {
		return Judge(obs, nil, "", o), nil
	}
	var prev *state.Counters
	var note string
	err = state.Update(o.StateDir, state.Key(CheckName, ns.ID), state.Deadline(ctx), func(p *saved, found bool, n string) *saved {
		note = n
		if found && p.Netns == ns.ID {
			prev = p.Counters
		} else if found {
			note = fmt.Sprintf("the network namespace changed (%s -> %s); collecting a new baseline", p.Netns, ns.ID)
		}
		cur := obs.Sample()
		return &saved{Netns: ns.ID, Counters: &cur}
	})
	if err != nil {
		return nil, err
	}
	return Judge(obs, prev, note, o), nil
}

// saved is the state kept between runs.
type saved struct {
	Netns    string          `json:"netns"`
	Counters *state.Counters `json:"counters"`
}
