package testenv

import (
	"strings"
	"testing"
)

// The consumer harness can fail: outputs as the checks printed them
// before the label scheme (a label with "::", labels with dots, quotes,
// 'U') and findings joined by "; " (Nagios 4 shows ': ') are caught by
// each of its judges, while outputs of the scheme in every unit, with
// plain and range thresholds, and a ';' in the long output (Nagios keeps
// it there) pass.
func TestConsumersJudge(t *testing.T) {
	good := Sample{Name: "good", Run: Run{Code: 1, Stdout: "X WARNING - fill 85% | fill_8080=85%;80;90;0;100 queue_ip6--1_8080=3;;;0;9 " +
		"rtt=12.5ms;100;200;0 wait=0.000123s;;;0 size=1536MB;;;0 total=351c;;;0 window=48;24:;4:;0 imbalance=0.001%;@1;50 bytes=8589934592B;;;0;17179869184\n" +
		"\n[WARNING] fill 85%\n  raise backlog: listen 8080 backlog=4096; and C:\\dir\n"}}
	unknown := Sample{Name: "unknown", Run: Run{Code: 3, Stdout: "X UNKNOWN - invalid range \"abc\"\n"}}
	old := Sample{Name: "old", Run: Run{Code: 2, Stdout: "X CRITICAL - queue full; drops 5/s | '[::1]:8080_queue'=9;;;0;9 'somaxconn'=4096;;;0 " +
		"'127.0.0.1:8080_fill'=112%;50;90;0 'listen_drops_rate'=U;0;10;0\n"}}
	c := consume(t, []Sample{good, unknown, old})

	for _, s := range []Sample{good, unknown} {
		if p := c.problems(s); len(p) > 0 {
			t.Errorf("%s: the consumers read it otherwise than printed:\n%s", s.Name, strings.Join(p, "\n"))
		}
	}
	got := strings.Join(c.problems(old), "\n")
	for _, want := range []string{
		"icinga2 stored other metrics than printed (labels renamed or split)", // "::" renames the labels after it
		`icinga2 read "'somaxconn'=4096;;;0" as label "[::somaxconn"`,
		"icinga2 cannot parse", // 'U'
		"the label is not exactly one node",
		`nagios4 recorded another first line:
 got "X CRITICAL - queue full: drops 5/s"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the judges missed %q in the old output; they said:\n%s", want, got)
		}
	}
	if lp := strings.Join(c.logProblems(), "\n"); !strings.Contains(lp, "Ignoring invalid perfdata") {
		t.Errorf("icinga2's warning about 'U' not found in its log: %q", lp)
	}
	t.Logf("what the consumers made of the old output:\n%s\n%s", got, strings.Join(c.logProblems(), "\n"))
}
