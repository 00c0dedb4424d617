package mongodb

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

func init() {
	register("server-status", Mode{Run: modeServerStatus, Metric: true, Validate: func(o *Options) error {
		if o.Field == "" {
			return fmt.Errorf("--mode server-status needs --field PATH, the serverStatus field to judge (for example metrics.cursor.timedOut)")
		}
		return nil
	}, Doc: "any numeric serverStatus field (--field PATH): its value, or with --rate its increase per second since the last run"})
}

// modeServerStatus judges one numeric serverStatus field: its value, or
// with --rate its increase per second since the previous run.
func modeServerStatus(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	keys := o.Field.Keys()
	ss, err := s.statusWith(ctx)
	if err != nil {
		return nil, err
	}
	if !ss.Has(keys[0]) {
		// Some sections are left out unless asked for by name
		// (manual, serverStatus: "include or exclude specific sections").
		if ss, err = s.statusWith(ctx, bson.E{Key: keys[0], Value: 1}); err != nil {
			return nil, err
		}
	}
	v, err := fieldValue(ss, keys)
	if err != nil {
		return nil, err
	}
	if !o.Rate {
		return fieldResult(string(o.Field), v, nil, s.Target, o), nil
	}
	rates := sampleCounters(ctx, o, ss, map[string]float64{"value": v}, "server-status", string(o.Field), s.Target, o.User)
	return fieldResult(string(o.Field), v, &rates, s.Target, o), nil
}

// statusWith runs serverStatus with the given section switches.
func (s *Session) statusWith(ctx context.Context, sections ...bson.E) (Doc, error) {
	var raw bson.Raw
	cmd := append(bson.D{{Key: "serverStatus", Value: 1}}, sections...)
	if err := s.RunAdmin(ctx, cmd, &raw); err != nil {
		return Doc{}, fmt.Errorf("serverStatus: %w", err)
	}
	return Doc{Name: "serverStatus", Raw: raw}, nil
}

// fieldValue finds the field named by keys. A key of the document may
// itself hold dots (transportSecurity's "1.3"), so at each level the
// longest run of keys that names a field is taken. Booleans, strings and
// documents are not numbers: a MissingError says what the field is.
func fieldValue(d Doc, keys []string) (float64, error) {
	cur := d.Raw
	var path []string
	for len(keys) > 0 {
		var v bson.RawValue
		n := len(keys)
		for ; n > 0; n-- {
			if e, err := cur.LookupErr(strings.Join(keys[:n], ".")); err == nil {
				v = e
				break
			}
		}
		if n == 0 {
			return 0, &MissingError{Field: d.Name + "." + strings.Join(append(path, keys...), ".")}
		}
		path = append(path, strings.Join(keys[:n], "."))
		keys = keys[n:]
		if len(keys) == 0 {
			if f, ok := numeric(v); ok {
				return f, nil
			}
			return 0, &MissingError{Field: d.Name + "." + strings.Join(path, ".") + " as a number", Note: "it is " + typeName(v.Type)}
		}
		sub, ok := v.DocumentOK()
		if !ok {
			return 0, &MissingError{Field: d.Name + "." + strings.Join(append(path, keys...), "."), Note: strings.Join(path, ".") + " is " + typeName(v.Type)}
		}
		cur = sub
	}
	return 0, &MissingError{Field: d.Name}
}

func typeName(t bsontype.Type) string {
	switch t {
	case bson.TypeBoolean:
		return "a boolean"
	case bson.TypeString:
		return "a string"
	case bson.TypeEmbeddedDocument:
		return "a document"
	case bson.TypeArray:
		return "an array"
	case bson.TypeDateTime:
		return "a date"
	case bson.TypeTimestamp:
		return "a timestamp"
	case bson.TypeNull:
		return "null"
	}
	return "of BSON type " + t.String()
}

// fieldLabel is the perfdata label of a serverStatus field: its path, the
// dots as '_' (metrics_cursor_timedOut).
func fieldLabel(field string) string { return plugin.Name(plugin.Split(field, ".")...) }

// fieldResult judges the field's value (rates nil) or its rate by -w/-c.
// Without a previous sample the rate is pending: OK "collecting baseline"
// with the rate not measured (left out of the perfdata), or UNKNOWN when
// the state file cannot be used.
func fieldResult(field string, v float64, rates *state.Rates, target string, o *Options) *plugin.Result {
	var r plugin.Result
	pair := o.pair("", "")
	if rates == nil {
		r.Judge(fmt.Sprintf("%s: serverStatus %s = %s", target, field, strconv.FormatFloat(v, 'f', -1, 64)),
			plugin.Perf{Label: fieldLabel(field), Value: v, Thresholds: pair})
		return &r
	}
	label := plugin.Label(fieldLabel(field), "rate")
	if st, why, ready := rates.Pending(); !ready {
		r.Add(st, fmt.Sprintf("%s: serverStatus %s = %s: %s", target, field, strconv.FormatFloat(v, 'f', -1, 64), why),
			plugin.Perf{Label: label, Value: math.NaN(), Thresholds: pair})
		return &r
	}
	rate := rates.PerSecond["value"]
	r.Judge(fmt.Sprintf("%s: serverStatus %s rises by %s (now %s)", target, field, fmtRate(rate), strconv.FormatFloat(v, 'f', -1, 64)),
		plugin.Perf{Label: label, Value: round(rate, 3), Thresholds: pair})
	return &r
}
