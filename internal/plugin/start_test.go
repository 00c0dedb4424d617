package plugin

import (
	"testing"
	"time"
)

// initialised when this package's variables are, after the process
// started: sinceStart must count at least from then.
var packageInit = time.Now()

// TestSinceStart: the process's age from /proc/self/stat is at least the
// time since this package's initialisation and not much more; field 22 is
// found after a command name with spaces and parentheses.
func TestSinceStart(t *testing.T) {
	lower := time.Since(packageInit)
	d, ok := sinceStart()
	upper := time.Since(packageInit)
	if !ok || d < lower || d > upper+5*time.Second {
		t.Errorf("sinceStart() = %v, %v; the package was initialised %v-%v ago", d, ok, lower, upper)
	}
	line := "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615\n"
	if v, ok := statStartTime([]byte(line)); !ok || v != 98765 {
		t.Errorf("statStartTime = %d, %v; want 98765", v, ok)
	}
	if _, ok := statStartTime([]byte("4242 (short) S 1 2")); ok {
		t.Error("statStartTime of a short line: ok")
	}
}
