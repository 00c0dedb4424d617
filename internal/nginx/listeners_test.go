package nginx

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/linux"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestServes(t *testing.T) {
	for _, tc := range []struct {
		sock, want string
		ok         bool
	}{
		{"127.0.0.1:80", "127.0.0.1:80", true},
		{"127.0.0.1:80", "127.0.0.1:81", false},
		{"127.0.0.1:80", "127.0.0.2:80", false},
		{"0.0.0.0:80", "127.0.0.2:80", true},
		{"0.0.0.0:80", "[::1]:80", false},
		{"[::]:80", "[::1]:80", true},
		{"[::]:80", "10.0.0.1:80", true}, // bindv6only=0 serves IPv4 too
		{"[::1]:80", "127.0.0.1:80", false},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1:80", true},
	} {
		if got := Serves(ap(tc.sock), ap(tc.want)); got != tc.ok {
			t.Errorf("Serves(%s, %s) = %v, want %v", tc.sock, tc.want, got, tc.ok)
		}
	}
}

func TestSelector(t *testing.T) {
	socks := []struct {
		addr  string
		inode uint64
	}{{"127.0.0.1:8080", 1}, {"[::]:443", 2}, {"10.1.1.1:22", 3}}
	for _, tc := range []struct {
		name    string
		sel     Selector
		want    []uint64
		missing []string
	}{
		{"ports", Selector{Ports: []uint16{8080, 443, 9}}, []uint64{1, 2}, []string{"port 9"}},
		{"listen", Selector{Listens: []netip.AddrPort{ap("127.0.0.1:443"), ap("127.0.0.1:8080"), ap("127.0.0.2:8080")}}, []uint64{1, 2}, []string{"127.0.0.2:8080"}},
		{"inodes", Selector{Inodes: map[uint64]bool{2: true, 3: true}}, []uint64{2, 3}, nil},
		{"inodes and port", Selector{Inodes: map[uint64]bool{2: true, 3: true}, Ports: []uint16{8080}}, nil, []string{"port 8080"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			var ls []linux.Socket
			for _, s := range socks {
				if tc.sel.Wants(ap(s.addr), s.inode) {
					got = append(got, s.inode)
					ls = append(ls, linux.Socket{Src: ap(s.addr), Inode: s.inode})
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
			if m := tc.sel.Missing(Group(ls)); !reflect.DeepEqual(m, tc.missing) {
				t.Errorf("missing %q, want %q", m, tc.missing)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	// Three reuseport sockets on one address: the fullest one counts.
	got := Group([]linux.Socket{
		{Src: ap("[::]:80"), RQueue: 0, WQueue: 511},
		{Src: ap("0.0.0.0:80"), RQueue: 3, WQueue: 511},
		{Src: ap("0.0.0.0:80"), RQueue: 9, WQueue: 8},
		{Src: ap("0.0.0.0:80"), RQueue: 100, WQueue: 4096},
		{Src: ap("127.0.0.1:22"), RQueue: 0, WQueue: 0},
	})
	want := []Listener{
		{Addr: ap("127.0.0.1:22"), Queue: 0, Backlog: 0, Sockets: 1},
		{Addr: ap("0.0.0.0:80"), Queue: 9, Backlog: 8, Sockets: 3},
		{Addr: ap("[::]:80"), Queue: 0, Backlog: 511, Sockets: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if f := got[1].Fill(); f != 112.5 {
		t.Fatalf("fill %v, want 112.5 (the queue reaches backlog+1)", f)
	}
	if f := (Listener{Queue: 1}).Fill(); f != 100 {
		t.Fatalf("fill with backlog 0 is %v, want 100", f)
	}
}

func TestParseListen(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"[::1]:443", "[::1]:443", ""},
		{"*:80", "0.0.0.0:80", ""},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80", ""},
		{"localhost:80", "", "expected ADDR:PORT"},
		{"127.0.0.1", "", "expected ADDR:PORT"},
		{"127.0.0.1:0", "", "expected ADDR:PORT"},
		{"127.0.0.1:70000", "", "expected ADDR:PORT"},
	} {
		got, err := ParseListen(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseListen(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseListen(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestListenerFor(t *testing.T) {
	ls := []Listener{{Addr: ap("0.0.0.0:80")}, {Addr: ap("127.0.0.1:80")}, {Addr: ap("[::]:80")}, {Addr: ap("[::]:443")}, {Addr: ap("10.0.0.1:8080")}}
	for _, tc := range []struct {
		local string
		want  int
	}{
		{"127.0.0.1:80", 1},         // the listener on that address
		{"10.1.2.3:80", 0},          // the IPv4 wildcard before the IPv6 one
		{"[::1]:80", 2},             // IPv6: the IPv6 wildcard
		{"[::ffff:10.1.2.3]:80", 0}, // a mapped address is its IPv4 address
		{"10.1.2.3:443", 3},         // only the IPv6 wildcard serves 443
		{"10.0.0.2:8080", -1},       // no wildcard on 8080
		{"10.0.0.1:8080", 4},
		{"127.0.0.1:81", -1},
	} {
		if got := ListenerFor(ls, ap(tc.local)); got != tc.want {
			t.Errorf("ListenerFor(%s) = %d, want %d", tc.local, got, tc.want)
		}
	}
}
