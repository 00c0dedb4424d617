package mongodb

import (
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// ReplOptions are the options of the replica-set modes; embedded in
// Options. Their thresholds are -w/-c, with per-mode defaults (see
// README, "check_mongodb: replica-set modes").
type ReplOptions struct {
	Member string `long:"member" value-name:"MEMBER" choice:"self" choice:"all" description:"replication-lag, replication-lag-percent: report the member the check is connected to (self) or every member (all); default: self when connected directly to a secondary, all when connected to the primary or through a replica-set URI"`
	// Hold has no default tag, so that a --hold given with another mode
	// can be told from none and refused (modeOptions); primary-change
	// uses defaultHold without it.
	Hold plugin.Duration `long:"hold" value-name:"DURATION" description:"primary-change: how long a change of primary (or a re-election) stays WARNING, so that it reaches a HARD state and notifies (default 15m: 15 minutes cover max_check_attempts 3 at a 5-minute interval)"`
}

// defaultHold is --hold when it is not given.
const defaultHold = 15 * time.Minute

// hold is --hold, or defaultHold without it.
func (o *ReplOptions) hold() time.Duration {
	if o.Hold == 0 {
		return defaultHold
	}
	return o.Hold.D()
}
