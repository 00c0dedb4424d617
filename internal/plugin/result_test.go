package plugin

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	nagios "github.com/atc0005/go-nagios"

	"github.com/opschecks/opschecks/thresholds"
)

func TestRenderGolden(t *testing.T) {
	w, c := thresholds.MustParse("50"), thresholds.MustParse("90")
	var r Result
	r.Judge("listener 127.0.0.1:80 queue 0/511", Perf{Label: "queue", Value: 0, Thresholds: thresholds.NewPair(&w, &c), Min: F(0), Max: F(511)})
	r.Add(Critical, "listener 127.0.0.1:8080 queue 9/8 (112%)", Perf{Label: "fill_8080", Value: 112.5, UOM: "%"}).
		Detailf("raise the backlog: listen 8080 backlog=4096;")
	r.Add(OK, "quiet one", Perf{Label: "u", Value: math.NaN()}).Quiet = true
	r.Detailf("somaxconn 4096")
	out, st := Render("NGINX_QUEUE", &r)
	if st != Critical {
		t.Fatalf("state %v", st)
	}
	// Labels unquoted; the unmeasured 'u' left out of the perfdata and
	// named in the long output.
	want := "NGINX_QUEUE CRITICAL - listener 127.0.0.1:8080 queue 9/8 (112%) - listener 127.0.0.1:80 queue 0/511 | queue=0;50;90;0;511 fill_8080=112.5%\n" +
		"\n" +
		"[CRITICAL] listener 127.0.0.1:8080 queue 9/8 (112%)\n" +
		"  raise the backlog: listen 8080 backlog=4096;\n" +
		"[OK] listener 127.0.0.1:80 queue 0/511\n" +
		"[OK] quiet one\n" +
		"  not measured in this run, so left out of the perfdata: u\n" +
		"somaxconn 4096\n"
	if out != want {
		t.Errorf("got:\n%q\nwant:\n%q", out, want)
	}
	// go-nagios parses what we emit.
	first, _, _ := strings.Cut(out, "\n")
	_, perf, _ := strings.Cut(first, " | ")
	if _, err := nagios.ParsePerfData(perf); err != nil {
		t.Errorf("go-nagios cannot parse our perfdata %q: %v", perf, err)
	}
}

// TestJudge: a finding made by Judge has the state of its metric against
// the thresholds the metric carries, and the perfdata shows that pair.
func TestJudge(t *testing.T) {
	w, c := thresholds.MustParse("50"), thresholds.MustParse("90")
	for _, tc := range []struct {
		v    float64
		want State
		perf string
	}{
		{10, OK, "| fill=10%;50;90 other=1"},
		{60, Warning, "| fill=60%;50;90 other=1"},
		{95, Critical, "| fill=95%;50;90 other=1"},
		// Not measured: left out of the perfdata, named in the long output.
		{math.NaN(), Unknown, "| other=1\n"},
	} {
		var r Result
		f := r.Judge("fill", Perf{Label: "fill", Value: tc.v, UOM: "%", Thresholds: thresholds.NewPair(&w, &c)}, Perf{Label: "other", Value: 1})
		out, st := Render("T", &r)
		if f.State != tc.want || st != tc.want || !strings.Contains(out, tc.perf) {
			t.Errorf("%v: finding %v, result %v, want %v and %q:\n%s", tc.v, f.State, st, tc.want, tc.perf, out)
		}
	}
}

