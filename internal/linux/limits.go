package linux

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Unlimited is a resource limit of RLIM_INFINITY.
const Unlimited = math.MaxUint64

// Limit is one line of /proc/PID/limits.
type Limit struct {
	Name       string // "Max open files"
	Soft, Hard uint64 // Unlimited for "unlimited"
}

// ParseLimits parses /proc/PID/limits: a header line, then one line per
// resource, its name padded to 25 columns, the soft and hard limits
// (numbers or "unlimited") and a unit (fs/proc/base.c, proc_pid_limits).
func ParseLimits(r io.Reader) ([]Limit, error) {
	var out []Limit
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 || strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Fields(text)
		// The name is the words before the first limit.
		i := 0
		for i < len(f) && !isLimit(f[i]) {
			i++
		}
		if i == 0 || i+1 >= len(f) || !isLimit(f[i+1]) {
			return nil, fmt.Errorf("limits line %d: %.60q is not NAME SOFT HARD [UNIT]", line, text)
		}
		l := Limit{Name: strings.Join(f[:i], " ")}
		l.Soft, _ = parseLimit(f[i])
		l.Hard, _ = parseLimit(f[i+1])
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading limits: %v", err)
	}
	return out, nil
}

func isLimit(s string) bool {
	_, ok := parseLimit(s)
	return ok
}

func parseLimit(s string) (uint64, bool) {
	if s == "unlimited" {
		return Unlimited, true
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// NoFileLimit reads the RLIMIT_NOFILE ("Max open files") of process pid;
// a process that is gone is ErrNoProcess.
func (f FS) NoFileLimit(pid int) (Limit, error) {
	path := f.ProcPath(strconv.Itoa(pid), "limits")
	b, err := procValue(f, func() ([]byte, error) { return readFile(path) })
	if err != nil {
		return Limit{}, fileError(pid, path, err)
	}
	ls, err := ParseLimits(bytes.NewReader(b))
	if err != nil {
		return Limit{}, fmt.Errorf("%s: %v", path, err)
	}
	for _, l := range ls {
		if l.Name == "Max open files" {
			return l, nil
		}
	}
	return Limit{}, fmt.Errorf("%s: no \"Max open files\" line", path)
}

// CountFDs counts the open file descriptors of process pid (the entries
// of /proc/PID/fd, not followed: cheaper than SocketInodes' readlink of
// each); a process that is gone is ErrNoProcess.
func (f FS) CountFDs(pid int) (int, error) {
	return procValue(f, func() (int, error) { return f.countFDs(pid) })
}

func (f FS) countFDs(pid int) (int, error) {
	dir := f.ProcPath(strconv.Itoa(pid), "fd")
	d, err := os.Open(dir)
	if err != nil {
		return 0, fileError(pid, dir, err)
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, Describe(dir, err)
		}
	}
}
