package nginx

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// StubStatus is the page of nginx's ngx_http_stub_status_module.
type StubStatus struct {
	Active                     int64
	Accepts, Handled, Requests int64
	Reading, Writing, Waiting  int64
}

// Dropped is the number of connections nginx accepted but closed at once
// because worker_connections was exhausted.
func (s StubStatus) Dropped() int64 { return s.Accepts - s.Handled }

// ParseStubStatus parses a stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
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
	if len(lines) != 4 {
		return s, fmt.Errorf("not stub_status output: %d non-empty lines, expected 4 (Active connections, server accepts handled requests, three numbers, Reading/Writing/Waiting)", len(lines))
	}
	rest, ok := strings.CutPrefix(lines[0], "Active connections:")
	if !ok {
		return s, fmt.Errorf("not stub_status output: first line %q does not start with \"Active connections:\"", plugin.Clip(lines[0], 60))
	}
	var err error
	if s.Active, err = count("Active connections", strings.TrimSpace(rest)); err != nil {
		return s, err
	}
	if strings.Join(strings.Fields(lines[1]), " ") != "server accepts handled requests" {
		return s, fmt.Errorf("not stub_status output: second line %q is not \"server accepts handled requests\"", plugin.Clip(lines[1], 60))
	}
	f := strings.Fields(lines[2])
	if len(f) != 3 {
		return s, fmt.Errorf("not stub_status output: %d numbers for accepts, handled and requests, expected 3", len(f))
	}
	for i, dst := range []*int64{&s.Accepts, &s.Handled, &s.Requests} {
		if *dst, err = count([]string{"accepts", "handled", "requests"}[i], f[i]); err != nil {
			return s, err
		}
	}
	f = strings.Fields(lines[3])
	names := []string{"Reading:", "Writing:", "Waiting:"}
	if len(f) != 6 {
		return s, fmt.Errorf("not stub_status output: last line %q is not \"Reading: N Writing: N Waiting: N\"", plugin.Clip(lines[3], 60))
	}
	for i, dst := range []*int64{&s.Reading, &s.Writing, &s.Waiting} {
		if f[2*i] != names[i] {
			return s, fmt.Errorf("not stub_status output: found %q where %q was expected", plugin.Clip(f[2*i], 60), names[i])
		}
		if *dst, err = count(strings.TrimSuffix(names[i], ":"), f[2*i+1]); err != nil {
			return s, err
		}
	}
	if s.Handled > s.Accepts {
		return s, fmt.Errorf("not stub_status output: handled (%d) is greater than accepts (%d)", s.Handled, s.Accepts)
	}
	return s, nil
}

func count(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not stub_status output: %s %q is not a non-negative integer", name, plugin.Clip(v, 60))
	}
	return n, nil
}
