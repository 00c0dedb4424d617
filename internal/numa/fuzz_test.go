package numa

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseLine checks that no numa_maps line panics the parser, that
// errors quote the line, and that an accepted policy prints back to
// something that parses to the same policy.
func FuzzParseLine(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "numa_maps", "*.txt"))
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			f.Add(sc.Text())
		}
		fh.Close()
	}
	f.Add("7f0000004000 bind=static|balancing:0 anon=10 N0=10 kernelpagesize_kB=4")
	f.Add("5601bb000000 prefer (many)=relative:0-1")
	f.Add("1 weighted interleave")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseLine(line)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != line {
				t.Fatalf("error %v does not carry the line", err)
			}
			return
		}
		again, err := ParseLine("1 " + m.Policy.String())
		if err != nil {
			t.Fatalf("policy %q of %q does not parse back: %v", m.Policy, line, err)
		}
		if !reflect.DeepEqual(again.Policy, m.Policy) {
			t.Fatalf("policy %q parses back as %q", m.Policy, again.Policy)
		}
		for _, np := range m.Pages {
			if np.Pages < 0 || np.Node < 0 || np.Node >= maxNode {
				t.Fatalf("bad node pages %+v from %q", np, line)
			}
		}
	})
}

func FuzzParseNodeList(f *testing.F) {
	for _, s := range []string{"0", "0-3", "0,2-3", "", "1-0", "0-1023"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nodes, err := ParseNodeList(s)
		if err != nil {
			return
		}
		again, err := ParseNodeList(FormatNodeList(nodes))
		if err != nil || !reflect.DeepEqual(again, nodes) {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, nodes, FormatNodeList(nodes), again, err)
		}
	})
}

func FuzzParseMeminfo(f *testing.F) {
	for _, h := range []string{"host1", "host2", "host4"} {
		if b, err := os.ReadFile(filepath.Join("testdata", h, "sys/devices/system/node/node0/meminfo")); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("Node 0 MemTotal: 99999999999999999 kB")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMeminfo(strings.NewReader(s))
		for k, v := range m {
			if err == nil && v < 0 {
				t.Fatalf("%s = %d from %q", k, v, s)
			}
		}
	})
}

func FuzzParseNumastat(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "host2", "sys/devices/system/node/node1/numastat")); err == nil {
		f.Add(string(b))
	}
	f.Add("numa_hit -1")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseNumastat(strings.NewReader(s))
		for k, v := range m {
			if err == nil && v < 0 {
				t.Fatalf("%s = %d from %q", k, v, s)
			}
		}
	})
}
