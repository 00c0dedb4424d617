package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Markdown renders RESULTS.md; prev is the previous file, whose numbers
// are shown beside the new ones.
func (r *Report) Markdown(prevFile []byte) string {
	prev, perr := parsePrev(prevFile)
	prevBy := map[string]prevRow{}
	if prev != nil {
		for _, p := range prev.Rows {
			prevBy[fmt.Sprintf("%s@%d", p.Key, p.N)] = p
		}
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmark results\n\n")
	mode := "`make bench` (`go run ./bench`)"
	if r.Cfg.Smoke {
		mode = "`go run ./bench -smoke` (smoke run: few repetitions, not for comparison)"
	}
	w("Written by %s on %s, in %s.\n\n", mode, r.Started.Format("2006-01-02 15:04 UTC"), round(r.Took))
	w("**Machine:** %s.\n\n", r.Machine)
	w("**Method.** Every command is a whole process (fork+exec from the harness, as Nagios/NRPE run a plugin), "+
		"run %d time(s) as warm-up, then timed %d–%d times per N, interleaved round-robin with its peers so that noise "+
		"from other work on the machine hits both sides alike. Wall time: median (min–max); CPU: median user+sys of the "+
		"child (wait4 rusage); peak RSS: the child's own VmHWM read at exit under ptrace (largest of %d separate runs; "+
		"ru_maxrss is not used because a child forked by a Go parent inherits the parent's high-water mark until exec). "+
		"Load: N established TCP connections on loopback to one listener in the harness that accepts them all, "+
		"from %d source addresses 127.0.0.2–127.0.0.%d, inside a network namespace of its own "+
		"(the descriptors are held by %d worker process(es), the harness re-executed, because one process may hold "+
		"only %d here: the harness hands each accepted socket to a worker over SCM_RIGHTS) "+
		"(so **N connections = 2N ESTABLISHED sockets** in the table the checks query), plus one listener "+
		"(backlog %d) whose accept queue is full with two more connections refused, and a probe server on loopback "+
		"answering with a banner. Checks and peers run inside that namespace; measuring starts %s after the load of "+
		"each N is in place (the steady state, not the moments after 20,000 sockets were opened and handed over). "+
		"Peers: monitoring-plugins' C check_dummy and check_tcp, iproute2's ss.\n\n",
		r.Cfg.WarmUp, r.Cfg.MinRuns, r.Cfg.MaxRuns, r.Cfg.RSSRuns, loadSources, 1+loadSources, r.Workers, r.FDLimit, queueBacklog, r.Cfg.Settle)

	w("**Load as the kernel reported it** (sock_diag census):")
	for _, l := range r.Levels {
		if l.CensusEr != "" {
			w(" N=%s: census failed (%s);", kN(l.N), l.CensusEr)
			continue
		}
		w(" N=%s: %d ESTABLISHED, full queue %d/%d, opened in %s;", kN(l.N), l.Census.Established, l.Census.QueueLen, l.Census.QueueMax, round(l.Setup))
	}
	w(" teardown: %s.\n\n", r.Teardown)

	// Targets.
	w("## Targets\n\n")
	vs := r.Verdicts()
	type agg struct {
		t      *target
		ru     rule
		status string
		vs     []Verdict
	}
	var aggs []*agg
	idx := map[string]*agg{}
	for _, v := range vs {
		k := v.T.Key + "|" + v.R.Source
		a := idx[k]
		if a == nil {
			a = &agg{t: v.T, ru: v.R, status: "PASS"}
			idx[k] = a
			aggs = append(aggs, a)
		}
		a.vs = append(a.vs, v)
		switch {
		case v.Status == "INVALID":
			a.status = "NOT MEASURED"
		case v.Status == "MISS" && a.status == "PASS":
			a.status = "MISS"
		}
	}
	count := map[string]int{}
	for _, a := range aggs {
		count[a.status]++
	}
	for _, t := range r.Targets {
		if _, flat, ok := r.growth(t); ok && t.Flat && t.Check {
			if flat {
				count["PASS"]++
			} else {
				count["MISS"]++
			}
		}
	}
	count["NOT MEASURED"] += len(r.Skipped)
	w("**Verdicts:** %d PASS, %d MISS, %d NOT MEASURED.\n\n", count["PASS"], count["MISS"], count["NOT MEASURED"])
	w("| check | target | measured | verdict |\n|---|---|---|---|\n")
	for _, a := range aggs {
		w("| `%s` | %s | %s | **%s** |\n", a.t.Key, a.ru.Source, esc(aggDetail(a.ru, a.vs)), a.status)
	}
	for _, t := range r.Targets {
		if !t.Flat || !t.Check {
			continue
		}
		g, flat, ok := r.growth(t)
		if !ok {
			continue
		}
		st := "PASS"
		if !flat {
			st = "MISS"
		}
		w("| `%s` | issue 11: cost stays flat as N grows (N=%s vs N=%s, at most %gx) | %.2fx | **%s** |\n",
			t.Key, kN(r.maxLevel()), kN(r.Levels[0].N), flatLimit, g, st)
	}
	for _, s := range r.Skipped {
		w("| `%s` | — | %s | **NOT MEASURED** |\n", s.Key, esc(s.Why))
	}
	w("\n")
	if len(r.Levels) == 0 {
		w("No level was measured.\n\n")
	} else if g, d := r.get(peerGo, r.Levels[0].N), r.get(peerDummy, r.Levels[0].N); g != nil && d != nil && g.Valid() && d.Valid() {
		f := float64(g.Median()) / float64(d.Median())
		w("For scale: an empty static Go program (bench/gohello) costs %.2fx check_dummy here (%s vs %s at N=%s), "+
			"so the 3x budget leaves about %.1fx check_dummy for a Go check's own start-up and work.\n\n",
			f, ms(g.Median()), ms(d.Median()), kN(r.Levels[0].N), 3-f)
	}

	// All measurements.
	prevCol := "previous median wall"
	if prev != nil {
		prevCol = fmt.Sprintf("previous run (%s): wall / RSS", prev.When)
	}
	w("## All measurements\n\n")
	w("| check | N | median wall (min–max) | CPU | peak RSS | exit | peer | ratio | verdict | %s |\n", prevCol)
	w("|---|---:|---|---:|---:|---:|---|---:|---|---|\n")
	for _, l := range r.Levels {
		for _, t := range r.Targets {
			m := r.get(t.Key, l.N)
			if m == nil {
				continue
			}
			pv := "—"
			if p, ok := prevBy[fmt.Sprintf("%s@%d", t.Key, l.N)]; ok {
				pv = fmt.Sprintf("%.2f ms / %s", p.Wall, mib(p.RSSKB))
				if m.Valid() && p.Wall > 0 {
					pv += fmt.Sprintf(" (now %+.0f%%)", 100*(float64(m.Median().Microseconds())/1000/p.Wall-1))
				}
			}
			if !m.Valid() {
				w("| `%s` | %s | — | — | — | %d | %s | — | INVALID: %s | %s |\n", t.Key, kN(l.N), m.Code, peerCell(t), esc(invalidWhy(m)), pv)
				continue
			}
			lo, hi := minMax(m.series(wallOf))
			ratio := "—"
			if t.Peer != "" {
				if p := r.get(t.Peer, l.N); p != nil && p.Valid() {
					ratio = fmt.Sprintf("%.2fx", float64(m.Median())/float64(p.Median()))
				}
			}
			verdict := "—"
			var miss []string
			judged := false
			for _, ru := range t.Rules {
				if ru.AtMaxOnly && l.N != r.maxLevel() {
					continue
				}
				judged = true
				v := r.judge(t, ru, m)
				if v.Status != "PASS" {
					miss = append(miss, v.Status+": "+v.Detail)
				}
			}
			if judged {
				verdict = "PASS"
				if len(miss) > 0 {
					verdict = strings.Join(miss, "; ")
				}
			}
			w("| `%s` | %s | %s (%s–%s) | %s | %s | %d | %s | %s | %s | %s |\n", t.Key, kN(l.N),
				ms(m.Median()), ms(lo), ms(hi), ms(m.CPU()), mib(m.RSSKB), m.Code, peerCell(t), ratio, esc(verdict), pv)
		}
	}
	w("\n")

	// Cost vs N.
	if len(r.Levels) > 1 {
		w("## Cost vs N (median wall)\n\n| check |")
		for _, l := range r.Levels {
			w(" N=%s |", kN(l.N))
		}
		w(" growth | must stay flat |\n|---|")
		for range r.Levels {
			w("---:|")
		}
		w("---:|---|\n")
		for _, t := range r.Targets {
			if t.FirstOnly {
				continue
			}
			w("| `%s` |", t.Key)
			for _, l := range r.Levels {
				if m := r.get(t.Key, l.N); m != nil && m.Valid() {
					w(" %s |", ms(m.Median()))
				} else {
					w(" — |")
				}
			}
			g, flat, ok := r.growth(t)
			gs := "—"
			if ok {
				gs = fmt.Sprintf("%.2fx", g)
			}
			must := "no (walks the ESTABLISHED table by design)"
			switch {
			case !t.Check:
				must = "— (peer)"
			case t.Flat:
				must = "yes"
				if ok && !flat {
					must = "yes — **GROWS**"
				}
			}
			w(" %s | %s |\n", gs, must)
		}
		w("\n")
	}

	if len(r.Profiles) > 0 {
		w("## Where the time goes (misses)\n\n")
		for _, p := range r.Profiles {
			w("- %s\n", esc(p))
		}
		w("\n")
	}
	if notes, err := os.ReadFile(filepath.Join(r.Cfg.Root, "bench", "analysis.md")); err == nil && len(bytes.TrimSpace(notes)) > 0 {
		w("## Analysis of the misses (by hand, from perf and strace; bench/analysis.md)\n\n%s\n\n", bytes.TrimSpace(notes))
	}
	w("## First output line of each check (warm-up run, largest N)\n\n")
	for _, t := range r.Targets {
		if !t.Check {
			continue
		}
		var m *meas
		for _, l := range r.Levels {
			if x := r.get(t.Key, l.N); x != nil {
				m = x
			}
		}
		if m != nil {
			w("- `%s` (N=%s, exit %d): `%s`\n", t.Key, kN(m.N), m.Code, strings.ReplaceAll(m.First, "`", "'"))
		}
	}
	w("\n")
	if perr != nil {
		w("(The previous file's data block could not be read: %v.)\n\n", perr)
	}
	d := r.data()
	js, _ := json.Marshal(d)
	w("%s%s -->\n", dataMarker, js)
	return b.String()
}

func peerCell(t *target) string {
	if t.Peer == "" {
		if len(t.Rules) > 0 && t.Rules[0].AbsMs > 0 {
			return "absolute"
		}
		return "—"
	}
	return "`" + t.Peer + "`"
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// Summary is the short verdict list printed after a run.
func (r *Report) Summary() string {
	var b strings.Builder
	for _, v := range r.Verdicts() {
		if v.Status != "PASS" {
			fmt.Fprintf(&b, "%s at N=%d: %s %s\n", v.T.Key, v.N, v.Status, v.Detail)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "%s: NOT MEASURED: %s\n", s.Key, s.Why)
	}
	if b.Len() == 0 {
		b.WriteString("every target measured passed\n")
	}
	return b.String()
}

// aggDetail sums up one target's verdicts over the N it was judged at:
// the ratio at each N, the largest RSS, and where it missed.
func aggDetail(ru rule, vs []Verdict) string {
	if len(vs) == 1 {
		return fmt.Sprintf("N=%s: %s", kN(vs[0].N), vs[0].Detail)
	}
	var parts, missed, invalid []string
	var rss int64
	for _, v := range vs {
		switch v.Status {
		case "INVALID":
			invalid = append(invalid, fmt.Sprintf("N=%s: %s", kN(v.N), v.Detail))
			continue
		case "MISS":
			missed = append(missed, kN(v.N))
		}
		rss = max(rss, v.RSSKB)
		if ru.Peer != "" {
			parts = append(parts, fmt.Sprintf("%s %.2fx", kN(v.N), v.Ratio))
		}
	}
	out := ""
	if len(parts) > 0 {
		out = fmt.Sprintf("wall vs `%s` at N=%s", ru.Peer, strings.Join(parts, ", "))
	}
	if ru.RSSMiB > 0 && rss > 0 {
		out += fmt.Sprintf("; peak RSS at most %s", mib(rss))
	}
	if len(missed) > 0 {
		out += fmt.Sprintf("; missed at N=%s", strings.Join(missed, ", "))
	}
	if len(invalid) > 0 {
		out += "; " + strings.Join(invalid, "; ")
	}
	return out
}