func TestRenderRejectsBadPerfdata(t *testing.T) {
	for _, p := range []Perf{
		{Label: "x", Value: 1, UOM: "kB"},
		{Label: "a=b", Value: 1},
		{Label: "", Value: 1},
		{Label: "inf", Value: math.Inf(1)},
		// Outside the label scheme: what the checks used to write, and
		// what corrupts Icinga 2's and Graphite's view.
		{Label: "[::1]:8080_queue", Value: 1},
		{Label: "127.0.0.1:8080_queue", Value: 1},
		{Label: "db1.example.com:27017", Value: 1},
		{Label: "a b", Value: 1},
		{Label: "'quoted'", Value: 1},
		{Label: "8080_queue", Value: 1},
		{Label: "_x", Value: 1},
		{Label: "lag_\xff", Value: 1},
		{Label: "lag_é", Value: 1},
	} {
		var r Result
		r.Add(OK, "x", p)
		out, st := Render("X", &r)
		if st != Unknown || !strings.HasPrefix(out, "X UNKNOWN - internal error") {
			t.Errorf("%+v: %v %q", p, st, out)
		}
	}
}

// TestNoSemicolonOnTheFirstLine: Nagios 4 rewrites every ';' of the
// first line's text to ':' (Separator), so the runtime writes none there:
// the findings are joined with Separator, and a ';' a text takes from
// input is written as ',', on the first line and on the finding's own
// line of the long output alike. Details keep theirs (Nagios leaves the
// long output alone, and a configuration line needs it).
func TestNoSemicolonOnTheFirstLine(t *testing.T) {
	var r Result
	r.Add(Critical, "authentication failed: bad auth; try again").Detailf("add backlog=4096; to the listen directive")
	r.Add(OK, "second")
	out, _ := Render("X", &r)
	want := "X CRITICAL - authentication failed: bad auth, try again - second\n" +
		"\n" +
		"[CRITICAL] authentication failed: bad auth, try again\n" +
		"  add backlog=4096; to the listen directive\n" +
		"[OK] second\n"
	if out != want {
		t.Errorf("got:\n%q\nwant:\n%q", out, want)
	}
}

func TestOneLineAndEmpty(t *testing.T) {
	var r Result
	r.Add(Warning, "a\nb|c\x00d")
	out, _ := Render("X", &r)
	if out != "X WARNING - a b/c d\n" {
		t.Errorf("%q", out)
	}
	out, st := Render("X", &Result{})
	if st != Unknown || !strings.HasPrefix(out, "X UNKNOWN") {
		t.Errorf("empty result: %v %q", st, out)
	}
}

func TestWorstAndDurations(t *testing.T) {
	if Worst(Unknown, Warning) != Warning || Worst(Critical, Unknown) != Critical || Worst(OK, Unknown) != Unknown {
		t.Error("severity order must be CRITICAL > WARNING > UNKNOWN > OK")
	}
	for in, ok := range map[string]bool{"10": true, "10s": true, "1.5s": true, "1.5": true, "2m": true, "0": false, "-3": false, "abc": false, "inf": false, "NaN": false, "": false} {
		_, err := ParseDuration(in)
		if (err == nil) != ok {
			t.Errorf("ParseDuration(%q) err=%v, want ok=%v", in, err, ok)
		}
	}
	if d, err := ParseDuration("1.57"); err != nil || d != 1570e6 {
		t.Errorf("ParseDuration(1.57) = %v, %v; want 1.57s", d, err)
	}
	w, c := deadlines(10e9, 0)
	if w != 9.5e9 || c != 8.5e9 {
		t.Errorf("deadlines(10s, 0) = %v, %v", w, c)
	}
	// A process started 200 ms ago has that much less; a short -t keeps
	// 300 ms for answering after the watchdog.
	if w, c := deadlines(1.5e9, 200e6); w != 1e9 || c != 0.85e9 {
		t.Errorf("deadlines(1.5s, 200ms) = %v, %v", w, c)
	}
	// ... but never more than a quarter of -t.
	if w, c := deadlines(1e9, 0); w != 0.75e9 || c != 0.65e9 {
		t.Errorf("deadlines(1s, 0) = %v, %v", w, c)
	}
}

