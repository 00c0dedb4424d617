package linux_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

func TestParseConntrackStatFixtures(t *testing.T) {
	for _, tc := range []struct {
		file    string
		entries uint64
		cpus    int
		total   linux.ConntrackCounters
		noSR    bool
		err     string
	}{
		{file: "6.18-idle.txt", cpus: 2},
		{file: "5.4-busy.txt", entries: 0x3ffe8, cpus: 4, total: linux.ConntrackCounters{
			Found: 0x1a2b3 + 0x20000 + 0xffffffff, Invalid: 0xc1d + 0xa00 + 1, InsertFailed: 0x11 + 1,
			Drop: 0x3e8 + 0x18, EarlyDrop: 0xfa0 + 0x64, Error: 2 + 1, SearchRestart: 5 + 1,
		}},
		{file: "2.6-no-search-restart.txt", entries: 300, cpus: 2, noSR: true, total: linux.ConntrackCounters{
			Found: 6, Invalid: 12, InsertFailed: 1, Drop: 3, EarlyDrop: 7, Error: 4,
		}},
		{file: "empty.txt", err: "empty file"},
		{file: "header-only.txt", err: "no CPU lines after the header"},
		{file: "short-line.txt", err: "line 2: 12 values for 17 columns"},
		{file: "not-hex.txt", err: `line 2: drop "0000zz00" is not a 32-bit hexadecimal number`},
		{file: "over-32-bit.txt", err: `line 2: drop "100000000" is not a 32-bit hexadecimal number`},
		{file: "no-drop-column.txt", err: `line 1: no "drop" column in the header`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "nf_conntrack", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := linux.ParseConntrackStat(f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, linux.ErrConntrackFormat) {
					t.Fatalf("error %v, want ErrConntrackFormat containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Entries != tc.entries || len(st.CPUs) != tc.cpus || st.NoSearchRestart != tc.noSR {
				t.Errorf("entries %d cpus %d noSearchRestart %v, want %d %d %v", st.Entries, len(st.CPUs), st.NoSearchRestart, tc.entries, tc.cpus, tc.noSR)
			}
			if got := st.Total(); got != tc.total {
				t.Errorf("total\n%+v, want\n%+v", got, tc.total)
			}
		})
	}
}
