package conntrack

import (
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/thresholds"
)

// CheckName names the binary and its state files.
const CheckName = "check_conntrack"

// Options are check_conntrack's options, declared once: go-flags reads
// them from the command line and validates every value at parse time.
type Options struct {
	Warning      thresholds.Range  `short:"w" long:"warning" default:"80" value-name:"RANGE" description:"Warning range for the table fill, in percent of nf_conntrack_max"`
	Critical     thresholds.Range  `short:"c" long:"critical" default:"90" value-name:"RANGE" description:"Critical range for the table fill, in percent of nf_conntrack_max"`
	DropWarning  thresholds.Range  `long:"drop-warning" default:"0" value-name:"RANGE" description:"Warning range for the per-second rates of drop, early_drop and insert_failed since the last run (0: any drop warns)"`
	DropCritical *thresholds.Range `long:"drop-critical" value-name:"RANGE" description:"Critical range for the same rates (default: none)"`
	state.Options
	// The namespace to look into: a watched process's (a container's),
	// one ip netns names, or the check's own.
	target.Process
	target.Netns
	target.Mounts
}

// Validate checks the options together, once, when they are parsed.
func (o *Options) Validate() error {
	if err := o.Netns.Validate(o.Process); err != nil {
		return err
	}
	return o.Mounts.Validate()
}

// Fill is the pair that judges the table fill.
func (o *Options) Fill() thresholds.Pair { return thresholds.NewPair(&o.Warning, &o.Critical) }

// Drops is the pair that judges the drop rates.
func (o *Options) Drops() thresholds.Pair { return thresholds.NewPair(&o.DropWarning, o.DropCritical) }
