package main

import (
	"fmt"
	"strings"
	"time"
)

// Verdict is one target judged at one N.
type Verdict struct {
	T      *target
	R      rule
	N      int
	Status string // PASS, MISS, INVALID
	Detail string
	Ratio  float64 // wall time over the peer's, when the rule has a peer
	RSSKB  int64
}

func (r *Report) maxLevel() int {
	n := 0
	for _, l := range r.Levels {
		n = max(n, l.N)
	}
	return n
}

// Verdicts judges every rule of every measured target at each N it
// applies to.
func (r *Report) Verdicts() []Verdict {
	var out []Verdict
	top := r.maxLevel()
	for _, t := range r.Targets {
		for _, ru := range t.Rules {
			for _, l := range r.Levels {
				if ru.AtMaxOnly && l.N != top {
					continue
				}
				m := r.get(t.Key, l.N)
				if m == nil {
					continue
				}
				out = append(out, r.judge(t, ru, m))
			}
		}
	}
	return out
}

func (r *Report) judge(t *target, ru rule, m *meas) Verdict {
	v := Verdict{T: t, R: ru, N: m.N}
	if !m.Valid() {
		v.Status = "INVALID"
		v.Detail = invalidWhy(m)
		return v
	}
	var why []string
	var got []string
	if ru.Peer != "" {
		p := r.get(ru.Peer, m.N)
		if p == nil || !p.Valid() {
			v.Status = "INVALID"
			v.Detail = "peer `" + ru.Peer + "` not measured"
			return v
		}
		ratio := float64(m.Median()) / float64(p.Median())
		v.Ratio = ratio
		got = append(got, fmt.Sprintf("%.2fx `%s` (%s vs %s)", ratio, ru.Peer, ms(m.Median()), ms(p.Median())))
		if ratio > ru.Limit {
			why = append(why, fmt.Sprintf("wall %.2fx > %gx", ratio, ru.Limit))
		}
	}
	if ru.AbsMs > 0 {
		got = append(got, ms(m.Median()))
		if float64(m.Median())/float64(time.Millisecond) >= ru.AbsMs {
			why = append(why, fmt.Sprintf("wall %s >= %g ms", ms(m.Median()), ru.AbsMs))
		}
	}
	if ru.RSSMiB > 0 {
		got = append(got, mib(m.RSSKB))
		if float64(m.RSSKB)/1024 >= ru.RSSMiB {
			why = append(why, fmt.Sprintf("RSS %s >= %g MiB", mib(m.RSSKB), ru.RSSMiB))
		}
	}
	v.RSSKB = m.RSSKB
	v.Detail = strings.Join(got, ", ")
	v.Status = "PASS"
	if len(why) > 0 {
		v.Status = "MISS"
		v.Detail += " — " + strings.Join(why, "; ")
	}
	return v
}

func invalidWhy(m *meas) string {
	switch {
	case m.Err != "":
		return "not measured: " + m.Err
	case len(m.Runs) == 0:
		return "no runs"
	case m.T.Check:
		return fmt.Sprintf("exit %d (UNKNOWN or worse: the harness called it wrongly or it failed before doing the work): %s", m.Code, m.First)
	default:
		return fmt.Sprintf("exit %d: %s", m.Code, m.First)
	}
}

// growth is a target's cost at the largest N over its cost at the
// smallest, and whether it counts as flat (at most 1.5x: more than run
// to run noise at a few ms, far less than a walk of the socket table).
func (r *Report) growth(t *target) (float64, bool, bool) {
	if len(r.Levels) < 2 {
		return 0, false, false
	}
	lo, hi := r.get(t.Key, r.Levels[0].N), r.get(t.Key, r.maxLevel())
	if lo == nil || hi == nil || lo == hi || !lo.Valid() || !hi.Valid() {
		return 0, false, false
	}
	g := float64(hi.Median()) / float64(lo.Median())
	return g, g <= flatLimit, true
}

const flatLimit = 1.5
