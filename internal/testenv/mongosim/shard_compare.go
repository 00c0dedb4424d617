package mongosim

import (
	"bytes"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// BSON comparison order and the query filter operators of the config
// queries (shard_query.go): the manual's "Comparison/Sort Order" and
// query operator pages.

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
