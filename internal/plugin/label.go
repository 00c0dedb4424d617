package plugin

import (
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"strings"
)

// The perfdata label scheme (README, "Perfdata"). A label is one or more
// of A-Z, a-z, 0-9, '_' and '-', and starts with a letter. Checks build a
// label that names an object (a listener, a member, a collection, a NUMA
// node) with Label, from the metric's name and the object's identity,
// never from its position in a list: the same object gets the same label
// tomorrow, whatever else appears or disappears, and two objects never
// share one.
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
// guidelines make them optional).
//
// Why a label is written as it is. An identity (a collection name, a host
// name, a serverStatus path) holds characters the scheme lacks, and any
// mapping that writes two characters the same way (the first version
// wrote every one of them '-' and lowered the case) gives two objects one
// label: app.users and app.Users, or app.a.b and app.a-b, both became
// chunks_app-users..., and the run ended UNKNOWN "duplicate perfdata
// label". So the writing is exact where it can be, and marked where it
// cannot:
//   - Letters keep their case: collection and database names are
//     case-sensitive, and every consumer we test (Icinga 2 and its
//     writers, Nagios 4, Graphite's paths) keeps a label's case. Host
//     names are written in lower case by Endpoint, since DNS names are
//     case-insensitive: DB1 and db1 are one host, so one label.
//   - The parts of a label are separated by '_'. A dotted name (a host
//     name, a namespace db.collection, a serverStatus path) is given as
//     its parts (Split), so its dots become that '_':
//     lag_db1_example_com_27017, chunks_app_users_shard01.
//   - A part made of letters, digits and '-' only is written as it is. Any
//     other part (a '_' or '.' inside it, a space, a non-ASCII letter) is
//     written with '-' for each such character, and then '-' and six
//     characters of a hash of the exact part (FNV-1a 64, base32): the
//     same name always gets the same suffix, and two names the writing
//     could not tell apart get two. app.user_events is
//     app_user-events-XXXXXX. An IP address has one spelling of its own
//     (addrParts), so it needs none.
//
// Exact parts hold no '_', and marked ones carry their hash, so two
// different identities of one metric get two labels unless two hashes of
// 30 bits meet; the runtime refuses a duplicate label in any case
// (UNKNOWN "internal error"), so even that never corrupts a graph.

// Label joins the metric's name and the parts that identify the object
// into a perfdata label, separated by '_'. The metric is written as it is
// (a name the check chose, of the scheme); each part is written as the
// scheme above says; a label over maxLabel bytes is cut (bounded). Give
// a dotted name as Split(name, ".")... and an endpoint as
// Endpoint(hostport)....
//
//	Label("queue", Endpoint("0.0.0.0:8080")...)         queue_8080
//	Label("queue", Endpoint("[::1]:8080")...)           queue_ip6--1_8080
//	Label("lag", Endpoint("db1.example.com:27017")...)  lag_db1_example_com_27017
//	Label("imbalance", Split("app.Users", ".")...)      imbalance_app_Users
//	Label("collections", "user_data")                   collections_user-data-XXXXXX
//
// The result is checked when the output is rendered; a label outside the
// scheme (a metric that does not start with a letter) makes the run
// UNKNOWN rather than reach a consumer.
func Label(metric string, parts ...string) string {
	if len(parts) == 0 {
		return bounded(metric)
	}
	return bounded(metric + "_" + name(parts))
}

// Name writes parts as Label writes them after the metric, for a label
// made of an identity alone (check_mongodb's server-status labels its
// metric by the serverStatus path: Name(Split(path, ".")...)).
func Name(parts ...string) string { return bounded(name(parts)) }

func name(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('_')
		}
		b.WriteString(labelPart(p))
	}
	return b.String()
}

// maxLabel bounds a label's length in bytes. Graphite's carbon stores a
// metric as a directory per path component, the label among them
// (GraphiteWriter: <prefix>.perfdata.<label>.value), and PNP4Nagios, set
// to one RRD file per metric, names it <service>_<label>.rrd; ext4 and
// XFS refuse a name over 255 bytes (ENAMETOOLONG), so a longer label is a
// metric that is never stored. Labels of ordinary identities fit; one of
// an extraordinary identity (a namespace near MongoDB's 255-byte limit, a
// long serverStatus path given with --field) is cut.
const maxLabel = 200

// bounded returns a label cut to maxLabel bytes: its first 193 bytes,
// '-' and the hash of the whole label (partHash), so a cut label stays
// as unique as the whole one was. A label is ASCII, so the cut never
// splits a character.
func bounded(l string) string {
	if len(l) <= maxLabel {
		return l
	}
	return l[:maxLabel-7] + "-" + partHash(l)
}

