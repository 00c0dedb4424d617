package mongodb

import "github.com/opschecks/opschecks/internal/plugin"

// ReplOptions are the options of the replica-set modes; embedded in
// Options. Their thresholds are -w/-c, with per-mode defaults (see
// README, "check_mongodb: replica-set modes").
type ReplOptions struct {
	Member string          `long:"member" value-name:"MEMBER" choice:"self" choice:"all" description:"replication-lag, replication-lag-percent: report the member the check is connected to (self) or every member (all); default: self when connected directly to a secondary, all when connected to the primary or through a replica-set URI"`
	Hold   plugin.Duration `long:"hold" default:"15m" value-name:"DURATION" description:"primary-change: how long a change of primary (or a re-election) stays WARNING, so that it reaches a HARD state and notifies (15 minutes cover max_check_attempts 3 at a 5-minute interval)"`
}
