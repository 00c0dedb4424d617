package plugin

import (
	"math"
	"strings"
	"testing"

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
	want := "NGINX_QUEUE CRITICAL - listener 127.0.0.1:8080 queue 9/8 (112%); listener 127.0.0.1:80 queue 0/511 | 'queue'=0;50;90;0;511 'fill_8080'=112.5% 'u'=U\n" +
		"\n" +
		"[CRITICAL] listener 127.0.0.1:8080 queue 9/8 (112%)\n" +
		"  raise the backlog: listen 8080 backlog=4096;\n" +
		"[OK] listener 127.0.0.1:80 queue 0/511\n" +
		"[OK] quiet one\n" +
		"somaxconn 4096\n"
	if out != want {
		t.Errorf("got:\n%q\nwant:\n%q", out, want)
	}
	// go-nagios parses what we emit.
	first, _, _ := strings.Cut(out, "\n")
	_, perf, _ := strings.Cut(first, " | ")
	if _, err := nagios.ParsePerfData(strings.ReplaceAll(perf, "=U", "=0")); err != nil {
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
		{10, OK, "'fill'=10%;50;90"},
		{60, Warning, "'fill'=60%;50;90"},
		{95, Critical, "'fill'=95%;50;90"},
		{math.NaN(), Unknown, "'fill'=U%;50;90"},
	} {
		var r Result
		f := r.Judge("fill", Perf{Label: "fill", Value: tc.v, UOM: "%", Thresholds: thresholds.NewPair(&w, &c)}, Perf{Label: "other", Value: 1})
		out, st := Render("T", &r)
		if f.State != tc.want || st != tc.want || !strings.Contains(out, tc.perf+" 'other'=1") {
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
	} {
		var r Result
		r.Add(OK, "x", p)
		out, st := Render("X", &r)
		if st != Unknown || !strings.HasPrefix(out, "X UNKNOWN - internal error") {
			t.Errorf("%+v: %v %q", p, st, out)
		}
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
	w, c := deadlines(10e9)
	if w != 9.5e9 || c != 8.5e9 {
		t.Errorf("deadlines(10s) = %v, %v", w, c)
	}
}
