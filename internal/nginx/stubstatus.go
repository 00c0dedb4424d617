package nginx

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// StubStatus is the page of nginx's ngx_http_stub_status_module, and of
// the forks that print it with more columns.
type StubStatus struct {
	Active                     int64
	Accepts, Handled, Requests int64
	Reading, Writing, Waiting  int64
	// Counters are the further columns of the "server accepts handled
	// requests" row, in page order (Tengine's request_time: the
	// milliseconds its requests took, summed); Gauges are further
	// "Name: N" pairs of the Reading/Writing/Waiting line. Columns whose
	// value is not a number are left out.
	Counters, Gauges []Column
}

// Column is one further column of a stub_status page.
type Column struct {
	Name  string
	Value int64
}

// Dropped is the number of connections nginx accepted but closed at once
// because worker_connections was exhausted.
func (s StubStatus) Dropped() int64 { return s.Accepts - s.Handled }

// ParseStubStatus parses a stub_status page by the names it prints, so
// that forks with more columns read as nginx does:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
//
// nginx prints these four lines since 0.1.18
// (src/http/modules/ngx_http_stub_status_module.c); Tengine adds a
// request_time column to the counters row (the same file, under
// T_NGX_HTTP_STUB_STATUS). The counters row is the line after the line of
// names that starts with "server"; every value is matched to the name
// above it. A page without Active connections, the accepts, handled and
// requests counters, or Reading, Writing and Waiting is "not stub_status
// output"; other lines are skipped.
func ParseStubStatus(r io.Reader) (StubStatus, error) {
	var s StubStatus
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(r, maxStubBody))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("reading stub_status: %v", err)
	}
	var active, counters, states bool
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch f := strings.Fields(l); {
		case strings.HasPrefix(l, "Active connections:"):
			if active {
				return s, notStub("two \"Active connections:\" lines")
			}
			v, err := count("Active connections", strings.TrimSpace(strings.TrimPrefix(l, "Active connections:")))
			if err != nil {
				return s, err
			}
			s.Active, active = v, true
		case f[0] == "server" && len(f) > 1 && !counters:
			if i+1 == len(lines) {
				return s, notStub("no numbers below %q", plugin.Clip(l, 60))
			}
			if err := s.counters(f[1:], strings.Fields(lines[i+1])); err != nil {
				return s, err
			}
			counters = true
			i++
		case f[0] == "Reading:" && !states:
			if err := s.states(f); err != nil {
				return s, err
			}
			states = true
		}
	}
	switch {
	case !active:
		return s, notStub("no \"Active connections:\" line (%d non-empty lines)", len(lines))
	case !counters:
		return s, notStub("no \"server accepts handled requests\" line with its numbers")
	case !states:
		return s, notStub("no \"Reading: N Writing: N Waiting: N\" line")
	case s.Handled > s.Accepts:
		return s, notStub("handled (%d) is greater than accepts (%d)", s.Handled, s.Accepts)
	}
	return s, nil
}

// counters reads the row of numbers below the row of names.
func (s *StubStatus) counters(names, values []string) error {
	if len(values) != len(names) {
		return notStub("%d numbers for the %d columns %s", len(values), len(names), plugin.Clip(strings.Join(names, " "), 60))
	}
	std := map[string]*int64{"accepts": &s.Accepts, "handled": &s.Handled, "requests": &s.Requests}
	seen := map[string]bool{}
	for i, name := range names {
		if seen[name] {
			return notStub("column %q twice", plugin.Clip(name, 40))
		}
		seen[name] = true
		if dst := std[name]; dst != nil {
			v, err := count(name, values[i])
			if err != nil {
				return err
			}
			*dst = v
			continue
		}
		if v, err := strconv.ParseInt(values[i], 10, 64); err == nil && v >= 0 {
			s.Counters = append(s.Counters, Column{name, v})
		}
	}
	for _, name := range []string{"accepts", "handled", "requests"} {
		if !seen[name] {
			return notStub("no %s column in %q", name, plugin.Clip("server "+strings.Join(names, " "), 60))
		}
	}
	return nil
}

// states reads "Reading: N Writing: N Waiting: N" and further pairs.
func (s *StubStatus) states(f []string) error {
	if len(f)%2 != 0 {
		return notStub("%q is not a line of \"Name: N\" pairs", plugin.Clip(strings.Join(f, " "), 60))
	}
	std := map[string]*int64{"Reading": &s.Reading, "Writing": &s.Writing, "Waiting": &s.Waiting}
	seen := map[string]bool{}
	for i := 0; i < len(f); i += 2 {
		name, ok := strings.CutSuffix(f[i], ":")
		if !ok || seen[name] {
			return notStub("%q is not a line of \"Name: N\" pairs", plugin.Clip(strings.Join(f, " "), 60))
		}
		seen[name] = true
		if dst := std[name]; dst != nil {
			v, err := count(name, f[i+1])
			if err != nil {
				return err
			}
			*dst = v
			continue
		}
		if v, err := strconv.ParseInt(f[i+1], 10, 64); err == nil && v >= 0 {
			s.Gauges = append(s.Gauges, Column{name, v})
		}
	}
	for _, name := range []string{"Reading", "Writing", "Waiting"} {
		if !seen[name] {
			return notStub("no %s in %q", name, plugin.Clip(strings.Join(f, " "), 60))
		}
	}
	return nil
}

func notStub(format string, args ...any) error {
	return fmt.Errorf("not stub_status output: "+format, args...)
}

func count(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, notStub("%s %q is not a non-negative integer", name, plugin.Clip(v, 60))
	}
	return n, nil
}
