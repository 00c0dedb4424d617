package mongodb

import "fmt"

// ReplOptions are the options of the replica-set modes; embedded in
// Options. Their thresholds are -w/-c, with per-mode defaults (see
// docs/check_mongodb_replset.md).
type ReplOptions struct {
	Member string `long:"member" value-name:"self|all" description:"replication-lag, replication-lag-percent: report the member the check is connected to (self) or every member (all); default: self when connected to a secondary, all when connected to the primary"`
}

// validateRepl checks the replica-set options before connecting.
func validateRepl(o *Options) error {
	switch o.Member {
	case "", "self", "all":
		return nil
	}
	return fmt.Errorf("invalid --member %q: expected self or all", o.Member)
}
