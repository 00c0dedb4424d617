package plugin

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// The perfdata label scheme (README, "Perfdata"). A label is one or more
// of a-z, 0-9, '_' and '-', and starts with a letter. Checks build a label
// that names an object (a listener, a member, a NUMA node) with Label, from
// the metric's name and the object's identity, never from its position in a
// list: the same object gets the same label tomorrow, whatever else appears
// or disappears, and two objects never share one.
//
// Why these characters, as the real consumers showed (tests in
// internal/testenv/consumers.go runs them):
//   - Icinga 2 (lib/icinga/pluginutility.cpp, SplitPerfdata) reads "::" in
//     a label as check_multi's separator and prefixes every later label
//     with what came before it, so '[::1]:8080_queue' renamed every metric
//     after it to '[::somaxconn', '[::listen_drops_total'...
//   - Icinga 2's GraphiteWriter (EscapeMetricLabel) keeps '.' in labels and
//     turns "::" into '.', so an address or a host name becomes several
//     levels of the Graphite tree; ' ', '/' and '\' become '_'.
//   - Nagios 4 strips illegal_macro_output_chars (Debian: `~$&|'"<>) from
//     $SERVICEPERFDATA$ when it passes it to a command (the perfdata
//     command of PNP4Nagios' synchronous mode): quotes vanish, and a label
//     with a space then splits in two.
//   - Graphios keeps the quotes of a quoted label in every Graphite path.
//
// A label of the scheme never needs quotes, so none are printed (the
// guidelines make them optional). Lowercase only, so that a label is unique
// for consumers that fold case, and a host name written in another case is
// the same label.

// Label joins parts into a perfdata label: the metric name first, then the
// parts that identify the object, separated by '_'. A part that is an IP
// address is written as addrPart does; in any other part every character
// outside a-z, 0-9, '_' and '-' becomes '-' (so 'db1.example.com' is
// 'db1-example-com') and letters are lowercased. Empty parts are left out.
// Use Endpoint for a "host:port" part.
//
//	Label("queue", Endpoint("0.0.0.0:8080"))         queue_8080
//	Label("queue", Endpoint("[::1]:8080"))           queue_ip6--1_8080
//	Label("lag", Endpoint("db1.example.com:27017"))  lag_db1-example-com_27017
//	Label("node", "0", "free")                       node_0_free
//
// The result is checked when the output is rendered; a label outside the
// scheme (a first part that does not start with a letter) makes the run
// UNKNOWN rather than reach a consumer.
func Label(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		s := labelPart(p)
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(s)
	}
	return b.String()
}

// Endpoint returns the label part of an endpoint written host:port (a
// MongoDB member name, a listening address): the host as Label writes it,
// '_', the port. Without a port (or unparsable) the whole is one part.
//
//	db1.example.com:27017  db1-example-com_27017
//	127.0.0.1:8080         127-0-0-1_8080
//	0.0.0.0:80             80        (the IPv4 wildcard is left out)
//	[::]:80                ip6_80    (the IPv6 wildcard)
//	[fe80::1%eth0]:80      ip6-fe80--1_eth0_80
func Endpoint(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return labelPart(hostport)
	}
	return Label(host, port)
}

func labelPart(p string) string {
	if a, err := netip.ParseAddr(p); err == nil {
		return addrPart(a)
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, p)
}

// addrPart writes an IP address with label characters only, one address
// one spelling: IPv4 with '-' for '.', IPv4-mapped IPv6 as the IPv4
// address, other IPv6 as "ip6" and the RFC 5952 form with '-' for ':'
// (a '-' after "ip6" unless the form starts with "::"), the zone after
// '_'. The IPv4 wildcard 0.0.0.0 is the empty part (nginx's plain
// `listen 80`, the common case, is then 'queue_80'); the IPv6 wildcard is
// "ip6".
func addrPart(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.Is4() && a.IsUnspecified():
		return ""
	case a.Is4():
		return strings.ReplaceAll(a.String(), ".", "-")
	case a.IsUnspecified() && a.Zone() == "":
		return "ip6"
	}
	s := strings.ReplaceAll(a.WithZone("").String(), ":", "-")
	if !strings.HasPrefix(s, "-") {
		s = "-" + s
	}
	s = "ip6" + s
	if z := a.Zone(); z != "" {
		s += "_" + labelPart(z)
	}
	return s
}

// checkLabel reports why l is not a label of the scheme (nil if it is).
func checkLabel(l string) error {
	if l == "" {
		return fmt.Errorf("perfdata label is empty")
	}
	if l[0] < 'a' || l[0] > 'z' {
		return fmt.Errorf("perfdata label %q does not start with a lowercase letter", l)
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("perfdata label %q holds %q: only a-z, 0-9, '_' and '-' are allowed", l, c)
		}
	}
	return nil
}
