package state

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

var codecSamples = []Counters{
	{Time: time.Date(2026, 12, 6, 5, 37, 44, 56212557, time.UTC), Of: "net:[4026531833]", Values: map[string]float64{
		"ListenDrops": 0, "ListenOverflows": 12, "softnet_dropped_cpu0": 348286, "dropped": 1.5}},
	{Time: time.Unix(0, 0).UTC(), Values: map[string]float64{}},
	{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), Values: map[string]float64{"big": math.MaxUint64, "tiny": 1e-9, "neg": -3, "e21": 1e21}},
	{Time: time.Unix(5, 0).UTC(), Of: `quote " and \ and é`, Values: map[string]float64{"naïve": 1}},
}

// TestCountersJSON: the hand-written encoding is byte for byte what
// encoding/json writes for the sample with its time in UTC, and reads back
// what it wrote; what it does not cover goes through encoding/json.
func TestCountersJSON(t *testing.T) {
	for _, c := range codecSamples {
		got, err := json.Marshal(c)
		utc := c
		utc.Time = c.Time.UTC()
		want, err2 := json.Marshal(countersJSON(utc))
		if err != nil || err2 != nil || string(got) != string(want) {
			t.Errorf("%+v:\n got  %s (%v)\n want %s (%v)", c, got, err, want, err2)
		}
		var back Counters
		if err := json.Unmarshal(got, &back); err != nil || !back.Time.Equal(c.Time) || back.Of != c.Of || !reflect.DeepEqual(back.Values, c.Values) {
			t.Errorf("%s read back as %+v, %v", got, back, err)
		}
	}
	// Another spelling of the same sample (spaces, keys in another
	// order) is read by encoding/json.
	var c Counters
	if err := json.Unmarshal([]byte(` { "values" : {"a": 1e3}, "time": "2026-12-06T05:00:00Z" } `), &c); err != nil || c.Values["a"] != 1000 || c.Time.Hour() != 5 {
		t.Fatalf("another layout: %+v, %v", c, err)
	}
	if _, err := json.Marshal(Counters{Values: map[string]float64{"nan": math.NaN()}}); err == nil {
		t.Fatal("NaN marshalled")
	}
}

// FuzzCountersJSON: whatever the fast reader accepts, encoding/json
// reads the same way.
func FuzzCountersJSON(f *testing.F) {
	for _, c := range codecSamples {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		fast, err := parseCounters(b)
		if err != nil {
			return
		}
		var slow countersJSON
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("%q: fast read %+v, encoding/json: %v", b, fast, err)
		}
		if !fast.Time.Equal(slow.Time) || fast.Of != slow.Of || !reflect.DeepEqual(fast.Values, slow.Values) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, slow)
		}
	})
}
