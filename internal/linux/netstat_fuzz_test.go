package linux_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

// FuzzNetstatCounters checks that NetstatCounters never panics and agrees
// with a plain reference reading of the same input (split every line,
// pair header and values by position) whenever it accepts the input.
func FuzzNetstatCounters(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "netstat", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "TcpExt", "ListenOverflows", "ListenDrops")
	}
	f.Add([]byte("TcpExt: A\nTcpExt: 1\n"), "TcpExt", "A", "A")
	f.Add([]byte("A:\nA:\n"), "A", "", "x")
	f.Fuzz(func(t *testing.T, b []byte, section, n1, n2 string) {
		got, err := linux.NetstatCounters(b, section, n1, n2)
		if err != nil {
			return
		}
		want := referenceNetstat(b, section)
		for i, n := range []string{n1, n2} {
			v, ok := want[n]
			if !ok {
				t.Fatalf("%s %q = %d accepted, but the reference reading has no such counter", section, n, got[i])
			}
			if u, err := strconv.ParseUint(v, 10, 64); err != nil || u != got[i] {
				t.Fatalf("%s %q = %d, the reference reads %q", section, n, got[i], v)
			}
		}
	})
}

// referenceNetstat pairs the first header/values lines of section by
// position (the first occurrence of a name wins); fields are separated by
// ASCII white space.
func referenceNetstat(b []byte, section string) map[string]string {
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	for i := 0; i+1 < len(lines); i += 2 {
		name, h, _ := bytes.Cut(lines[i], []byte{':'})
		_, v, _ := bytes.Cut(lines[i+1], []byte{':'})
		if string(name) != section {
			continue
		}
		out := map[string]string{}
		blank := func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f' }
		hs, vs := bytes.FieldsFunc(h, blank), bytes.FieldsFunc(v, blank)
		for j := range hs {
			if _, dup := out[string(hs[j])]; !dup && j < len(vs) {
				out[string(hs[j])] = string(vs[j])
			}
		}
		return out
	}
	return nil
}