// Thresholds in perfdata: the plain upper bound where it means the same on
// the metric's domain (Min >= 0; whole numbers or not), the range
// otherwise; a range that cannot alert on the domain is left out.
func TestPerfRange(t *testing.T) {
	for _, tc := range []struct {
		rng   string
		min   *float64
		want  string
		whole bool
	}{
		{"10", F(0), "10", false},
		{"0:10", F(0), "10", false},
		{"~:10", F(0), "10", false},
		{"~:10", nil, "~:10", false},
		{"~:10", F(-5), "~:10", false},
		{"~:0.5", F(0), "0.5", false},
		{"~:", F(0), "", false},
		{"0:", F(0), "", false},
		{"~:", nil, "~:", false},
		{"10:", F(0), "10:", false},
		{"10:20", F(0), "10:20", false},
		{"@10:20", F(0), "@10:20", false},
		{"@~:5", F(0), "@~:5", false},
		{"-5:-1", F(0), "-5:-1", false},
		{"1:10", F(1), "10", false},
		{"1:10", F(0), "1:10", false},
		// '@S:' (alert at S or above): plain only on whole numbers.
		{"@90:", F(0), "@90:", false},
		{"@90:", F(0), "89", true},
		{"@90.5:", F(0), "90", true},
		{"@1:", F(0), "0", true},
		{"@0:", F(0), "@0:", true}, // alerts always
		{"@~:", F(0), "@~:", true},
		{"@90:", nil, "@90:", true},
		{"@90:", F(-1), "@90:", true},
		{"@90:", F(95), "@90:", true}, // alerts always on that domain
		{"@90:100", F(0), "@90:100", true},
		{"@~:5", F(0), "@~:5", true},
		{"10:", F(0), "10:", true},
		{"~:10", F(0), "10", true},
	} {
		r := thresholds.MustParse(tc.rng)
		if got := perfRange(&r, tc.min, tc.whole); got != tc.want {
			t.Errorf("perfRange(%q, min %v, whole %v) = %q, want %q", tc.rng, tc.min, tc.whole, got, tc.want)
		}
		// Equivalence on the domain: the plain form alerts exactly where
		// the range does for every value the metric can take.
		step := 0.25
		if tc.whole {
			step = 1
		}
		if tc.min != nil && tc.want != tc.rng {
			for v := *tc.min; v < *tc.min+200; v += step {
				plain := thresholds.MustParse("~:")
				if tc.want != "" {
					plain = thresholds.MustParse(tc.want)
				}
				if r.Alert(v) != plain.Alert(v) {
					t.Errorf("%q and %q differ at %v", tc.rng, tc.want, v)
				}
			}
		}
	}
	if perfRange(nil, F(0), true) != "" {
		t.Error("no range must print nothing")
	}
}

func TestPerfString(t *testing.T) {
	w, c := thresholds.MustParse("~:80"), thresholds.MustParse("90")
	for _, tc := range []struct {
		p    Perf
		want string
	}{
		{Perf{Label: "a", Value: 1}, "a=1"},
		{Perf{Label: "a", Value: 1, UOM: "c"}, "a=1c"},
		{Perf{Label: "fill_80", Value: 12.5, UOM: "%", Thresholds: thresholds.NewPair(&w, &c), Min: F(0), Max: F(100)}, "fill_80=12.5%;80;90;0;100"},
		{Perf{Label: "a", Value: 1, Min: F(0)}, "a=1;;;0"},
		{Perf{Label: "a", Value: 1, Max: F(10)}, "a=1;;;;10"},
		{Perf{Label: "a", Value: 1e21, Max: F(math.NaN())}, "a=1000000000000000000000"},
		{Perf{Label: "a", Value: 0.000001}, "a=0.000001"},
	} {
		got, err := perfString(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("perfString(%+v) = %q, %v; want %q", tc.p, got, err, tc.want)
		}
	}
}

