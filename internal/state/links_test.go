package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/testenv"
)

// A state directory beside a root-only file a planted link could name:
// owner >= 0 gives the directory to that uid/gid (as /var/lib/opschecks
// is nagios').
func linkSetup(t *testing.T, owner int) (victim, dir string) {
	t.Helper()
	base := t.TempDir()
	victim = filepath.Join(base, "shadow")
	if err := os.WriteFile(victim, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if owner >= 0 {
		if err := os.Chown(dir, owner, owner); err != nil {
			t.Fatal(err)
		}
	}
	return victim, dir
}

// writeSample stores one sample under key in dir, as a rate check does.
func writeSample(dir, key string) error {
	return state.Update(state.Dir(dir), key, time.Now().Add(time.Second), func(prev *state.Counters, found bool, note string) *state.Counters {
		return &state.Counters{Time: time.Now(), Values: map[string]float64{"a": 1}}
	})
}

// TestSymlinksNeverFollowed: a state file or lock that is a symbolic
// link (planted by the user who owns the state directory, for a run as
// root) is refused, and what it names is left untouched.
func TestSymlinksNeverFollowed(t *testing.T) {
	key := state.Key("check_x", "1")
	for _, link := range []string{key, key + ".lock"} {
		victim, dir := linkSetup(t, -1)
		if err := os.Symlink(victim, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
		err := writeSample(dir, key)
		if err == nil || !strings.Contains(err.Error(), "it is a symbolic link, which the check never follows") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s a symlink: %v", link, err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "root:secret\n" {
			t.Errorf("%s a symlink: the file it names now holds %q", link, b)
		}
	}
}

// TestRootKeepsTheDirOwner: root writing into a state directory another
// user owns (the packages' /var/lib/opschecks is nagios') gives the files
// to that user, so that the service's next run can still use them.
func TestRootKeepsTheDirOwner(t *testing.T) {
	testenv.Root(t)
	_, dir := linkSetup(t, 65534)
	key := state.Key("check_x", "1")
	if err := writeSample(dir, key); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{key, key + ".lock"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: owner %d:%d mode %v, want 65534:65534 0600", name, st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
}

// TestRootRefusesHardLinks: a state file or lock that is a hard link (to
// a file of root's, where fs.protected_hardlinks allows it) is neither
// written nor given away by root.
func TestRootRefusesHardLinks(t *testing.T) {
	testenv.Root(t)
	key := state.Key("check_x", "1")
	for _, link := range []string{key, key + ".lock"} {
		victim, dir := linkSetup(t, 65534)
		if err := os.Link(victim, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
		err := writeSample(dir, key)
		if err == nil || !strings.Contains(err.Error(), "it is not a plain file (a hard link") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s a hard link: %v", link, err)
		}
		fi, err := os.Stat(victim)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "root:secret\n" || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s a hard link: the file it names holds %q, owner %d", link, b, fi.Sys().(*syscall.Stat_t).Uid)
		}
	}
}
