package linux

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSoftnetStat: no panic, and what is accepted prints back in the
// kernel's layout (13 columns with the CPU id, 9 without) to the same
// values.
func FuzzParseSoftnetStat(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "softnet", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSoftnetStat(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(s) == 0 {
			t.Fatal("no error and no lines")
		}
		var out strings.Builder
		for _, c := range s {
			fmt.Fprintf(&out, "%08x %08x %08x 0 0 0 0 0 0", c.Processed, c.Dropped, c.TimeSqueeze)
			if s[0].CPUKnown {
				fmt.Fprintf(&out, " 0 0 0 %08x", c.CPU)
			}
			out.WriteByte('\n')
		}
		again, err := ParseSoftnetStat(strings.NewReader(out.String()))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, s)
		}
	})
}
