package thresholds

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

type probe struct {
	v     float64
	alert bool
}

// The examples of the monitoring-plugins development guidelines and the
// vectors of monitoring-plugins' tests/test_utils.c.
var rangeVectors = []struct {
	in         string
	start, end float64
	inside     bool
	canonical  string
	probes     []probe
}{
	{"10", 0, 10, false, "10", []probe{{-1, true}, {0, false}, {10, false}, {10.1, true}}},
	{"10:", 10, math.Inf(1), false, "10:", []probe{{9.99, true}, {10, false}, {1e12, false}}},
	{"~:10", math.Inf(-1), 10, false, "~:10", []probe{{-1e12, false}, {10, false}, {10.001, true}}},
	{"10:20", 10, 20, false, "10:20", []probe{{9, true}, {10, false}, {15, false}, {20, false}, {21, true}}},
	{"@10:20", 10, 20, true, "@10:20", []probe{{9, false}, {10, true}, {20, true}, {20.5, false}}},
	{"@~:5", math.Inf(-1), 5, true, "@~:5", []probe{{-1e9, true}, {5, true}, {5.01, false}}},
	{"~:", math.Inf(-1), math.Inf(1), false, "~:", []probe{{-1e300, false}, {0, false}, {1e300, false}}},
	// test_utils.c
	{"6", 0, 6, false, "6", []probe{{0, false}, {5, false}, {6, false}, {6.1, true}, {-1, true}}},
	{"-7:23", -7, 23, false, "-7:23", []probe{{-8, true}, {-7, false}, {0, false}, {23, false}, {24, true}}},
	{":5.75", 0, 5.75, false, "5.75", []probe{{0, false}, {5.75, false}, {5.76, true}, {-1, true}}},
	{"~:-95.99", math.Inf(-1), -95.99, false, "~:-95.99", []probe{{-96, false}, {-95.99, false}, {-95.98, true}}},
	{"12345678901234567890:", 12345678901234567890, math.Inf(1), false, "12345678901234567000:", []probe{{12345678901234567000, false}, {1234567890123456789, true}}},
	{"~:0", math.Inf(-1), 0, false, "~:0", []probe{{-1, false}, {0, false}, {1, true}}},
	{"@0:657.8210567", 0, 657.8210567, true, "@657.8210567", []probe{{0, true}, {1, true}, {657.8210567, true}, {657.9, false}, {-1, false}}},
	{"@1:1", 1, 1, true, "@1:1", []probe{{1, true}, {0.5, false}, {1.5, false}}},
	{"0:", 0, math.Inf(1), false, "0:", []probe{{-0.1, true}, {0, false}}},
	{"1e3", 0, 1000, false, "1000", []probe{{1000, false}, {1001, true}}},
	{" 5:6 ", 5, 6, false, "5:6", nil},
	{":", 0, math.Inf(1), false, "0:", []probe{{-1, true}, {0, false}}}, // strtod("") is 0, as in C
}

