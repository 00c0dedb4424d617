package tcpwindow

import (
	"context"
	"fmt"
	flags "github.com/jessevdk/go-flags"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

func fixtureFS(name string) linux.FS {
	return linux.NewFS(filepath.Join("testdata", "sysctl", name, "proc"), "/nonexistent/sys")
}

// options parses args as the binary does.
func options(t *testing.T, args ...string) *Options {
	return testenv.ParseOptions[Options](t, args...)
}

func TestWscaleForSpace(t *testing.T) {
	for _, tc := range []struct {
		space int64
		want  int
	}{
		{-5, 0}, {0, 0}, {1, 0}, {65535, 0}, {65536, 1}, {131071, 1}, {131072, 2},
		{212992, 2}, {4194304, 7}, {6291456, 7}, {8388607, 7}, {8388608, 8},
		{33554432, 10}, {1 << 29, 14}, {65535 << 14, 14}, {1<<31 - 1, 14}, {1 << 40, 14},
	} {
		if got := wscaleForSpace(tc.space); got != tc.want {
			t.Errorf("wscaleForSpace(%d) = %d, want %d", tc.space, got, tc.want)
		}
	}
	for w := 0; w <= MaxWscale; w++ {
		lim := largestSpaceFor(w)
		if wscaleForSpace(lim) > w || (w < MaxWscale && wscaleForSpace(lim+1) != w+1) {
			t.Errorf("largestSpaceFor(%d) = %d is not the largest space with wscale %d", w, lim, w)
		}
	}
}

func TestReadSysctlsFixtures(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		wscal int
		err   string
	}{
		{dir: "debian-default", wscal: 7},
		{dir: "disabled", wscal: 0},
		{dir: "large-buffers", wscal: 10},
		{dir: "rmem-max-dominant", wscal: 9},
		{dir: "wscale-zero", wscal: 0},
		{dir: "huge", wscal: 14},
		{dir: "rmem-two-values", err: "net.ipv4.tcp_rmem: expected 3 integers (min default max), got 2"},
		{dir: "no-rmem-max", err: "net/core/rmem_max: no such file"},
		{dir: "garbage", err: `net.ipv4.tcp_rmem: "lots" is not an integer`},
		{dir: "absent", err: "net/ipv4/tcp_window_scaling: no such file"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			s, err := ReadSysctls(fixtureFS(tc.dir))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := AdvertisedWscale(s); got != tc.wscal {
				t.Errorf("advertised wscale %d, want %d (%+v)", got, tc.wscal, s)
			}
		})
	}
}

// TestLocalAuditGolden renders the local audit of fixture trees.
func TestLocalAuditGolden(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		args      []string
		state     plugin.State
	}{
		{"local-default", "debian-default", nil, plugin.OK},
		{"local-disabled", "disabled", nil, plugin.Warning},
		{"local-max-wscale-exceeded", "large-buffers", []string{"--max-wscale", "7"}, plugin.Warning},
		{"local-max-wscale-met", "debian-default", []string{"--max-wscale", "7"}, plugin.OK},
		{"local-max-wscale-zero", "debian-default", []string{"--max-wscale", "0"}, plugin.Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, append([]string{"--local"}, tc.args...)...)
			obs, err := Gather(context.Background(), fixtureFS(tc.dir), o)
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("TCP_WINDOW", Judge(obs, o, 0))
			if st != tc.state {
				t.Errorf("state %s, want %s", st, tc.state)
			}
			testenv.Golden(t, tc.name+".txt", out)
		})
	}
}

func info(opts uint8, snd, rcv uint8, sndWnd uint32, rtt time.Duration) linux.TCPInfo {
	return linux.TCPInfo{State: 1, Options: opts, SndWscale: snd, RcvWscale: rcv, RTT: rtt, RTTVar: rtt / 2,
		SndMSS: 1448, RcvMSS: 1448, AdvMSS: 1448, SndWnd: sndWnd, HasSndWnd: true, RcvWnd: 65536, HasRcvWnd: true, Len: 280}
}

const tsSack = linux.TCPIOptTimestamps | linux.TCPIOptSACK

