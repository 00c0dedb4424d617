package mongosim

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
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

// lookup finds a dotted path in a document.
func lookup(doc bson.D, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		d, ok := cur.(bson.D)
		if !ok {
			return nil, false
		}
		found := false
		for _, e := range d {
			if e.Key == k {
				cur, found = e.Value, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}

// typeOrder is BSON's comparison order of types (manual, "Comparison/Sort
// Order").
func typeOrder(v any) int {
	switch v.(type) {
	case primitive.MinKey:
		return 1
	case nil, primitive.Null:
		return 2
	case int32, int64, float64:
		return 3
	case string:
		return 4
	case bson.D:
		return 5
	case bson.A:
		return 6
	case primitive.Binary:
		return 7
	case primitive.ObjectID:
		return 8
	case bool:
		return 9
	case primitive.DateTime:
		return 10
	case primitive.Timestamp:
		return 11
	case primitive.MaxKey:
		return 13
	}
	return 12
}

func number(v any) float64 {
	switch n := v.(type) {
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// compare orders two BSON values as the server does.
func compare(a, b any) int {
	ta, tb := typeOrder(a), typeOrder(b)
	if ta != tb {
		return cmpInt(ta, tb)
	}
	switch x := a.(type) {
	case int32, int64, float64:
		na, nb := number(a), number(b)
		switch {
		case na < nb:
			return -1
		case na > nb:
			return 1
		}
		return 0
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case primitive.DateTime:
		return cmpInt(int64(x), int64(b.(primitive.DateTime)))
	case primitive.Timestamp:
		return primitive.CompareTimestamp(x, b.(primitive.Timestamp))
	case primitive.ObjectID:
		y := b.(primitive.ObjectID)
		return bytes.Compare(x[:], y[:])
	case primitive.Binary:
		y := b.(primitive.Binary)
		return bytes.Compare(x.Data, y.Data)
	case bson.D:
		y := b.(bson.D)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := strings.Compare(x[i].Key, y[i].Key); c != 0 {
				return c
			}
			if c := compare(x[i].Value, y[i].Value); c != 0 {
				return c
			}
		}
		return cmpInt(len(x), len(y))
	case bson.A:
		y := b.(bson.A)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmpInt(len(x), len(y))
	}
	return 0
}

func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matches evaluates a query filter on a document.
func matches(doc bson.D, filter bson.D) (bool, error) {
	for _, e := range filter {
		switch e.Key {
		case "$or", "$and":
			arr, ok := e.Value.(bson.A)
			if !ok {
				return false, unsupported("%s needs an array", e.Key)
			}
			any := false
			for _, sub := range arr {
				f, ok := sub.(bson.D)
				if !ok {
					return false, unsupported("%s holds a non-document", e.Key)
				}
				m, err := matches(doc, f)
				if err != nil {
					return false, err
				}
				if e.Key == "$and" && !m {
					return false, nil
				}
				any = any || m
			}
			if e.Key == "$or" && !any {
				return false, nil
			}
			continue
		}
		if strings.HasPrefix(e.Key, "$") {
			return false, unsupported("query operator %s", e.Key)
		}
		v, has := lookup(doc, e.Key)
		ok, err := fieldMatches(v, has, e.Value)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// fieldMatches evaluates one field's condition: a value (equality) or a
// document of operators.
func fieldMatches(v any, has bool, cond any) (bool, error) {
	ops, isOps := cond.(bson.D)
	if !isOps || len(ops) == 0 || !strings.HasPrefix(ops[0].Key, "$") {
		return equal(v, has, cond), nil
	}
	for _, op := range ops {
		var ok bool
		switch op.Key {
		case "$eq":
			ok = equal(v, has, op.Value)
		case "$ne":
			ok = !equal(v, has, op.Value)
		case "$gt", "$gte", "$lt", "$lte":
			if !has || typeOrder(v) != typeOrder(op.Value) {
				return false, nil
			}
			c := compare(v, op.Value)
			ok = map[string]bool{"$gt": c > 0, "$gte": c >= 0, "$lt": c < 0, "$lte": c <= 0}[op.Key]
		case "$exists":
			want, _ := op.Value.(bool)
			ok = has == want
		case "$in":
			arr, isArr := op.Value.(bson.A)
			if !isArr {
				return false, unsupported("$in needs an array")
			}
			for _, x := range arr {
				ok = ok || equal(v, has, x)
			}
		default:
			return false, unsupported("query operator %s", op.Key)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// equal is query equality: null matches a missing field.
func equal(v any, has bool, want any) bool {
	if !has {
		return typeOrder(want) == 2
	}
	return typeOrder(v) == typeOrder(want) && compare(v, want) == 0
}

// missing marks an expression that evaluates to nothing.
type missing struct{}

// eval evaluates an aggregation expression: "$path", a literal, an
// expression object (fields that evaluate to missing are left out) or
// {$ifNull: [expr, replacement]}.
func eval(doc bson.D, expr any) (any, error) {
	switch x := expr.(type) {
	case string:
		if strings.HasPrefix(x, "$") {
			if v, ok := lookup(doc, x[1:]); ok {
				return v, nil
			}
			return missing{}, nil
		}
		return x, nil
	case bson.D:
		if len(x) == 1 && x[0].Key == "$ifNull" {
			args, ok := x[0].Value.(bson.A)
			if !ok || len(args) != 2 {
				return nil, unsupported("$ifNull needs two arguments")
			}
			v, err := eval(doc, args[0])
			if err != nil {
				return nil, err
			}
			if _, miss := v.(missing); miss || v == nil {
				return eval(doc, args[1])
			}
			return v, nil
		}
		out := bson.D{}
		for _, e := range x {
			if strings.HasPrefix(e.Key, "$") {
				return nil, unsupported("expression operator %s", e.Key)
			}
			v, err := eval(doc, e.Value)
			if err != nil {
				return nil, err
			}
			if _, miss := v.(missing); !miss {
				out = append(out, bson.E{Key: e.Key, Value: v})
			}
		}
		return out, nil
	}
	return expr, nil
}

// project applies a projection: inclusion (1/true and expressions) or
// exclusion (0/false) of fields, _id kept unless excluded.
func project(doc bson.D, spec bson.D) (bson.D, error) {
	exclude := true
	for _, e := range spec {
		if e.Key == "_id" {
			continue
		}
		if isFalse(e.Value) {
			continue
		}
		exclude = false
	}
	if exclude {
		out := bson.D{}
		for _, e := range doc {
			drop := false
			for _, s := range spec {
				drop = drop || (s.Key == e.Key && isFalse(s.Value))
			}
			if !drop {
				out = append(out, e)
			}
		}
		return out, nil
	}
	out := bson.D{}
	add := func(key string, expr any) error {
		var v any
		if isTrue(expr) {
			var ok bool
			if v, ok = lookup(doc, key); !ok {
				return nil
			}
		} else {
			var err error
			if v, err = eval(doc, expr); err != nil {
				return err
			}
		}
		if _, miss := v.(missing); !miss {
			out = append(out, bson.E{Key: key, Value: v})
		}
		return nil
	}
	idSpec, hasID := specOf(spec, "_id")
	if !hasID {
		idSpec = true
	}
	if !isFalse(idSpec) {
		if err := add("_id", idSpec); err != nil {
			return nil, err
		}
	}
	for _, e := range spec {
		if e.Key == "_id" || isFalse(e.Value) {
			continue
		}
		if err := add(e.Key, e.Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func specOf(spec bson.D, key string) (any, bool) {
	for _, e := range spec {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

func isFalse(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case int32, int64, float64:
		return number(x) == 0
	}
	return false
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int32, int64, float64:
		return number(x) != 0
	}
	return false
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

// pipeline runs an aggregation pipeline of $match, $group (with $sum),
// $project, $sort and $limit.
func pipeline(docs []bson.D, stages bson.A) ([]bson.D, error) {
	for _, st := range stages {
		sd, ok := st.(bson.D)
		if !ok || len(sd) != 1 {
			return nil, unsupported("a pipeline stage must be a document with one field")
		}
		arg := sd[0].Value
		spec, _ := arg.(bson.D)
		var err error
		switch sd[0].Key {
		case "$match":
			docs, err = query(docs, bson.D{{Key: "filter", Value: spec}})
		case "$sort":
			docs = append([]bson.D(nil), docs...)
			err = sortDocs(docs, spec)
		case "$limit":
			docs = docs[:min(int(number(arg)), len(docs))]
		case "$project":
			out := make([]bson.D, 0, len(docs))
			for _, d := range docs {
				p, perr := project(d, spec)
				if perr != nil {
					return nil, perr
				}
				out = append(out, p)
			}
			docs = out
		case "$group":
			docs, err = group(docs, spec)
		default:
			return nil, unsupported("pipeline stage %s", sd[0].Key)
		}
		if err != nil {
			return nil, err
		}
	}
	return docs, nil
}

// group is $group with an _id expression and $sum accumulators.
func group(docs []bson.D, spec bson.D) ([]bson.D, error) {
	idExpr, ok := specOf(spec, "_id")
	if !ok {
		return nil, unsupported("$group without _id")
	}
	type acc struct {
		id   any
		sums []float64
		ints bool
	}
	var order []string
	groups := map[string]*acc{}
	fields := spec[:0:0]
	for _, e := range spec {
		if e.Key == "_id" {
			continue
		}
		op, ok := e.Value.(bson.D)
		if !ok || len(op) != 1 || op[0].Key != "$sum" {
			return nil, unsupported("$group accumulator of %s (only $sum)", e.Key)
		}
		fields = append(fields, e)
	}
	for _, d := range docs {
		id, err := eval(d, idExpr)
		if err != nil {
			return nil, err
		}
		if _, miss := id.(missing); miss {
			id = nil
		}
		kb, _ := bson.Marshal(bson.D{{Key: "k", Value: id}})
		k := string(kb)
		g, seen := groups[k]
		if !seen {
			g = &acc{id: id, sums: make([]float64, len(fields)), ints: true}
			groups[k] = g
			order = append(order, k)
		}
		for i, f := range fields {
			v, err := eval(d, f.Value.(bson.D)[0].Value)
			if err != nil {
				return nil, err
			}
			switch n := v.(type) {
			case int32, int64:
				g.sums[i] += number(n)
			case float64:
				g.sums[i] += n
				g.ints = false
			}
		}
	}
	out := make([]bson.D, 0, len(order))
	for _, k := range order {
		g := groups[k]
		d := bson.D{{Key: "_id", Value: g.id}}
		for i, f := range fields {
			var v any = g.sums[i]
			if g.ints {
				// $sum of int32 values stays int32 while it fits
				// (manual, $sum: "result type").
				if s := int64(g.sums[i]); s == int64(int32(s)) {
					v = int32(s)
				} else {
					v = s
				}
			}
			d = append(d, bson.E{Key: f.Key, Value: v})
		}
		out = append(out, d)
	}
	return out, nil
}
