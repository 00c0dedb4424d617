package linux_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

// FuzzParseConntrackStat checks that ParseConntrackStat never panics and,
// whenever it accepts an input, agrees with a plain reference reading:
// split every line on blanks, pair values with header names by position,
// parse them as hexadecimal, sum over the lines.
func FuzzParseConntrackStat(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "nf_conntrack", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := linux.ParseConntrackStat(bytes.NewReader(b))
		if err != nil {
			return
		}
		want := map[string]uint64{}
		var header [][]byte
		lines := 0
		for _, l := range bytes.Split(b, []byte{'\n'}) {
			fields := bytes.Fields(l)
			if header == nil {
				header = fields
				continue
			}
			if len(fields) == 0 {
				continue
			}
			lines++
			for i, h := range header {
				v, err := strconv.ParseUint(string(fields[i]), 16, 32)
				if err != nil {
					t.Fatalf("accepted %q although %q is not hexadecimal", b, fields[i])
				}
				if string(h) == "entries" {
					want["entries"] = v
				} else {
					want[string(h)] += v
				}
			}
		}
		tot := st.Total()
		for name, got := range map[string]uint64{
			"entries": st.Entries, "found": tot.Found, "invalid": tot.Invalid, "insert": tot.Insert,
			"insert_failed": tot.InsertFailed, "drop": tot.Drop, "early_drop": tot.EarlyDrop,
			"icmp_error": tot.Error, "search_restart": tot.SearchRestart,
		} {
			if got != want[name] {
				t.Fatalf("%s = %d, the reference reads %d, in %q", name, got, want[name], b)
			}
		}
		if len(st.CPUs) != lines {
			t.Fatalf("%d CPUs, the reference reads %d lines in %q", len(st.CPUs), lines, b)
		}
	})
}
