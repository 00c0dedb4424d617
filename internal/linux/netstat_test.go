package linux_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

func TestNetstatCountersFixtures(t *testing.T) {
	for _, tc := range []struct {
		file    string
		section string
		names   []string
		want    []uint64
		err     string
	}{
		{file: "host-6.18.txt", section: "TcpExt", names: []string{"ListenOverflows", "ListenDrops", "TCPBacklogCoalesce"}, want: []uint64{0, 0, 416}},
		{file: "host-6.18.txt", section: "IpExt", names: []string{"InOctets"}, want: []uint64{311669553}},
		{file: "snmp-6.18.txt", section: "Tcp", names: []string{"RtoMin", "ActiveOpens"}, want: []uint64{200, 61}},
		{file: "snmp-6.18.txt", section: "Tcp", names: []string{"MaxConn"}, err: `Tcp MaxConn: "-1" is not an unsigned integer`},
		{file: "overflows.txt", section: "TcpExt", names: []string{"ListenDrops", "ListenOverflows"}, want: []uint64{25, 17}},
		{file: "overflows.txt", section: "MPTcpExt", names: []string{"MPCapableSYNRX"}, want: []uint64{0}},
		{file: "overflows.txt", section: "TcpExt", names: []string{"ListenDrops", "TCPNope"}, err: "netstat: no TcpExt TCPNope counter"},
		// A counter past int64 (u64 in the kernel) is read as such.
		{file: "overflow-uint64.txt", section: "IpExt", names: []string{"InOctets"}, want: []uint64{18446744073709551615}},
		{file: "overflow-uint64.txt", section: "TcpExt", names: []string{"ListenOverflows"}, want: []uint64{1234}},
		{file: "empty.txt", section: "TcpExt", names: []string{"ListenDrops"}, err: "netstat: no TcpExt section"},
		{file: "short-values.txt", section: "TcpExt", names: []string{"A"}, err: "netstat line 2: 2 values for 3 names in TcpExt"},
		{file: "section-mismatch.txt", section: "TcpExt", names: []string{"A"}, err: `netstat line 2: values for "IpExt" follow the header of "TcpExt"`},
		{file: "not-integer.txt", section: "TcpExt", names: []string{"B"}, err: `netstat line 2: TcpExt B: "x" is not an unsigned integer`},
		{file: "header-only.txt", section: "TcpExt", names: []string{"A"}, err: "netstat: header of IpExt without values"},
		{file: "no-section.txt", section: "TcpExt", names: []string{"A"}, err: `netstat line 1: no section name in "garbage without colon"`},
	} {
		t.Run(tc.file+"/"+tc.section+"/"+strings.Join(tc.names, ","), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "netstat", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := linux.NetstatCounters(b, tc.section, tc.names...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s %v = %v, want %v", tc.section, tc.names, got, tc.want)
			}
		})
	}
}

// TestNetstatCountersLive reads this machine's own counters: the real
// format of the running kernel, with the counters check_nginx_queue needs.
func TestNetstatCountersLive(t *testing.T) {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linux.NetstatCounters(b, "TcpExt", "ListenOverflows", "ListenDrops"); err != nil {
		t.Fatal(err)
	}
}
