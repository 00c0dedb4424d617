package mongosim

import (
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/bson"
)

// The config database of the simulated mongos is a set of collections of
// documents; find and aggregate run on them with the query operators and
// pipeline stages that the check and mongosh's sh.status() send (mongosh
// shell-api helpers.js, getPrintableShardStatus). An operator or stage
// outside that set is refused with an error, so a test never passes on
// an answer the simulator made up. Semantics follow the manual's query
// and aggregation pages: BSON comparison order, a missing field equal to
// null and unequal to everything else, $ne and $exists: false matching a
// missing field, expression objects leaving out fields that are missing.

// errQuery is a query the simulator does not evaluate.
type errQuery struct{ msg string }

func (e *errQuery) Error() string { return e.msg }

func unsupported(format string, args ...any) error {
	return &errQuery{"mongosim: " + fmt.Sprintf(format, args...)}
}

// sortDocs sorts by a sort specification ({field: 1 | -1, ...}); a
// missing field sorts as null.
func sortDocs(docs []bson.D, spec bson.D) error {
	for _, e := range spec {
		if n := number(e.Value); n != 1 && n != -1 {
			return unsupported("sort %s: %v", e.Key, e.Value)
		}
	}
	sort.SliceStable(docs, func(i, j int) bool {
		for _, e := range spec {
			a, _ := lookup(docs[i], e.Key)
			b, _ := lookup(docs[j], e.Key)
			if c := compare(a, b) * int(number(e.Value)); c != 0 {
				return c < 0
			}
		}
		return false
	})
	return nil
}

// query is a find: filter, sort, skip, limit and projection.
func query(docs []bson.D, cmd bson.D) ([]bson.D, error) {
	var out []bson.D
	filter, _ := docField(cmd, "filter")
	for _, d := range docs {
		ok, err := matches(d, filter)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	if s, ok := docField(cmd, "sort"); ok {
		if err := sortDocs(out, s); err != nil {
			return nil, err
		}
	}
	if v, ok := specOf(cmd, "skip"); ok {
		out = out[min(int(number(v)), len(out)):]
	}
	if v, ok := specOf(cmd, "limit"); ok {
		if n := int(number(v)); n < 0 {
			out = out[:min(-n, len(out))]
		} else if n > 0 {
			out = out[:min(n, len(out))]
		}
	}
	if p, ok := docField(cmd, "projection"); ok && len(p) > 0 {
		for i, d := range out {
			var err error
			if out[i], err = project(d, p); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func docField(d bson.D, key string) (bson.D, bool) {
	v, ok := specOf(d, key)
	if !ok {
		return nil, false
	}
	sub, ok := v.(bson.D)
	return sub, ok
}
