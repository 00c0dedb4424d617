package nginx

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Listener is one listening address as the kernel reports it. Several
// sockets can listen on one address (nginx's "reuseport" makes one per
// worker); the listener then shows the fullest of them.
type Listener struct {
	Addr    netip.AddrPort
	Queue   uint32 // connections waiting for accept() (idiag_rqueue)
	Backlog uint32 // effective backlog, min(listen backlog, somaxconn) (idiag_wqueue)
	Sockets int
	// SynRecv are the half-open connections to the address (request
	// sockets in SYN_RECV), when counted (--syn-recv).
	SynRecv int
}

// Fill is the accept queue against the backlog in percent. The kernel lets
// the queue reach backlog+1, so a full queue shows slightly over 100.
func (l Listener) Fill() float64 {
	return float64(l.Queue) * 100 / float64(max(l.Backlog, 1))
}

// Name is how the listener appears in output.
func (l Listener) Name() string { return l.Addr.String() }

// Selector says which listeners the check looks at.
type Selector struct {
	Ports   []uint16
	Listens []netip.AddrPort
	Inodes  map[uint64]bool // nil: any socket; else only these (a process's)
}

// Wants reports whether a listening socket on addr with inode is selected.
func (s Selector) Wants(addr netip.AddrPort, inode uint64) bool {
	if s.Inodes != nil && !s.Inodes[inode] {
		return false
	}
	if len(s.Ports) == 0 && len(s.Listens) == 0 {
		return true
	}
	for _, p := range s.Ports {
		if addr.Port() == p {
			return true
		}
	}
	for _, l := range s.Listens {
		if Serves(addr, l) {
			return true
		}
	}
	return false
}

// Serves reports whether a socket listening on sock accepts connections
// for want: the same address, or a wildcard address of the same port
// (0.0.0.0 for IPv4, :: for both, as with the default bindv6only=0).
func Serves(sock, want netip.AddrPort) bool {
	if sock.Port() != want.Port() {
		return false
	}
	a, w := sock.Addr().Unmap(), want.Addr().Unmap()
	switch {
	case a == w:
		return true
	case a.IsUnspecified() && a.Is6():
		return true
	case a.IsUnspecified() && a.Is4():
		return w.Is4()
	}
	return false
}

// Missing returns, in the order given, the requested ports and addresses
// that none of the listeners serves.
func (s Selector) Missing(ls []Listener) []string {
	var out []string
	for _, p := range s.Ports {
		found := false
		for _, l := range ls {
			found = found || l.Addr.Port() == p
		}
		if !found {
			out = append(out, "port "+strconv.Itoa(int(p)))
		}
	}
	for _, want := range s.Listens {
		found := false
		for _, l := range ls {
			found = found || Serves(l.Addr, want)
		}
		if !found {
			out = append(out, want.String())
		}
	}
	return out
}

// Group merges the sockets of one address into one Listener that shows
// the fullest socket, and sorts by address.
func Group(socks []linux.Socket) []Listener {
	by := map[netip.AddrPort]*Listener{}
	for _, s := range socks {
		addr := netip.AddrPortFrom(s.Src.Addr().Unmap(), s.Src.Port())
		l := by[addr]
		if l == nil {
			l = &Listener{Addr: addr}
			by[addr] = l
		}
		l.Sockets++
		cand := Listener{Queue: s.RQueue, Backlog: s.WQueue}
		if l.Sockets == 1 || cand.Fill() > l.Fill() {
			l.Queue, l.Backlog = s.RQueue, s.WQueue
		}
	}
	out := make([]Listener, 0, len(by))
	for _, l := range by {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Addr, out[j].Addr
		if a.Port() != b.Port() {
			return a.Port() < b.Port()
		}
		return a.Addr().Less(b.Addr())
	})
	return out
}

// ListenSockets asks the kernel (sock_diag, LISTEN sockets only) for the
// selected listening sockets, in the network namespace nsfd (0: ours).
func ListenSockets(ctx context.Context, nsfd int, sel Selector) ([]linux.Socket, error) {
	var out []linux.Socket
	err := linux.DumpTCP(ctx, linux.Query{States: linux.StateMask(linux.TCPListen), NetNSFD: nsfd}, func(s *linux.Socket) error {
		if s.State == linux.TCPListen && sel.Wants(s.Src, s.Inode) {
			out = append(out, s.Clone())
		}
		return nil
	})
	return out, err
}

// CountSynRecv asks the kernel (sock_diag, SYN_RECV sockets only) for
// the half-open connections in the network namespace nsfd and adds each
// to the listener it arrived at (ListenerFor). The kernel keeps request
// sockets in the established hash, so this request walks every TCP
// connection of the host, as ss -tn state syn-recv does: unlike the
// LISTEN dump, its cost grows with the number of connections.
func CountSynRecv(ctx context.Context, nsfd int, ls []Listener) error {
	return linux.DumpTCP(ctx, linux.Query{States: linux.StateMask(linux.TCPSynRecv), NetNSFD: nsfd}, func(s *linux.Socket) error {
		if s.State != linux.TCPSynRecv {
			return nil
		}
		if i := ListenerFor(ls, s.Src); i >= 0 {
			ls[i].SynRecv++
		}
		return nil
	})
}

// ListenerFor returns the index of the listener that receives
// connections to local, or -1: a listener on that very address, else
// the wildcard of its family (0.0.0.0), else the IPv6 wildcard (::, which
// takes IPv4 too), as the kernel's listener lookup prefers the most
// specific socket.
func ListenerFor(ls []Listener, local netip.AddrPort) int {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	best, rank := -1, 0
	for i, l := range ls {
		if l.Addr.Port() != local.Port() || !Serves(l.Addr, local) {
			continue
		}
		r := 1 // the IPv6 wildcard
		switch {
		case l.Addr.Addr() == local.Addr():
			r = 3
		case l.Addr.Addr().Is4():
			r = 2
		}
		if r > rank {
			best, rank = i, r
		}
	}
	return best
}

// ParseListen parses a --listen value: ADDR:PORT, [IPv6]:PORT, or
// *:PORT / 0.0.0.0:PORT for the wildcard.
func ParseListen(s string) (netip.AddrPort, error) {
	v := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(v, "*:"); ok {
		v = "0.0.0.0:" + rest
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil || ap.Port() == 0 {
		return netip.AddrPort{}, plugin.OptionError("invalid --listen %q: expected ADDR:PORT such as 127.0.0.1:8080, [::1]:8080 or *:80", plugin.Clip(s, 40))
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// String helps tests print a listener.
func (l Listener) String() string {
	return fmt.Sprintf("%s %d/%d (%d sockets)", l.Addr, l.Queue, l.Backlog, l.Sockets)
}
