package mongosim

import (
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// Aggregation expressions, $project and the pipeline stages of the config
// queries (shard_query.go), as the manual's aggregation pages define
// them.

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
