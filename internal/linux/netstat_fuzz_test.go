package linux_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

// FuzzParseNetstat checks that ParseNetstat never panics and that what it
// accepts is consistent: every parsed section and counter comes from the
// input, and printing the result back parses to the same values.
func FuzzParseNetstat(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "netstat", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("TcpExt: A\nTcpExt: 1\n"))
	f.Add([]byte("A:\nA:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := linux.ParseNetstat(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out strings.Builder
		for sec, m := range got {
			if !bytes.Contains(b, []byte(sec)) {
				t.Fatalf("section %q not in the input", sec)
			}
			names := make([]string, 0, len(m))
			vals := make([]string, 0, len(m))
			for k, v := range m {
				names = append(names, k)
				vals = append(vals, fmt.Sprint(v))
			}
			fmt.Fprintf(&out, "%s: %s\n%s: %s\n", sec, strings.Join(names, " "), sec, strings.Join(vals, " "))
		}
		if out.Len() > 512*1024 {
			return // merged sections may exceed the parser's line limit
		}
		again, err := linux.ParseNetstat(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("the parsed result printed back does not parse: %v\n%q", err, out.String())
		}
		for sec, m := range got {
			for k, v := range m {
				if again[sec][k] != v {
					t.Fatalf("%s %s: %d after a round trip, want %d", sec, k, again[sec][k], v)
				}
			}
		}
	})
}
