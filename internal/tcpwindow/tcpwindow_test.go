package tcpwindow

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
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

func baseConfig() Config {
	return Config{FS: linux.Host, RTT: 50 * time.Millisecond, MaxWscale: -1, MinWindow: 8192}
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
		maxW      int
		state     plugin.State
	}{
		{"local-default", "debian-default", -1, plugin.OK},
		{"local-disabled", "disabled", -1, plugin.Warning},
		{"local-max-wscale-exceeded", "large-buffers", 7, plugin.Warning},
		{"local-max-wscale-met", "debian-default", 7, plugin.OK},
		{"local-max-wscale-zero", "debian-default", 0, plugin.Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.FS, cfg.MaxWscale, cfg.Local = fixtureFS(tc.dir), tc.maxW, true
			res, err := Check(context.Background(), cfg, plugin.Env{})
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("TCP_WINDOW", res)
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
			cfg := baseConfig()
			cfg.MinThroughput = tc.minTP
			p := tc.p
			p.Remote, p.Connect, p.Expect = "192.0.2.10:443", 800*time.Microsecond, !tc.expect
			if tc.expect {
				cfg.Expect = "220 "
			}
			res := &plugin.Result{}
			judgeProbe(res, cfg, &p, tc.local)
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

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"local with host", func(c *Config) { c.Local, c.Host, c.Port = true, "h", 1 }, "--local runs the local audit alone"},
		{"host and established", func(c *Config) { c.Host, c.Port, c.Established = "h", 1, true }, "use one of them"},
		{"host without port", func(c *Config) { c.Host = "h" }, "-H h needs -p PORT"},
		{"port out of range", func(c *Config) { c.Host, c.Port = "h", 70000 }, "invalid port 70000"},
		{"both families", func(c *Config) { c.Host, c.Port, c.IPv4, c.IPv6 = "h", 1, true, true }, "-4 and -6 exclude each other"},
		{"send without host", func(c *Config) { c.Send = "x" }, "belong to the live probe"},
		{"remote without established", func(c *Config) { c.Remote = netip.MustParsePrefix("10.0.0.1/32") }, "--remote filters"},
		{"port alone", func(c *Config) { c.Port = 80 }, "-p needs -H HOST"},
		{"bad max wscale", func(c *Config) { c.MaxWscale = 15 }, "invalid --max-wscale 15: expected 0-14"},
		{"bad min window", func(c *Config) { c.MinWindow = -1 }, "invalid --min-window -1"},
		{"bad host", func(c *Config) { c.Host, c.Port = "a b", 1 }, `invalid host "a b"`},
		{"ok established filters", func(c *Config) { c.Established, c.Port, c.Remote = true, 443, netip.MustParsePrefix("10.0.0.0/8") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
			tc.edit(&c)
			err := c.validate()
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