// Split returns the parts of a name separated by sep (a namespace or a
// host name by ".", a column name by "_"), for Label, which then writes
// the separator as '_'. A name with an empty part (a leading, trailing or
// doubled separator) stays one part, so that the parts always join back
// into the name.
func Split(name, sep string) []string {
	parts := strings.Split(name, sep)
	for _, p := range parts {
		if p == "" {
			return []string{name}
		}
	}
	return parts
}

// Endpoint returns the label parts of an endpoint written host:port (a
// MongoDB member name, a listening address): an IP address in its own
// spelling (addrParts), a host name in lower case split at its dots, then
// the port. Anything else (no port, a port that is not a number) is one
// marked part (see Label), so it never takes the label of an endpoint.
//
//	db1.example.com:27017  db1 example com 27017
//	127.0.0.1:8080         127-0-0-1 8080
//	0.0.0.0:80             80                  (the IPv4 wildcard is left out)
//	[::]:80                ip6 80              (the IPv6 wildcard)
//	[fe80::1%eth0]:80      ip6-fe80--1 eth0 80
func Endpoint(hostport string) []string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" || strings.Trim(port, "0123456789") != "" {
		return []string{markedPart(hostport)}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return append(addrParts(a), port)
	}
	host = strings.ToLower(host)
	parts := Split(host, ".")
	if looksLikeAddr(parts[0]) {
		// A host name spelled as an address would be (a host named
		// 127-0-0-1, or ip6-fe80--1): one marked part, so it never
		// takes that address's label.
		return []string{markedPart(host), port}
	}
	return append(parts, port)
}

// labelPart writes one part: as it is when it holds only letters, digits
// and '-', else marked (markedPart).
func labelPart(p string) string {
	if p != "" && strings.Trim(p, exactChars) == "" {
		return p
	}
	return markedPart(p)
}

const exactChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"

// markedPart writes p with '-' for each character outside letters,
// digits and '-', then '-' and six characters of the hash of p.
func markedPart(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r < 0x80 && strings.IndexByte(exactChars, byte(r)) >= 0 {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	b.WriteByte('-')
	b.WriteString(partHash(p))
	return b.String()
}

// partHash is the top 30 bits of FNV-1a 64 of p in six characters of
// the RFC 4648 base32 alphabet, lower case: stable across runs, versions
// and machines (FNV is a fixed algorithm), short enough to stay out of
// the way of the readable part.
func partHash(p string) string {
	h := fnv.New64a()
	h.Write([]byte(p))
	sum := h.Sum64()
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out [6]byte
	for i := range out {
		out[i] = alphabet[sum>>(59-5*i)&31]
	}
	return string(out[:])
}

// looksLikeAddr reports whether a host name's first part is spelled as
// addrPart spells an address: four groups of digits joined by '-', or
// "ip6" alone or followed by '-' and hex digits and '-'.
func looksLikeAddr(s string) bool {
	if s == "ip6" {
		return true
	}
	if rest, ok := strings.CutPrefix(s, "ip6-"); ok {
		return strings.Trim(rest, "0123456789abcdef-") == ""
	}
	groups := strings.Split(s, "-")
	if len(groups) != 4 {
		return false
	}
	for _, g := range groups {
		if g == "" || strings.Trim(g, "0123456789") != "" {
			return false
		}
	}
	return true
}

// addrParts writes an IP address with label characters only, one address
// one spelling: IPv4 with '-' for '.', IPv4-mapped IPv6 as the IPv4
// address, other IPv6 as "ip6" and the RFC 5952 form with '-' for ':'
// (a '-' after "ip6" unless the form starts with "::"), the zone as a
// part of its own. The IPv4 wildcard 0.0.0.0 has no part (nginx's plain
// `listen 80`, the common case, is then 'queue_80'); the IPv6 wildcard is
// "ip6".
func addrParts(a netip.Addr) []string {
	a = a.Unmap()
	switch {
	case a.Is4() && a.IsUnspecified():
		return nil
	case a.Is4():
		return []string{strings.ReplaceAll(a.String(), ".", "-")}
	case a.IsUnspecified() && a.Zone() == "":
		return []string{"ip6"}
	}
	s := strings.ReplaceAll(a.WithZone("").String(), ":", "-")
	if !strings.HasPrefix(s, "-") {
		s = "-" + s
	}
	parts := []string{"ip6" + s}
	if z := a.Zone(); z != "" {
		parts = append(parts, z)
	}
	return parts
}

// checkLabel reports why l is not a label of the scheme (nil if it is).
func checkLabel(l string) error {
	if l == "" {
		return fmt.Errorf("perfdata label is empty")
	}
	if len(l) > maxLabel {
		return fmt.Errorf("perfdata label %q is longer than %d bytes", l[:maxLabel]+"...", maxLabel)
	}
	if c := l[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return fmt.Errorf("perfdata label %q does not start with a letter", l)
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("perfdata label %q holds %q: only letters, digits, '_' and '-' are allowed", l, c)
		}
	}
	return nil
}
