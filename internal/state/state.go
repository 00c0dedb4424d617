// Package state keeps the small per-instance state that rate checks need
// between runs: one JSON file per check instance, locked against
// concurrent runs of the same instance and rewritten in place under that
// lock (Save says why not by rename).
//
// Files: state.go holds the --state-dir option, the file (Open, Load,
// Save, Update) and its key; codec.go writes and reads Counters' JSON
// by hand (its measured reason is there); rate.go turns counters sampled on
// consecutive runs into per-second rates (Sample, the one helper every
// rate check uses) and decides once what a run without a usable
// previous sample reports (Rates.Pending).
package state

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	flags "github.com/jessevdk/go-flags"
	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/privilege"
)

// DefaultDir is where packages create the state directory.
const DefaultDir = "/var/lib/opschecks"

// Options is the --state-dir option; embed it in a rate check's options.
type Options struct {
	StateDir Dir `long:"state-dir" default:"/var/lib/opschecks" value-name:"DIR" description:"Directory for the small state file that per-second rates need (created 0700)"`
}

// Dir is a --state-dir value: a directory path, never empty.
type Dir string

// UnmarshalFlag implements go-flags' Unmarshaler: an empty value is
// refused when the options are parsed, whatever the mode, so a run that
// needs no rate refuses it as much as one that does.
func (d *Dir) UnmarshalFlag(s string) error {
	if strings.TrimSpace(s) == "" {
		return &flags.Error{Type: flags.ErrMarshal, Message: fmt.Sprintf("invalid --state-dir %q: expected a directory for the state file of the rates (the packages create %s)", s, DefaultDir)}
	}
	*d = Dir(s)
	return nil
}

// File is an open, locked state file. Close releases the lock.
type File struct {
	path string
	lock *os.File
}

// safeName replaces runs of characters that have no place in a file name.
func safeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 128 && (r == '.' || r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return b.String()
}

// Key builds the file name of an instance from the check name and what it
// checks (ports, hosts, pids...), so two services never share a file. The
// readable part is shortened; a hash of the full key keeps it unique: the
// first 48 bits of its FNV-1a hash. Until 2026-12-06 they were SHA-256's,
// but importing crypto/sha256 (Go's FIPS 140 module, whose DRBG, AES-GCM,
// SHA-3 and SHA-512 packages initialise at every start) cost every rate
// check 0.08-0.11 ms a run (check_conntrack 2.44 -> 2.33 ms, check_numa
// with rates 2.53 -> 2.45 ms, medians of 1,000 interleaved runs, loaded
// machine) for a file name, which needs no cryptographic strength: the key
// is the check's own configuration. The files of the older names are left
// behind, and each instance collects one baseline after the upgrade.
func Key(check string, parts ...string) string {
	h := fnv.New64a()
	h.Write([]byte(check + "\x00" + strings.Join(parts, "\x00")))
	sum := h.Sum(nil)
	readable := safeName(strings.Join(append([]string{check}, parts...), "_"))
	if len(readable) > 80 {
		readable = readable[:80]
	}
	return readable + "-" + hex.EncodeToString(sum[:6]) + ".json"
}

// Deadline is how long Open may wait for the lock: the check's context
// deadline, or five seconds for a context without one.
func Deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(5 * time.Second)
}

// Open creates dir (0700) when needed, then opens and locks the state file
// of the instance named by key. It waits for the lock until deadline.
func Open(dir Dir, key string, deadline time.Time) (*File, error) {
	if err := os.MkdirAll(string(dir), 0o700); err != nil {
		return nil, describe("create state directory "+string(dir), err)
	}
	path := filepath.Join(string(dir), key)
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, describe("open state lock "+path+".lock", err)
	}
	if err := ownLikeDir(lf, string(dir)); err != nil {
		lf.Close()
		return nil, describe("open state lock "+path+".lock", err)
	}
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			lf.Close()
			return nil, fmt.Errorf("cannot lock state file %s: another run of this check holds it (%v)", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &File{path: path, lock: lf}, nil
}

// Path is the state file's path.
func (f *File) Path() string { return f.path }

// Load reads the previous state into v. found is false when there was none
// yet; a file that cannot be decoded is reported through note and treated
// as absent, so the check re-baselines instead of failing.
func (f *File) Load(v any) (found bool, note string, err error) {
	b, err := readNoFollow(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", describe("read state file "+f.path, err)
	}
	if err := decode(b, v); err != nil {
		return false, fmt.Sprintf("state file %s was unreadable (%v), collecting a new baseline", f.path, err), nil
	}
	return true, "", nil
}