// Cuts fall on character boundaries and the output is valid UTF-8 whatever
// the text a check quotes.
func TestUTF8(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2000 bytes
	for max := 1020; max <= 1024; max++ {
		if c := Clip(long, max); !utf8.ValidString(c) || len(c) > max+3 {
			t.Errorf("Clip(%d) = %d bytes, valid %v", max, len(c), utf8.ValidString(c))
		}
	}
	if c := Clip(strings.Repeat("€", 400), 1024); c != strings.Repeat("€", 341)+"..." {
		t.Errorf("Clip of 3-byte characters: %q", c)
	}
	if got := OneLine("a\xffb\x1b[31mc\u2028d\te"); got != "a\uFFFDb [31mc d e" {
		t.Errorf("OneLine = %q", got)
	}
	var r Result
	r.Add(Critical, "member db1:27017 says \xc3(\xff "+long).Detailf("server answered %s", "\xe2\x82")
	r.Detailf("%s", long+long)
	out, _ := Render("X", &r)
	if !utf8.ValidString(out) {
		t.Errorf("Render gave invalid UTF-8: %q", out)
	}
}

// A metric without a value still needs a label of the scheme: it is named
// in the long output.
func TestUnmeasuredLabelChecked(t *testing.T) {
	var r Result
	r.Add(OK, "x", Perf{Label: "db1.example.com:27017", Value: math.NaN()})
	if out, st := Render("X", &r); st != Unknown || !strings.Contains(out, "internal error") {
		t.Errorf("%v %q", st, out)
	}
}

// TestWholePerf: a metric declared Whole carries '@S:' as the plain
// ceil(S)-1 that Icinga 2 reads, and a fractional value on it is a bug
// the runtime refuses.
func TestWholePerf(t *testing.T) {
	c := thresholds.MustParse("@90:")
	var r Result
	r.Judge("gap", Perf{Label: "gap", Value: 7200, UOM: "s", Thresholds: thresholds.NewPair(nil, &c), Min: F(0), Whole: true})
	if out, st := Render("X", &r); st != Critical || !strings.Contains(out, "| gap=7200s;;89;0\n") {
		t.Errorf("%v %q", st, out)
	}
	r = Result{}
	r.Add(OK, "x", Perf{Label: "gap", Value: 1.5, Min: F(0), Whole: true})
	if out, st := Render("X", &r); st != Unknown || !strings.HasPrefix(out, "X UNKNOWN - internal error") {
		t.Errorf("%v %q", st, out)
	}
}

func TestBytes(t *testing.T) {
	for b, want := range map[float64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3960110: "3.8 MiB",
		1000 << 20: "1000.0 MiB", 4294967296: "4.0 GiB", 1 << 50: "1.0 PiB", 1 << 60: "1024.0 PiB"} {
		if got := Bytes(b); got != want {
			t.Errorf("Bytes(%v) = %q, want %q", b, got, want)
		}
	}
}

// TestRenderBoundsSummary: findings' texts of any length give a first
// line whose summary is cut at maxLine on a character boundary, with the
// perfdata whole after it.
func TestRenderBoundsSummary(t *testing.T) {
	var r Result
	r.Add(Warning, strings.Repeat("é", 700), Perf{Label: "a", Value: 1})
	r.Add(Warning, strings.Repeat("€", 700), Perf{Label: "b", Value: 2})
	out, st := Render("X", &r)
	first, _, _ := strings.Cut(out, "\n")
	summary, perf, ok := strings.Cut(first, " | ")
	if st != Warning || !ok || perf != "a=1 b=2" {
		t.Fatalf("state %s, perfdata %q: %q", st, perf, first)
	}
	if n := len(summary) - len("X WARNING - "); n > maxLine+len("...") || !strings.HasSuffix(summary, "...") || !utf8.ValidString(first) {
		t.Errorf("summary of %d bytes (valid UTF-8 %v): %q", n, utf8.ValidString(first), summary)
	}
	if !strings.Contains(out, "\n[WARNING] "+strings.Repeat("€", 700)+"\n") {
		t.Errorf("the long output lost a finding's whole text:\n%s", out)
	}
}
