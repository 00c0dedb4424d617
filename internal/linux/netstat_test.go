package linux_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

func TestParseNetstatFixtures(t *testing.T) {
	for _, tc := range []struct {
		file    string
		want    map[string]map[string]int64 // a selection of the values
		entries map[string]int              // number of counters per section
		err     string
	}{
		{file: "host-6.18.txt",
			want: map[string]map[string]int64{
				"TcpExt": {"ListenOverflows": 0, "ListenDrops": 0, "TCPBacklogCoalesce": 416},
				"IpExt":  {"InOctets": 311669553},
			},
			entries: map[string]int{"TcpExt": 135}},
		{file: "snmp-6.18.txt", want: map[string]map[string]int64{"Tcp": {"ActiveOpens": 61, "RtoMin": 200, "MaxConn": -1}}},
		{file: "overflows.txt",
			want:    map[string]map[string]int64{"TcpExt": {"ListenOverflows": 17, "ListenDrops": 25}, "IpExt": {"InNoRoutes": 3}, "MPTcpExt": {"MPCapableSYNRX": 0}},
			entries: map[string]int{"TcpExt": 3, "IpExt": 1, "MPTcpExt": 1}},
		{file: "empty.txt", entries: map[string]int{}},
		{file: "short-values.txt", err: "netstat line 2: 2 values for 3 names in TcpExt"},
		{file: "section-mismatch.txt", err: `netstat line 2: values for "IpExt" follow the header of "TcpExt"`},
		{file: "not-integer.txt", err: `netstat line 2: TcpExt B: "x" is not an integer`},
		{file: "header-only.txt", err: "netstat: header of IpExt without values"},
		{file: "no-section.txt", err: `netstat line 1: no section name in "garbage without colon"`},
		{file: "overflow-uint64.txt", err: `IpExt InOctets: "18446744073709551615" is not an integer`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "netstat", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := linux.ParseNetstat(f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for sec, counters := range tc.want {
				for name, v := range counters {
					if g, ok := got[sec][name]; !ok || g != v {
						t.Errorf("%s %s = %d (present %v), want %d", sec, name, g, ok, v)
					}
				}
			}
			for sec, n := range tc.entries {
				if len(got[sec]) != n {
					t.Errorf("%s has %d counters, want %d", sec, len(got[sec]), n)
				}
			}
			if tc.entries != nil && len(tc.entries) > 0 && len(got) < len(tc.entries) {
				t.Errorf("%d sections, want at least %d", len(got), len(tc.entries))
			}
		})
	}
}

// TestParseNetstatLive parses this machine's own counters: the real format
// of the running kernel, with the counters check_nginx_queue needs.
func TestParseNetstatLive(t *testing.T) {
	f, err := os.Open("/proc/net/netstat")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := linux.ParseNetstat(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"ListenOverflows", "ListenDrops"} {
		if _, ok := got["TcpExt"][c]; !ok {
			t.Errorf("TcpExt %s missing", c)
		}
	}
}