// Save writes the state into the file in place (mode 0600), under the
// lock Open took: no other run reads or writes it meanwhile, so it needs
// no temporary file and rename. Measured on ext4 (2026-12-06, 300
// iterations, medians): CreateTemp, write, rename and remove 80-130 us,
// pwrite and ftruncate of the same file 35-42 us; in a whole run of
// check_nginx_queue the state file took 237-267 us (10th percentile)
// with the rename and 105 us written in place. Measured again on the
// whole process (2026-12-06, 600 interleaved runs, loaded machine):
// check_conntrack with the rename 2.84 ms, written in place 2.41 ms,
// check_dummy 1.04 ms; the instructions are the same (callgrind), the
// difference is ext4's work for a new directory entry. There is no fsync
// either: it costs more than the rest of a check on a busy disk. A crash
// while writing can leave a damaged file, which Load reports and treats
// as absent (the next run re-baselines); a sample smaller than a disk
// block, the usual one, is written whole or not at all.
func (f *File) Save(v any) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	fd, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return describe("write state file "+f.path, err)
	}
	err = ownLikeDir(fd, filepath.Dir(f.path))
	if err == nil {
		_, err = fd.WriteAt(b, 0)
	}
	if err == nil {
		err = fd.Truncate(int64(len(b)))
	}
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return describe("write state file "+f.path, err)
	}
	return nil
}

// Update opens and locks the state file key under dir, loads the previous
// run's state (found is false when there is none; note says why when the
// file was unreadable and is treated as absent), and saves the state next
// returns; a nil one leaves the file as it is.
func Update[T any](dir Dir, key string, deadline time.Time, next func(prev *T, found bool, note string) *T) error {
	f, err := Open(dir, key, deadline)
	if err != nil {
		return err
	}
	defer f.Close()
	var prev T
	found, note, err := f.Load(&prev)
	if err != nil {
		return err
	}
	if n := next(&prev, found, note); n != nil {
		return f.Save(n)
	}
	return nil
}

// decode and encode call a state's own JSON methods directly when it has
// them (Counters does): through json.Unmarshal and json.Marshal the
// reflection around them cost a fresh process 30 us more (2026-12-06,
// 200 runs, 10th percentile: 47+21 us against 7+11+10 us for Valid,
// UnmarshalJSON and MarshalJSON).
func decode(b []byte, v any) error {
	if u, ok := v.(json.Unmarshaler); ok && json.Valid(b) {
		return u.UnmarshalJSON(b)
	}
	return json.Unmarshal(b, v)
}

func encode(v any) ([]byte, error) {
	if m, ok := v.(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	return json.Marshal(v)
}

// ownLikeDir gives f, a state file or lock, to the owner of its directory
// when root writes it into a directory root does not own: a check run by
// hand as root in the packages' /var/lib/opschecks (the nagios user's)
// left root's files there, and every later run of the service as nagios
// was UNKNOWN, "permission denied".
//
// Root also refuses a state file or lock that is not a plain file of its
// own name: the directory's owner could have made it a hard link to a
// file of root's (where fs.protected_hardlinks is 0), which root would
// then overwrite, or give away.
func ownLikeDir(f *os.File, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := plainFile(f); err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil || st.Uid == 0 {
		return err
	}
	return f.Chown(int(st.Uid), int(st.Gid))
}

// errNotPlain is a state file that is a hard link or no regular file.
var errNotPlain = errors.New("it is not a plain file (a hard link, or no regular file), which the check never writes as root (remove it)")

// plainFile refuses a regular file with more than one link, or anything
// else than a regular file.
func plainFile(f *os.File) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 {
		return errNotPlain
	}
	return nil
}

// readNoFollow reads a state file that is not a symbolic link. The state
// files and their lock are never followed: a check run by root (by hand,
// or through the sudoers rule) in a directory another user can write
// (the packages' /var/lib/opschecks belongs to nagios) would otherwise
// write its sample over whatever a planted link names, /etc/shadow
// included.
func readNoFollow(path string) ([]byte, error) {
	fd, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	if os.Geteuid() == 0 {
		if err := plainFile(fd); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(fd)
}

// Close releases the lock.
func (f *File) Close() error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close()
	f.lock = nil
	return err
}

func describe(what string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("cannot %s: it is a symbolic link, which the check never follows (remove it)", what)
	}
	if errors.Is(err, errNotPlain) {
		return fmt.Errorf("cannot %s: %v", what, err)
	}
	if c := privilege.Sudo(); c != nil && (errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)) {
		return fmt.Errorf("cannot %s: permission denied, through sudo the check writes its state with the rights of %s, who ran it: pass --state-dir with a directory %s can write (the packages create %s for the nagios user)", what, c.Name, c.Name, DefaultDir)
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("cannot %s: permission denied, run as the user that owns it (the packages create %s for the nagios user) or pass --state-dir with a directory this user can write", what, DefaultDir)
	}
	return fmt.Errorf("cannot %s: %v", what, err)
}