func TestJudgeProbeGolden(t *testing.T) {
	old := info(tsSack, 0, 0, 64, 20*time.Millisecond)
	old.Len, old.HasSndWnd, old.HasRcvWnd, old.SndWnd, old.RcvWnd = 104, false, false, 0, 0
	for _, tc := range []struct {
		name   string
		p      ProbeResult
		local  bool
		minTP  Bitrate
		state  plugin.State
		expect bool
	}{
		{name: "probe-ok", p: ProbeResult{Info: info(tsSack|linux.TCPIOptWscale, 7, 7, 3145728, 12*time.Millisecond), Seen: true, How: "the ACK of our data"}, local: true, state: plugin.OK},
		{name: "probe-mangled", p: ProbeResult{Info: info(tsSack, 0, 0, 64, 12*time.Millisecond), Seen: true, How: "the peer's data"}, local: true, state: plugin.Critical},
		{name: "probe-unscaled", p: ProbeResult{Info: info(tsSack, 0, 0, 64240, 12*time.Millisecond), Seen: true, How: "the ACK of our data"}, local: true, state: plugin.Warning},
		{name: "probe-unscaled-local-off", p: ProbeResult{Info: info(tsSack, 0, 0, 64240, 12*time.Millisecond), Seen: true, How: "the ACK of our data"}, local: false, state: plugin.Warning},
		// A tiny window before anything was exchanged is the SYN-ACK's,
		// which is never scaled: not the signature.
		{name: "probe-unscaled-unseen", p: ProbeResult{Info: info(tsSack, 0, 0, 4000, 12*time.Millisecond)}, local: true, state: plugin.Warning},
		{name: "probe-scaled-tiny", p: ProbeResult{Info: info(tsSack|linux.TCPIOptWscale, 0, 7, 1024, 12*time.Millisecond), Seen: true, How: "the peer's data"}, local: true, state: plugin.Warning},
		{name: "probe-old-kernel", p: ProbeResult{Info: old, Seen: true, How: "the peer's data"}, local: true, state: plugin.Warning},
		{name: "probe-min-throughput", p: ProbeResult{Info: info(tsSack|linux.TCPIOptWscale, 2, 7, 200000, 100*time.Millisecond), Seen: true, How: "the peer's data"}, local: true, minTP: 100e6, state: plugin.Warning},
		{name: "probe-expect-missing", p: ProbeResult{Info: info(tsSack|linux.TCPIOptWscale, 7, 7, 3145728, 12*time.Millisecond), Seen: true, How: "the peer's FIN"}, local: true, expect: true, state: plugin.Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, "-H", "192.0.2.10", "-p", "443")
			o.MinThroughput = tc.minTP
			p := tc.p
			p.Remote, p.Connect, p.Expect = "192.0.2.10:443", 800*time.Microsecond, !tc.expect
			if tc.expect {
				o.Expect = "220 "
			}
			res := &plugin.Result{}
			judgeProbe(res, o, &p, tc.local)
			out, st := plugin.Render("TCP_WINDOW", res)
			if st != tc.state {
				t.Errorf("state %s, want %s", st, tc.state)
			}
			testenv.Golden(t, tc.name+".txt", out)
		})
	}
}

