package mongodb

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Default thresholds of collections: indexes of one collection. A
// collection holds at most 64 indexes, _id's included (manual, "MongoDB
// Limits and Thresholds", "Number of Indexes per Collection").
const (
	defIndexWarn = "50"
	defIndexCrit = "60"
	indexLimit   = 64
	// listWorkers bounds the listIndexes commands in flight at once.
	listWorkers = 4
)

func init() {
	register("collections", Mode{Run: modeCollections, Validate: func(o *Options) error {
		if o.Collection != "" {
			return fmt.Errorf("--mode collections looks at whole databases: drop --collection (--database DB narrows it to one database)")
		}
		return nil
	}, Warning: defIndexWarn, Critical: defIndexCrit,
		Doc: "listCollections and listIndexes of every database (or --database): indexes of the fullest collection (at most 64); collections per database by --count-warning/--count-critical"})
}

// dbSeen is one database as collections saw it.
type dbSeen struct {
	Name  string
	Views int
	// Indexes holds the number of indexes of each collection (views
	// have none); Uncounted lists the collections whose indexes were not
	// counted before the deadline.
	Indexes   map[string]int
	Uncounted []string
}

// modeCollections lists the databases (or --database), their collections
// (listCollections) and the indexes of each (listIndexes). It only reads.
func modeCollections(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	names := []string{o.Database}
	if o.Database == "" {
		var err error
		names, err = s.Client.ListDatabaseNames(ctx, bson.D{}, options.ListDatabases().SetAuthorizedDatabases(true))
		if err != nil {
			return nil, fmt.Errorf("listDatabases: %w", err)
		}
	}
	lctx, cancel := inner(ctx)
	defer cancel()
	var dbs []dbSeen
	for _, name := range names {
		d, err := listDatabase(lctx, s, name)
		if err != nil {
			if ctx.Err() == nil && deadlineError(lctx, err) != nil {
				break
			}
			return nil, err
		}
		dbs = append(dbs, d)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return collectionsResult(dbs, len(names), s.Target, o), nil
}

// listDatabase lists one database's collections and counts the indexes
// of each, listWorkers at a time, until ctx ends.
func listDatabase(ctx context.Context, s *Session, name string) (dbSeen, error) {
	db := s.Client.Database(name)
	cur, err := db.ListCollections(ctx, bson.D{}, options.ListCollections().SetNameOnly(true).SetAuthorizedCollections(true))
	if err != nil {
		return dbSeen{}, fmt.Errorf("listCollections on %s: %w", name, err)
	}
	var specs []struct {
		Name string `bson:"name"`
		Type string `bson:"type"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return dbSeen{}, fmt.Errorf("listCollections on %s: %w", name, err)
	}
	d := dbSeen{Name: name, Indexes: map[string]int{}}
	var colls []string
	for _, c := range specs {
		if c.Type == "view" {
			d.Views++
			continue
		}
		colls = append(colls, c.Name)
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		next  = make(chan string)
		first error // the first failure that is not the deadline
	)
	for range min(listWorkers, len(colls)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				n, err := countIndexes(ctx, s, name, c)
				mu.Lock()
				switch {
				case err != nil && deadlineError(ctx, err) == nil:
					if first == nil {
						first = fmt.Errorf("listIndexes on %s.%s: %w", name, c, err)
					}
				case err != nil:
					d.Uncounted = append(d.Uncounted, c)
				default:
					d.Indexes[c] = n
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range colls {
		next <- c
	}
	close(next)
	wg.Wait()
	sort.Strings(d.Uncounted)
	return d, first
}

func countIndexes(ctx context.Context, s *Session, db, coll string) (int, error) {
	cur, err := s.Client.Database(db).Collection(coll).Indexes().List(ctx)
	if err != nil {
		return 0, err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	n := 0
	for cur.Next(ctx) {
		n++
	}
	return n, cur.Err()
}

// collectionsResult judges the databases: the indexes of each collection
// by -w/-c (near the limit of 64), the collections of each database by
// --count-warning/--count-critical. of is how many databases there were
// to list; fewer seen, or collections left uncounted, is UNKNOWN.
func collectionsResult(dbs []dbSeen, of int, target string, o *Options) *plugin.Result {
	var r plugin.Result
	pair := o.pair(defIndexWarn, defIndexCrit)
	countPair := thresholds.NewPair(o.CountWarning, o.CountCritical)
	maxIdx, maxAt, colls, views := 0, "", 0, 0
	var uncounted []string
	for _, d := range dbs {
		colls += len(d.Indexes) + len(d.Uncounted)
		views += d.Views
		for _, c := range sortedKeys(d.Indexes) {
			n := d.Indexes[c]
			if n > maxIdx || maxAt == "" {
				maxIdx, maxAt = n, d.Name+"."+c
			}
			if st := pair.State(float64(n)); st != plugin.OK {
				r.Add(st, fmt.Sprintf("%s.%s has %d indexes (a collection holds at most %d)", d.Name, c, n, indexLimit)).
					Detailf("drop indexes that serve no query ($indexStats shows their use), or merge them into compound indexes; creating a 65th index fails")
			}
		}
		for _, c := range d.Uncounted {
			uncounted = append(uncounted, d.Name+"."+c)
		}
	}
	var perf []plugin.Perf
	for _, d := range dbs {
		total := 0
		for _, n := range d.Indexes {
			total += n
		}
		p := plugin.Perf{Label: plugin.Label("collections", plugin.Split(d.Name, "_")...), Value: float64(len(d.Indexes) + len(d.Uncounted)), Thresholds: countPair, Min: plugin.F(0)}
		perf = append(perf, p, plugin.Perf{Label: plugin.Label("indexes", plugin.Split(d.Name, "_")...), Value: float64(total), Min: plugin.F(0)})
		if st := p.State(); st != plugin.OK {
			r.Add(st, fmt.Sprintf("database %s holds %.0f collections", d.Name, p.Value)).
				Detailf("every collection and index is a file of WiredTiger with its cache and checkpoint cost; consolidate collections")
		}
	}
	most := plugin.Perf{Label: "max_indexes", Value: float64(maxIdx), Thresholds: pair, Min: plugin.F(0), Max: plugin.F(indexLimit)}
	text := fmt.Sprintf("%s: %d collections (and %d views) in %d databases, at most %d indexes in one collection", target, colls, views, len(dbs), maxIdx)
	if maxAt != "" {
		text += " (" + maxAt + ")"
	}
	f := r.Add(plugin.OK, text, append([]plugin.Perf{most}, perf...)...)
	f.Quiet = len(r.Findings) > 1
	if len(uncounted) > 0 || len(dbs) < of {
		u := r.Add(plugin.Unknown, fmt.Sprintf("the indexes of %d collections and %d databases were not counted before the deadline (-t)", len(uncounted), of-len(dbs)))
		u.Detailf("not counted: %s", clipList(uncounted, 10))
	}
	return &r
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// clipList joins at most n items, saying how many more there are.
func clipList(items []string, n int) string {
	if len(items) <= n {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:n], len(items)-n)
}
