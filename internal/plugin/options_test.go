package plugin_test

import (
	"errors"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/opschecks/opschecks/internal/plugin"
)

const (
	pidExpected    = `: expected a process ID (a number greater than 0)`
	prefixExpected = `: expected an address or a CIDR such as 10.0.0.0/8 or fd00::/8`
)

func TestParsePID(t *testing.T) {
	for in, want := range map[string]plugin.PID{"1": 1, "1234": 1234, " 42 ": 42, "4194304": 4194304} {
		got, err := plugin.ParsePID(in)
		if err != nil || got != want {
			t.Errorf("ParsePID(%q) = %d, %v; want %d", in, got, err, want)
		}
		if m, _ := got.MarshalFlag(); err == nil && m != strings.TrimSpace(in) {
			t.Errorf("PID(%d).MarshalFlag() = %q", got, m)
		}
	}
	for _, in := range []string{"", "0", "-1", "abc", "1.5", "0x10", "12abc", "99999999999999999999"} {
		_, err := plugin.ParsePID(in)
		if want := `invalid --pid "` + in + `"` + pidExpected; err == nil || err.Error() != want {
			t.Errorf("ParsePID(%q) error %v; want %q", in, err, want)
		}
	}
	if err := plugin.InvalidPID("-3"); err.Error() != `invalid --pid "-3"`+pidExpected {
		t.Errorf("InvalidPID: %v", err)
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

// TestOptionErrorsAreNotWrapped: through go-flags, a bad --pid or
// --remote is our message alone (no "invalid argument for flag ...
// (expected T)"), and a leading "-" reaches our parser instead of being
// taken for an option.
func TestOptionErrorsAreNotWrapped(t *testing.T) {
	type opts struct {
		plugin.Common
		PID    plugin.PID      `long:"pid"`
		PIDs   []plugin.PID    `long:"pids"`
		Remote []plugin.Prefix `long:"remote"`
		Peer   plugin.Prefix   `long:"peer"`
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pid", "-1"}, `invalid --pid "-1"` + pidExpected},
		{[]string{"--pid", "0"}, `invalid --pid "0"` + pidExpected},
		{[]string{"--pid=abc"}, `invalid --pid "abc"` + pidExpected},
		{[]string{"--pids", "1", "--pids", "-7"}, `invalid --pid "-7"` + pidExpected},
		{[]string{"--pid", strings.Repeat("9", 100)}, `invalid --pid "` + strings.Repeat("9", 40) + `..."` + pidExpected},
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
	args := []string{"--pid", " 12 ", "--pids", "3", "--pids", "4", "--remote", "::ffff:10.1.2.3", "--remote", "fd00::1/8"}
	if _, err := plugin.NewParser(plugin.Spec{Name: "check_test", Label: "TEST"}, &o).ParseArgs(args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	if o.PID != 12 || len(o.PIDs) != 2 || o.PIDs[0] != 3 || o.PIDs[1] != 4 ||
		len(o.Remote) != 2 || o.Remote[0].String() != "10.1.2.3/32" || o.Remote[1].String() != "fd00::/8" {
		t.Errorf("%q parsed to %+v", args, o)
	}
}
