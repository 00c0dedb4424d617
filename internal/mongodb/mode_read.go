package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Default thresholds of read, the time of the canary find in seconds.
const (
	defReadWarn = "1"
	defReadCrit = "3"
)

func init() {
	register("read", Mode{Run: modeRead, Validate: needDatabase(true), Warning: defReadWarn, Critical: defReadCrit,
		Doc: "a canary find of one document in --database/--collection (matching --filter): the time of the read in seconds; CRITICAL when it is refused, finds nothing or does not answer"})
}

// readSeen is what one canary read saw: how long the find took and how it
// ended.
type readSeen struct {
	NS      string // database.collection
	Filter  string // --filter as given ("" for any document)
	Elapsed time.Duration
	Found   bool
	// Err is the find's error; TimedOut says the find did not answer
	// before its deadline.
	Err      error
	TimedOut bool
	// Missing: no document, and the collection does not exist.
	Missing bool
}

// modeRead finds one document of --database/--collection (matching
// --filter) and times it. It only reads: find with limit 1, then, when
// nothing was found, listCollections to tell a missing collection from
// an empty one.
func modeRead(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	seen := readSeen{NS: o.Database + "." + o.Collection, Filter: o.Filter.Text}
	filter := o.Filter.Doc
	if filter == nil {
		filter = bson.D{}
	}
	rctx, cancel := inner(ctx)
	defer cancel()
	start := time.Now()
	err := s.Client.Database(o.Database).Collection(o.Collection).FindOne(rctx, filter).Err()
	seen.Elapsed = time.Since(start)
	switch {
	case err == nil:
		seen.Found = true
	case errors.Is(err, mongo.ErrNoDocuments):
		names, lerr := s.Client.Database(o.Database).ListCollectionNames(ctx, bson.D{{Key: "name", Value: o.Collection}})
		if lerr == nil {
			seen.Missing = len(names) == 0
		}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case deadlineError(rctx, err) != nil:
		seen.TimedOut = true
	default:
		seen.Err = err
	}
	return readResult(seen, s.Target, s.User, o), nil
}

// readResult judges a canary read: CRITICAL when it failed (with the
// reason), found nothing or did not answer; otherwise by -w/-c on its
// time.
func readResult(r readSeen, target, user string, o *Options) *plugin.Result {
	perf := plugin.Perf{Label: "read_time", Value: round(r.Elapsed.Seconds(), 6), UOM: "s",
		Thresholds: o.pair(defReadWarn, defReadCrit), Min: plugin.F(0)}
	var res plugin.Result
	what := "a document"
	if r.Filter != "" {
		what = "a document matching " + r.Filter
	}
	fail := func(format string, args ...any) *plugin.Result {
		res.Add(plugin.Critical, fmt.Sprintf("%s: ", target)+fmt.Sprintf(format, args...), perf)
		return &res
	}
	switch {
	case r.TimedOut:
		return fail("canary read of %s did not answer within %.1f s", r.NS, r.Elapsed.Seconds())
	case codes.Is(r.Err, codes.Unauthorized):
		who := "without a user: pass --user and a password"
		if user != "" {
			who = "user " + user + " may not read it: grant the read role on the database"
		}
		return fail("canary read of %s refused (%s): %s", r.NS, errText(r.Err), who)
	case r.Err != nil:
		return fail("canary read of %s failed: %s", r.NS, errText(r.Err))
	case r.Missing:
		return fail("canary read: collection %s does not exist, check --database and --collection", r.NS)
	case !r.Found:
		return fail("canary read found no document in %s (looked for %s)", r.NS, what)
	}
	f := res.Judge(fmt.Sprintf("%s: canary read of %s in %.3f s", target, r.NS, r.Elapsed.Seconds()), perf)
	if f.State != plugin.OK {
		f.Detailf("the find of one document took longer than the %s range; look at the server's load and queues (--mode queues), slow operations (db.currentOp()) and whether the filter uses an index", f.State)
	}
	return &res
}
