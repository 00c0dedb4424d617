package testenv

import (
	"testing"

	flags "github.com/jessevdk/go-flags"
)

// ParseOptions parses args into a new T, the options a domain package
// declares with go-flags tags, as its binary does (the tags' defaults
// apply), and runs T's Validate when it has one. A parse or validation
// error fails the test.
func ParseOptions[T any](t testing.TB, args ...string) *T {
	t.Helper()
	var o T
	if _, err := flags.NewParser(&o, flags.PassDoubleDash).ParseArgs(args); err != nil {
		t.Fatalf("options %q: %v", args, err)
	}
	if v, ok := any(&o).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			t.Fatalf("options %q: %v", args, err)
		}
	}
	return &o
}
