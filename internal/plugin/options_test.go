package plugin_test

import (
	"errors"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/opschecks/opschecks/internal/plugin"
)

const (
	portExpected   = `: expected a TCP port from 1 to 65535`
	prefixExpected = `: expected an address or a CIDR such as 10.0.0.0/8 or fd00::/8`
)

func TestParsePort(t *testing.T) {
	for in, want := range map[string]plugin.Port{"1": 1, "5432": 5432, " 80 ": 80, "65535": 65535} {
		got, err := plugin.ParsePort(in)
		if err != nil || got != want {
			t.Errorf("ParsePort(%q) = %d, %v; want %d", in, got, err, want)
		}
		if m, _ := got.MarshalFlag(); err == nil && m != strings.TrimSpace(in) {
			t.Errorf("Port(%d).MarshalFlag() = %q", got, m)
		}
	}
	for _, in := range []string{"", "0", "-1", "65536", "http", "1.5", "0x10", "99999999999999999999"} {
		_, err := plugin.ParsePort(in)
		if want := `invalid --port "` + in + `"` + portExpected; err == nil || err.Error() != want {
			t.Errorf("ParsePort(%q) error %v; want %q", in, err, want)
		}
	}
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"1", "65535", "0", "65536", " 80 ", "-1", "+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := plugin.ParsePort(s)
		if err == nil && p == 0 {
			t.Fatalf("%q parsed to port 0", s)
		}
		if _, perr := plugin.ParsePrefix(s); err == nil && perr == nil && !strings.ContainsAny(s, ".:") {
			t.Fatalf("%q is both a port and a prefix", s)
		}
	})
}

// TestInt: a whole number, a negative one too (its range is the check's
// Validate), anything else refused with the value quoted.
func TestInt(t *testing.T) {
	var n plugin.Int
	for in, want := range map[string]plugin.Int{"0": 0, "-1": -1, " 14 ": 14} {
		if err := n.UnmarshalFlag(in); err != nil || n != want {
			t.Errorf("Int %q = %d, %v", in, n, err)
		}
	}
	for _, in := range []string{"", "x", "1.5", "99999999999999999999"} {
		if err := n.UnmarshalFlag(in); err == nil || !strings.Contains(err.Error(), "is not a whole number") {
			t.Errorf("Int %q: %v", in, err)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":             "10.0.0.0/8",
		"10.1.2.3/8":             "10.0.0.0/8", // host bits masked
		"192.0.2.7":              "192.0.2.7/32",
		" 192.0.2.7 ":            "192.0.2.7/32",
		"0.0.0.0/0":              "0.0.0.0/0",
		"fd00::/8":               "fd00::/8",
		"fd12:3456::1/16":        "fd12::/16",
		"::1":                    "::1/128",
		"::ffff:10.0.0.1":        "10.0.0.1/32", // IPv4-mapped: unmapped
		"::ffff:192.0.2.200":     "192.0.2.200/32",
		"2001:db8::1":            "2001:db8::1/128",
		"2001:db8:ffff::/32":     "2001:db8::/32",
		"10.255.255.255/32":      "10.255.255.255/32",
		"fe80::1234:5678:9abc:1": "fe80::1234:5678:9abc:1/128",
	} {
		got, err := plugin.ParsePrefix(in)
		if err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
			continue
		}
		if m, _ := got.MarshalFlag(); m != want {
			t.Errorf("ParsePrefix(%q).MarshalFlag() = %q; want %q", in, m, want)
		}
	}
	for _, in := range []string{
		"", "0", "-1", "abc", "10.0.0.0/33", "::/129", "10.0.0.300", "10.0.0.0/", "/8",
		"fe80::1%eth0", "fe80::1%eth0/64", "10.0.0.1-10.0.0.9", "nowhere",
	} {
		_, err := plugin.ParsePrefix(in)
		if want := `invalid --remote "` + in + `"` + prefixExpected; err == nil || err.Error() != want {
			t.Errorf("ParsePrefix(%q) error %v; want %q", in, err, want)
		}
	}
	if m, _ := (plugin.Prefix{}).MarshalFlag(); m != "" {
		t.Errorf("zero Prefix marshals to %q", m)
	}
}

// TestOptionErrorsAreNotWrapped: through go-flags, a bad --port or
// --remote is our message alone (no "invalid argument for flag ...
// (expected T)"), and a leading "-" reaches our parser instead of being
// taken for an option.
func TestOptionErrorsAreNotWrapped(t *testing.T) {
	type opts struct {
		plugin.Common
		Port   plugin.Port     `long:"port"`
		Ports  []plugin.Port   `long:"ports"`
		Remote []plugin.Prefix `long:"remote"`
		Peer   plugin.Prefix   `long:"peer"`
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "-1"}, `invalid --port "-1"` + portExpected},
		{[]string{"--port", "0"}, `invalid --port "0"` + portExpected},
		{[]string{"--port=abc"}, `invalid --port "abc"` + portExpected},
		{[]string{"--ports", "1", "--ports", "70000"}, `invalid --port "70000"` + portExpected},
		{[]string{"--port", strings.Repeat("9", 100)}, `invalid --port "` + strings.Repeat("9", 40) + `..."` + portExpected},
		// Only a single value: go-flags asks a slice, not its elements,
		// whether "-1" is a value, and a []Prefix is no signed number.
		{[]string{"--peer", "-1"}, `invalid --remote "-1"` + prefixExpected},
		{[]string{"--remote", "10.0.0.0/8", "--remote", "10.0.0.0/33"}, `invalid --remote "10.0.0.0/33"` + prefixExpected},
	} {
		var o opts
		_, err := plugin.NewParser(plugin.Spec{Name: "check_test", Label: "TEST"}, &o).ParseArgs(c.args)
		var fe *flags.Error
		if !errors.As(err, &fe) || fe.Message != c.want {
			t.Errorf("%q: error %v; want %q", c.args, err, c.want)
		}
	}

	var o opts
	args := []string{"--port", " 12 ", "--ports", "3", "--ports", "4", "--remote", "::ffff:10.1.2.3", "--remote", "fd00::1/8"}
	if _, err := plugin.NewParser(plugin.Spec{Name: "check_test", Label: "TEST"}, &o).ParseArgs(args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	if o.Port != 12 || len(o.Ports) != 2 || o.Ports[0] != 3 || o.Ports[1] != 4 ||
		len(o.Remote) != 2 || o.Remote[0].String() != "10.1.2.3/32" || o.Remote[1].String() != "fd00::/8" {
		t.Errorf("%q parsed to %+v", args, o)
	}
}
