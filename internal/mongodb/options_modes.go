package mongodb

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// ModeOptions are the options of the read, server-status, connections,
// collections and sharded-cluster modes; embedded in Options. Each applies
// to the modes its description names, and is refused with any other
// (modeOptions, which holds the mode-bound options of Options and
// ReplOptions too).
type ModeOptions struct {
	Filter        Filter            `long:"filter" value-name:"JSON" description:"read: filter of the canary find, a document in MongoDB Extended JSON such as '{\"_id\": \"canary\"}' (default: any document of the collection)"`
	Field         FieldPath         `long:"field" value-name:"PATH" description:"server-status: the numeric serverStatus field to judge, its keys separated by dots (metrics.cursor.timedOut; keys that hold dots themselves, such as transportSecurity.1.3, are found too)"`
	Rate          bool              `long:"rate" description:"server-status: judge the field's increase per second since the previous run (state file under --state-dir) instead of its value"`
	CountWarning  *thresholds.Range `long:"count-warning" value-name:"RANGE" description:"connections: warning range of the number of open connections; collections: of the number of collections in a database"`
	CountCritical *thresholds.Range `long:"count-critical" value-name:"RANGE" description:"connections: critical range of the number of open connections; collections: of the number of collections in a database"`
	RateWarning   *thresholds.Range `long:"rate-warning" value-name:"RANGE" description:"connections: warning range of the connections created per second since the previous run (state file under --state-dir)"`
	RateCritical  *thresholds.Range `long:"rate-critical" value-name:"RANGE" description:"connections: critical range of the connections created per second since the previous run"`
	BalancerOff   string            `long:"balancer-off" value-name:"STATE" choice:"ok" choice:"warning" choice:"critical" description:"balancer: the state when the balancer is disabled (default critical; ok while it is off on purpose)"`
}

// modeOption is an option that belongs to some modes only: given with
// another mode it is refused, since it would change nothing.
type modeOption struct {
	name  string
	given func(*Options) bool
	modes []string
}

var modeOptions = []modeOption{
	{"--filter", func(o *Options) bool { return o.Filter.Doc != nil }, []string{"read"}},
	{"--field", func(o *Options) bool { return o.Field != "" }, []string{"server-status"}},
	{"--rate", func(o *Options) bool { return o.Rate }, []string{"server-status"}},
	{"--count-warning", func(o *Options) bool { return o.CountWarning != nil }, []string{"connections", "collections"}},
	{"--count-critical", func(o *Options) bool { return o.CountCritical != nil }, []string{"connections", "collections"}},
	{"--rate-warning", func(o *Options) bool { return o.RateWarning != nil }, []string{"connections"}},
	{"--rate-critical", func(o *Options) bool { return o.RateCritical != nil }, []string{"connections"}},
	{"--balancer-off", func(o *Options) bool { return o.BalancerOff != "" }, []string{"balancer"}},
	{"--member", func(o *Options) bool { return o.Member != "" }, []string{"replication-lag", "replication-lag-percent"}},
	{"--hold", func(o *Options) bool { return o.Hold != 0 }, []string{"primary-change"}},
	{"--dirty-warning", func(o *Options) bool { return o.DirtyWarning != nil }, []string{"wiredtiger-cache"}},
	{"--dirty-critical", func(o *Options) bool { return o.DirtyCritical != nil }, []string{"wiredtiger-cache"}},
	{"--ignore-id", func(o *Options) bool { return len(o.IgnoreID) > 0 }, []string{"startup-warnings"}},
	{"--database", func(o *Options) bool { return o.Database != "" },
		[]string{"database-size", "collection-size", "index-size", "read", "collections", "chunk-balance", "jumbo-chunks"}},
	// collections has its own, plainer refusal of --collection.
	{"--collection", func(o *Options) bool { return o.Collection != "" },
		[]string{"collection-size", "index-size", "read", "collections", "chunk-balance", "jumbo-chunks"}},
}

// checkModeOptions refuses an option of ModeOptions given with a mode it
// does not apply to.
func (o *Options) checkModeOptions() error {
	for _, mo := range modeOptions {
		if mo.given(o) && !contains(mo.modes, o.Mode) {
			return fmt.Errorf("%s applies only to --mode %s, not %s", mo.name, orList(mo.modes), o.Mode)
		}
	}
	return nil
}

// orList joins names as a sentence does: "a", "a and b", "a, b and c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Filter is the --filter option: one document in MongoDB Extended JSON
// (canonical or relaxed, as mongosh's EJSON.stringify writes it).
type Filter struct {
	Doc  bson.D
	Text string
}

// UnmarshalFlag implements go-flags' Unmarshaler: the document is parsed
// when the options are, so a bad filter is an UNKNOWN line before any
// connection.
func (f *Filter) UnmarshalFlag(s string) error {
	var d bson.D
	if err := bson.UnmarshalExtJSON([]byte(s), false, &d); err != nil {
		return plugin.OptionError("invalid --filter %q: expected a document in MongoDB Extended JSON such as '{\"_id\": \"canary\"}' (%v)", plugin.Clip(s, 60), plugin.OneLine(err.Error()))
	}
	f.Doc, f.Text = d, s
	return nil
}

// FieldPath is the --field option: the keys of a serverStatus field,
// separated by dots.
type FieldPath string

// UnmarshalFlag refuses an empty path and empty keys ("a..b", ".a").
func (p *FieldPath) UnmarshalFlag(s string) error {
	for _, k := range strings.Split(s, ".") {
		if strings.TrimSpace(k) == "" {
			return plugin.OptionError("invalid --field %q: expected serverStatus keys separated by dots, such as metrics.cursor.timedOut", plugin.Clip(s, 60))
		}
	}
	// Every serverStatus section starts with a letter, and so must the
	// perfdata label the path becomes (fieldLabel).
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return plugin.OptionError("invalid --field %q: expected serverStatus keys separated by dots, the first starting with a letter, such as metrics.cursor.timedOut", plugin.Clip(s, 60))
	}
	*p = FieldPath(s)
	return nil
}

// Keys are the dot-separated parts of the path.
func (p FieldPath) Keys() []string { return strings.Split(string(p), ".") }