func TestCeiling(t *testing.T) {
	for _, tc := range []struct {
		window float64
		rtt    time.Duration
		want   float64
	}{
		{65535, 50 * time.Millisecond, 10485600},
		{64, 10 * time.Millisecond, 51200},
		{65535 << 7, 100 * time.Millisecond, 671078400},
		{65535, 0, 0},
	} {
		if got := Ceiling(tc.window, tc.rtt); got != tc.want {
			t.Errorf("Ceiling(%v, %s) = %v, want %v", tc.window, tc.rtt, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0 bit/s"}, {999, "999 bit/s"}, {10485600, "10.5 Mbit/s"}, {1e9, "1 Gbit/s"}, {1.5e9, "1.50 Gbit/s"}, {123456789, "123 Mbit/s"}, {5e15, "5000 Tbit/s"}} {
		if got := FormatBits(tc.v); got != tc.want {
			t.Errorf("FormatBits(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{30 * time.Microsecond, "0.030 ms"}, {12 * time.Millisecond, "12.0 ms"}, {50 * time.Millisecond, "50.0 ms"}, {1500 * time.Millisecond, "1.50 s"}} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestParseBitrate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{in: "1000", want: 1000}, {in: "800k", want: 800e3}, {in: "10M", want: 10e6}, {in: "1.5G", want: 1.5e9},
		{in: "2T", want: 2e12}, {in: "10Mbit/s", want: 10e6}, {in: "10mbps", want: 10e6}, {in: " 5M ", want: 5e6}, {in: "100Mbit", want: 100e6},
		{in: "", err: true}, {in: "M", err: true}, {in: "0", err: true}, {in: "-5M", err: true}, {in: "1e9", err: true},
		{in: "fast", err: true}, {in: "NaN", err: true}, {in: "inf", err: true}, {in: "0x10", err: true}, {in: "2000T", err: true},
	} {
		got, err := ParseBitrate(tc.in)
		if (err != nil) != tc.err || (!tc.err && float64(got) != tc.want) {
			t.Errorf("ParseBitrate(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"1000", "800k", "10M", "1.5G", "10Mbit/s", "", "-1", "1e9", "NaN", "9999999T"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseBitrate(s)
		if err != nil {
			if !strings.Contains(err.Error(), "expected bits per second") {
				t.Fatalf("error without the expected form: %v", err)
			}
			return
		}
		if math.IsNaN(float64(v)) || v <= 0 || v > 1e15 {
			t.Fatalf("ParseBitrate(%q) = %v", s, v)
		}
	})
}

// TestValidate: every combination and value the options refuse, when
// parsed, whatever else is given; "no limit" is no --max-wscale, not -1.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"local with host", []string{"--local", "-H", "h", "-p", "1"}, "--local runs the local audit alone"},
		{"host and established", []string{"-H", "h", "-p", "1", "--established"}, "use one of them"},
		{"host without port", []string{"-H", "h"}, "-H h needs -p PORT"},
		{"port out of range", []string{"-H", "h", "-p", "70000"}, `invalid --port "70000": expected a TCP port from 1 to 65535`},
		{"port zero", []string{"-H", "h", "-p", "0"}, `invalid --port "0"`},
		{"both families", []string{"-H", "h", "-p", "1", "-4", "-6"}, "-4 and -6 exclude each other"},
		{"send without host", []string{"--send", "x"}, "belong to the live probe"},
		{"remote without established", []string{"--remote", "10.0.0.1"}, "--remote filters"},
		{"port alone", []string{"-p", "80"}, "-p needs -H HOST"},
		{"max wscale above 14", []string{"--max-wscale", "15"}, "invalid --max-wscale 15: expected 0-14"},
		{"max wscale -1", []string{"--max-wscale", "-1"}, "invalid --max-wscale -1: expected 0-14"},
		{"max wscale not a number", []string{"--max-wscale", "x"}, `"x" is not a whole number`},
		{"bad min window", []string{"--min-window", "-1"}, "invalid --min-window -1"},
		{"huge min window", []string{"--min-window", "1073741825"}, "invalid --min-window 1073741825"},
		{"bad host", []string{"-H", "a b", "-p", "1"}, `invalid host "a b"`},
		{"ok established filters", []string{"--established", "-p", "443", "--remote", "10.0.0.0/8"}, ""},
		{"ok max wscale 0", []string{"--local", "--max-wscale", "0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			_, err := flags.NewParser(&o, flags.PassDoubleDash).ParseArgs(tc.args)
			if err == nil {
				err = o.Validate()
			}
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		ti   linux.TCPInfo
		want Verdict
	}{
		{info(tsSack|linux.TCPIOptWscale, 7, 7, 100, time.Millisecond), Scaled},
		{info(tsSack, 0, 0, 64, time.Millisecond), Mangled},
		{info(tsSack, 0, 0, 8191, time.Millisecond), Mangled},
		{info(tsSack, 0, 0, 8192, time.Millisecond), Unscaled},
		{linux.TCPInfo{Options: tsSack, Len: 104}, Unscaled},
	} {
		if got := Classify(&tc.ti, 8192); got != tc.want {
			t.Errorf("Classify(options %#x, snd_wnd %d) = %d, want %d", tc.ti.Options, tc.ti.SndWnd, got, tc.want)
		}
	}
}

// TestAdvertisedWscaleMatchesKernel sets the buffer sysctls in a fresh
// network namespace and compares the wscale computed from them with the
// one the kernel puts into a real connection's SYN.
func TestAdvertisedWscaleMatchesKernel(t *testing.T) {
	testenv.Require(t, "netns")
	// net.core.rmem_max is global (not per namespace), so only a
	// tcp_rmem max above it changes the result; the last one hits the
	// 14 clamp.
	for _, rmem := range []string{"4096 65535 65535", "4096 131072 6291456", "4096 131072 16777216", "4096 131072 67108864", "4096 131072 1073741824"} {
		t.Run(rmem, func(t *testing.T) {
			ns := testenv.NewNetns(t, "twk")
			ns.Sysctl("net.ipv4.tcp_rmem", rmem)
			var computed int
			var got linux.TCPInfo
			var sys Sysctls
			err := ns.Do(func() error {
				var err error
				if sys, err = ReadSysctls(linux.Host); err != nil {
					return err
				}
				if strings.Join(strings.Fields(rmem), " ") != fmt.Sprint(sys.Rmem[0], sys.Rmem[1], sys.Rmem[2]) {
					return fmt.Errorf("tcp_rmem in the namespace is %v, set %s", sys.Rmem, rmem)
				}
				computed = AdvertisedWscale(sys)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				defer ln.Close()
				c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				rc, err := c.(*net.TCPConn).SyscallConn()
				if err != nil {
					return err
				}
				var ierr error
				if err := rc.Control(func(fd uintptr) { got, ierr = linux.SocketTCPInfo(fd) }); err != nil {
					return err
				}
				return ierr
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("tcp_rmem %s, rmem_max %d: computed %d, kernel rcv_wscale %d", rmem, sys.RmemMax, computed, got.RcvWscale)
			if !got.WscaleOK() || int(got.RcvWscale) != computed {
				t.Errorf("computed wscale %d, the kernel advertised %d (options %#x)", computed, got.RcvWscale, got.Options)
			}
		})
	}
}
