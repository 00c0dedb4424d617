package mongodb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// ReadDocument reads one reply document in MongoDB Extended JSON (what
// mongosh's EJSON.stringify or mongoexport write), canonical or relaxed,
// as the driver would hand it over. Fixtures and tests use it.
func ReadDocument(r io.Reader) (bson.Raw, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	var d bson.D
	if err := bson.UnmarshalExtJSON(bytes.TrimSpace(b), false, &d); err != nil {
		return nil, fmt.Errorf("decoding extended JSON: %w", err)
	}
	return bson.Marshal(d)
}

// MissingError says which field a server does not report. It is UNKNOWN:
// the check cannot tell, which is neither a crash nor a silent OK.
type MissingError struct {
	Field string
	Note  string // why, when known ("the storage engine is inMemory")
}

func (e *MissingError) Error() string {
	if e.Note != "" {
		return "server does not report " + e.Field + " (" + e.Note + ")"
	}
	return "server does not report " + e.Field
}

// Doc is a reply document with the name used in messages
// ("serverStatus", "dbStats").
type Doc struct {
	Name string
	Raw  bson.Raw
}

// lookup finds a path of keys (which may contain spaces and dots, as
// WiredTiger's do) and names the first missing one.
func (d Doc) lookup(path ...string) (bson.RawValue, error) {
	cur := d.Raw
	for i, k := range path {
		v, err := cur.LookupErr(k)
		if err != nil {
			return bson.RawValue{}, &MissingError{Field: d.Name + "." + strings.Join(path[:i+1], ".")}
		}
		if i == len(path)-1 {
			return v, nil
		}
		sub, ok := v.DocumentOK()
		if !ok {
			return bson.RawValue{}, &MissingError{Field: d.Name + "." + strings.Join(path[:i+2], ".")}
		}
		cur = sub
	}
	return bson.RawValue{}, errors.New("empty path")
}

// Has reports whether a path exists.
func (d Doc) Has(path ...string) bool {
	_, err := d.lookup(path...)
	return err == nil
}

// Num returns a numeric field (int32, int64, double or decimal) as a
// float64; a missing or non-numeric field is a MissingError.
func (d Doc) Num(path ...string) (float64, error) {
	v, err := d.lookup(path...)
	if err != nil {
		return 0, err
	}
	if f, ok := numeric(v); ok {
		return f, nil
	}
	return 0, &MissingError{Field: d.Name + "." + strings.Join(path, ".") + " as a number"}
}

// Nums returns the numeric fields keys under the path section, in
// order, or the MissingError of the first one that is missing.
func (d Doc) Nums(section []string, keys ...string) ([]float64, error) {
	out := make([]float64, len(keys))
	for i, k := range keys {
		v, err := d.Num(append(section[:len(section):len(section)], k)...)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Str returns a string field, or "" when it is absent.
func (d Doc) Str(path ...string) string {
	v, err := d.lookup(path...)
	if err != nil {
		return ""
	}
	s, _ := v.StringValueOK()
	return s
}

func numeric(v bson.RawValue) (float64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return float64(v.Int32()), true
	case bson.TypeInt64:
		return float64(v.Int64()), true
	case bson.TypeDouble:
		return v.Double(), true
	case bson.TypeDecimal128:
		f, err := decimalFloat(v.Decimal128().String())
		return f, err == nil
	}
	return 0, false
}

func decimalFloat(s string) (float64, error) {
	var f float64
	_, err := fmt.Sscan(s, &f)
	return f, err
}