func TestParseVectors(t *testing.T) {
	for _, tc := range rangeVectors {
		t.Run(tc.in, func(t *testing.T) {
			r, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if r.Start != tc.start || r.End != tc.end || r.Inside != tc.inside {
				t.Fatalf("Parse(%q) = %+v, want start %v end %v inside %v", tc.in, r, tc.start, tc.end, tc.inside)
			}
			if got := r.String(); got != tc.canonical {
				t.Errorf("String() = %q, want %q", got, tc.canonical)
			}
			for _, p := range tc.probes {
				if got := r.Alert(p.v); got != p.alert {
					t.Errorf("%q.Alert(%v) = %v, want %v", tc.in, p.v, got, p.alert)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", " ", "@", "5:1", "2:1", "abc", "1:2:3", "10:abc", "abc:10", "~", "@~", "inf", "nan", "1:nan",
		"0x10", "1_000", "--5", "5::", "~:~", "1e999"} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(in)) {
			t.Errorf("Parse(%q) error %q does not quote the input", in, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	w, c := MustParse("10"), MustParse("20")
	cases := []struct {
		v    float64
		want State
	}{{5, OK}, {10, OK}, {15, Warning}, {20, Warning}, {25, Critical}, {-1, Critical}}
	for _, tc := range cases {
		if got, err := Evaluate(tc.v, &w, &c); got != tc.want || err != nil {
			t.Errorf("Evaluate(%v) = %v, %v; want %v", tc.v, got, err, tc.want)
		}
	}
	// Critical first, even when the warning range would also alert.
	lowW, lowC := MustParse("5:"), MustParse("2:")
	if got, _ := Evaluate(1, &lowW, &lowC); got != Critical {
		t.Errorf("Evaluate(1, 5:, 2:) = %v, want CRITICAL", got)
	}
	if got, _ := Evaluate(1, nil, nil); got != OK {
		t.Errorf("no thresholds: %v, want OK", got)
	}
	if got, err := Evaluate(math.NaN(), nil, nil); got != Unknown || err != ErrNotANumber {
		t.Errorf("NaN: %v, %v; want UNKNOWN, ErrNotANumber", got, err)
	}
	if !w.Alert(math.NaN()) {
		t.Error("NaN must alert, never pass as 0")
	}
}

// TestPair: a pair judges like Evaluate on its two ranges, nil ranges
// are no threshold, and NaN is UNKNOWN.
func TestPair(t *testing.T) {
	w, c := MustParse("10"), MustParse("20")
	for _, tc := range []struct {
		p    Pair
		v    float64
		want State
	}{
		{NewPair(&w, &c), 5, OK},
		{NewPair(&w, &c), 15, Warning},
		{NewPair(&w, &c), 25, Critical},
		{NewPair(nil, &c), 15, OK},
		{NewPair(&w, nil), 25, Warning},
		{Pair{}, 1e9, OK},
		{Pair{}, math.NaN(), Unknown},
	} {
		if got := tc.p.State(tc.v); got != tc.want {
			t.Errorf("%+v.State(%v) = %v, want %v", tc.p, tc.v, got, tc.want)
		}
		if got, _ := Evaluate(tc.v, tc.p.Warn, tc.p.Crit); got != tc.want {
			t.Errorf("Evaluate disagrees with the pair for %v", tc.v)
		}
	}
}

func TestFlagInterfaces(t *testing.T) {
	var r Range
	if err := r.UnmarshalFlag("@1:2"); err != nil || !r.Inside {
		t.Fatalf("UnmarshalFlag: %v %+v", err, r)
	}
	if s, _ := r.MarshalFlag(); s != "@1:2" {
		t.Errorf("MarshalFlag = %q", s)
	}
	if err := r.UnmarshalText([]byte("5:1")); err == nil {
		t.Error("UnmarshalText(5:1) succeeded")
	}
	if err := r.IsValidValue("-5:5"); err != nil {
		t.Errorf("a negative range must be accepted as an argument: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range rangeVectors {
		f.Add(tc.in)
	}
	for _, s := range []string{"@", "5:1", "1:2:3", "~", "-0", "@-0:-0", ".5", "5.", "1e-300:1e300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Start > r.End || math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("Parse(%q) gave an invalid range %+v", s, r)
		}
		back, err := Parse(r.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, r.String(), err)
		}
		if back != r {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v", s, r, r.String(), back)
		}
	})
}

// A range in another unit alerts for the same values, scaled.
func TestScale(t *testing.T) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:5", "~:"} {
		r := MustParse(s)
		k := float64(1 << 20)
		sr := r.Scale(k)
		for v := -30.0; v <= 30; v += 0.5 {
			if r.Alert(v) != sr.Alert(v*k) {
				t.Errorf("%q scaled by %v: %v alerts %v, %v alerts %v", s, k, v, r.Alert(v), v*k, sr.Alert(v*k))
			}
		}
	}
	w := MustParse("8192")
	if p := NewPair(&w, nil).Scale(2); p.Crit != nil || p.Warn.End != 16384 || w.End != 8192 {
		t.Errorf("Pair.Scale: %+v, original %v", p, w)
	}
}
