package numa

import (
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/thresholds"
)

// Options are check_numa's options, declared once: the binary parses
// them and the check reads them as its configuration. Single values are
// checked by their types and choices when parsed, combinations by
// Validate.
type Options struct {
	state.Options
	target.Process
	Distribution bool             `long:"distribution" description:"Read all of numa_maps (slow on a large process) and report its pages per node and their imbalance"`
	Warning      thresholds.Range `short:"w" long:"warning" default:"20" value-name:"RANGE" description:"Warning range for the page imbalance over the nodes, in percent (with --distribution)"`
	Critical     thresholds.Range `short:"c" long:"critical" default:"50" value-name:"RANGE" description:"Critical range for the page imbalance over the nodes, in percent (with --distribution)"`
	PolicyState  PolicyState      `long:"policy-state" default:"warning" choice:"warning" choice:"critical" value-name:"STATE" description:"State of a process that is not interleaved"`
	AllowBind    bool             `long:"allow-bind" description:"Accept a process bound to a single node (one instance per node)"`
	RequireNUMA  bool             `long:"require-numa" description:"CRITICAL when the machine has only one memory node"`
	MissWarning  thresholds.Range `long:"miss-warning" default:"10" value-name:"RANGE" description:"Warning range for numa_miss in percent of allocations"`
	MissCritical thresholds.Range `long:"miss-critical" default:"25" value-name:"RANGE" description:"Critical range for numa_miss in percent of allocations"`
	target.Mounts
}

// Validate checks the options together, once, when they are parsed.
func (o *Options) Validate() error { return o.Mounts.Validate() }

// imbalance judges the page imbalance of --distribution.
func (o *Options) imbalance() thresholds.Pair { return thresholds.NewPair(&o.Warning, &o.Critical) }

// missRatio judges the numa_miss ratio.
func (o *Options) missRatio() thresholds.Pair {
	return thresholds.NewPair(&o.MissWarning, &o.MissCritical)
}

// PolicyState is the --policy-state option: the state of a process that
// is not interleaved. Its choices are warning and critical.
type PolicyState plugin.State

// UnmarshalFlag implements go-flags' Unmarshaler.
func (p *PolicyState) UnmarshalFlag(s string) error {
	st, err := plugin.ParseState(s, "policy-state")
	*p = PolicyState(st)
	return err
}

// MarshalFlag implements go-flags' Marshaler.
func (p PolicyState) MarshalFlag() (string, error) {
	return strings.ToLower(plugin.State(p).String()), nil
}
