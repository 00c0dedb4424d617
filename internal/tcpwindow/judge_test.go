package tcpwindow

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// TestJudge: every verdict of check_tcp_window from a literal observation
// and options; nothing is read (the golden tests render the same
// verdicts in full).
func TestJudge(t *testing.T) {
	debian := Sysctls{WindowScaling: 1, Rmem: []int64{4096, 131072, 6291456}, Wmem: []int64{4096, 16384, 4194304}, RmemMax: 212992}
	off := debian
	off.WindowScaling = 0
	big := debian
	big.Rmem = []int64{4096, 131072, 33554432}
	sock := func(src, dst string, ti linux.TCPInfo) linux.Socket {
		return linux.Socket{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Info: &ti}
	}
	scaled := info(tsSack|linux.TCPIOptWscale, 7, 7, 3145728, 12*time.Millisecond)
	tests := []struct {
		name  string
		obs   Observation
		args  []string
		state plugin.State
		lines []string
	}{
		{"local audit", Observation{Sysctls: debian}, []string{"--local"}, plugin.OK,
			[]string{"TCP_WINDOW OK - this host advertises wscale 7 (tcp_rmem max 6291456 B, rmem_max 212992 B) | advertised_wscale=7;;;0;14", "windows up to 8388480 B"}},
		{"scaling disabled", Observation{Sysctls: off}, []string{"--local"}, plugin.Warning,
			[]string{"TCP_WINDOW WARNING - window scaling disabled here (net.ipv4.tcp_window_scaling=0): every window is capped at 64 KiB, at most 10.5 Mbit/s at 50.0 ms RTT"}},
		{"above --max-wscale", Observation{Sysctls: big}, []string{"--local", "--max-wscale", "7"}, plugin.Warning,
			[]string{"wscale 10 (tcp_rmem max 33554432 B, rmem_max 212992 B), above --max-wscale 7", "advertised_wscale=10;7;;0;14", "both tcp_rmem max and rmem_max at most 8388607 B"}},
		{"--max-wscale 14 is no threshold", Observation{Sysctls: big}, []string{"--local", "--max-wscale", "14"}, plugin.OK,
			[]string{"advertised_wscale=10;;;0;14"}},
		{"probe scaled", Observation{Sysctls: debian, Probe: &ProbeResult{Remote: "192.0.2.1:443", Info: scaled, Seen: true, How: "the peer's data", Expect: true}},
			[]string{"-H", "192.0.2.1", "-p", "443"}, plugin.OK,
			[]string{"TCP_WINDOW OK - window scaling negotiated with 192.0.2.1:443 (wscale peer 7, ours 7), peer window 3145728 B, RTT 12.0 ms"}},
		{"probe mangled", Observation{Sysctls: debian, Probe: &ProbeResult{Remote: "192.0.2.1:443", Info: info(tsSack, 0, 0, 64, 12*time.Millisecond), Seen: true, How: "the peer's data", Expect: true}},
			[]string{"-H", "192.0.2.1", "-p", "443"}, plugin.Critical,
			[]string{"TCP_WINDOW CRITICAL - window scale option mangled on the path to 192.0.2.1:443", "snd_wnd=64B"}},
		{"probe unscaled, this host's scaling off", Observation{Sysctls: off, Probe: &ProbeResult{Remote: "192.0.2.1:443", Info: info(tsSack, 0, 0, 64240, 12*time.Millisecond), Seen: true, How: "x", Expect: true}},
			[]string{"-H", "192.0.2.1", "-p", "443"}, plugin.Warning,
			[]string{"window scaling not negotiated with 192.0.2.1:443", "this host has net.ipv4.tcp_window_scaling=0"}},
		{"probe below --min-throughput", Observation{Sysctls: debian, Probe: &ProbeResult{Remote: "192.0.2.1:443", Info: info(tsSack|linux.TCPIOptWscale, 2, 7, 200000, 100*time.Millisecond), Seen: true, How: "x", Expect: true}},
			[]string{"-H", "192.0.2.1", "-p", "443", "--min-throughput", "100M"}, plugin.Warning,
			[]string{"throughput ceiling 21.0 Mbit/s below --min-throughput 100 Mbit/s"}},
		{"expected text missing", Observation{Sysctls: debian, Probe: &ProbeResult{Remote: "192.0.2.1:25", Info: scaled, Seen: true, How: "x"}},
			[]string{"-H", "192.0.2.1", "-p", "25", "-e", "220 "}, plugin.Warning,
			[]string{`"220 " not found in the answer of 192.0.2.1:25`}},
		{"scan all scaled", Observation{Sysctls: debian, Scan: &Scan{Total: 3, Count: [3]int{3, 0, 0}}}, []string{"--established"}, plugin.OK,
			[]string{"TCP_WINDOW OK - 3 established connections, window scaling negotiated on all | advertised_wscale=7;;;0;14", "established=3;;;0 mangled=0;;;0 unscaled=0;;;0"}},
		{"scan mangled and unscaled", Observation{Sysctls: debian, Scan: &Scan{Total: 20, NoInfo: 1, Count: [3]int{5, 12, 2},
			Examples: [3][]linux.Socket{nil, {sock("10.0.0.1:40000", "192.0.2.9:443", info(tsSack, 0, 0, 64240, time.Millisecond))}, {sock("10.0.0.1:40001", "192.0.2.7:443", info(tsSack, 0, 0, 128, time.Millisecond))}}}},
			[]string{"--established", "-p", "443"}, plugin.Critical,
			[]string{"TCP_WINDOW CRITICAL - 2 of 20 matching established connections show a mangled window scale (peer window below 8192 B without scaling) - 12 of 20 matching established connections without window scaling (64 KiB window cap)",
				"10.0.0.1:40001 -> 192.0.2.7:443: peer window 128 B", "10.0.0.1:40000 -> 192.0.2.9:443: no window scaling, window capped at 64 KiB (peer window 64240 B)",
				"... and 11 more", "mangled=2;;;0", "1 connections came without tcp_info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := plugin.Render("TCP_WINDOW", Judge(&tt.obs, options(t, tt.args...), 0))
			if st != tt.state {
				t.Errorf("state %s, want %s\n%s", st, tt.state, out)
			}
			for _, l := range tt.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}
