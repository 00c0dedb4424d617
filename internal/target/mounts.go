package target

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/privilege"
)

// Mounts is the options --procfs and --sysfs: where proc and sysfs are
// mounted, as node_exporter's --path.procfs and procfs.NewFS take them (a
// container that sees the host's at /host/proc, a fixture tree in tests).
// --procfs-root and --sysfs-root, the old options naming the directory
// that holds proc/ and sys/, are still taken for one release.
//
// --procfs and --sysfs have no default tag: their defaults, /proc and
// /sys, are applied by FS (linux.NewFS), so that an empty field means "not given" (the
// runtime refuses an empty value given) and Validate can refuse an old
// option given with its new one even when the new one names the default
// (--procfs /proc --procfs-root /host).
type Mounts struct {
	Procfs     string `long:"procfs" value-name:"DIR" description:"Where procfs is mounted (default /proc)"`
	Sysfs      string `long:"sysfs" value-name:"DIR" description:"Where sysfs is mounted (default /sys)"`
	ProcfsRoot string `long:"procfs-root" value-name:"DIR" description:"Deprecated, removed in the next release: the directory that holds proc/; use --procfs DIR/proc"`
	SysfsRoot  string `long:"sysfs-root" value-name:"DIR" description:"Deprecated, removed in the next release: the directory that holds sys/; use --sysfs DIR/sys"`
}

// Validate refuses an old option given with its new one, and through
// sudo any procfs but the host's.
func (m Mounts) Validate() error {
	switch {
	case m.ProcfsRoot != "" && m.Procfs != "":
		return errors.New("--procfs-root is the old spelling of --procfs (DIR/proc): give one of them")
	case m.SysfsRoot != "" && m.Sysfs != "":
		return errors.New("--sysfs-root is the old spelling of --sysfs (DIR/sys): give one of them")
	}
	return m.underSudo(privilege.Sudo())
}

// underSudo refuses, for a check run through sudo by c (nil: not), a
// procfs other than the host's: the sudoers rule's privilege reads the
// watched processes' files below /proc (internal/privilege), and a tree
// the caller names must never be read with it. (A --sysfs tree needs no
// refusal: the check reads it with the caller's rights.)
func (m Mounts) underSudo(c *privilege.Caller) error {
	if c == nil || m.FS().Proc == linux.HostProc {
		return nil
	}
	opt := "--procfs"
	if m.ProcfsRoot != "" {
		opt = "--procfs-root"
	}
	return fmt.Errorf("%s is refused through sudo: the sudoers rule's privilege reads the watched processes below the host's /proc only, never a tree the caller names; run the check without sudo, as a user that may read that tree", opt)
}

// FS is the reader of those mounts.
func (m Mounts) FS() linux.FS {
	proc, sys := m.Procfs, m.Sysfs // NewFS: "" is /proc, /sys
	if m.ProcfsRoot != "" {
		proc = filepath.Join(m.ProcfsRoot, "proc")
	}
	if m.SysfsRoot != "" {
		sys = filepath.Join(m.SysfsRoot, "sys")
	}
	return linux.NewFS(proc, sys)
}
