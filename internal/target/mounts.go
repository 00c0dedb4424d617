package target

import (
	"errors"
	"path/filepath"

	"github.com/opschecks/opschecks/internal/linux"
)

// Mounts is the options --procfs and --sysfs: where proc and sysfs are
// mounted, as node_exporter's --path.procfs and procfs.NewFS take them (a
// container that sees the host's at /host/proc, a fixture tree in tests).
// --procfs-root and --sysfs-root, the old options naming the directory
// that holds proc/ and sys/, are still taken for one release.
type Mounts struct {
	Procfs     string `long:"procfs" default:"/proc" value-name:"DIR" description:"Where procfs is mounted"`
	Sysfs      string `long:"sysfs" default:"/sys" value-name:"DIR" description:"Where sysfs is mounted"`
	ProcfsRoot string `long:"procfs-root" value-name:"DIR" description:"Deprecated, removed in the next release: the directory that holds proc/; use --procfs DIR/proc"`
	SysfsRoot  string `long:"sysfs-root" value-name:"DIR" description:"Deprecated, removed in the next release: the directory that holds sys/; use --sysfs DIR/sys"`
}

// Validate refuses an empty mount point and an old option given with its
// new one.
func (m Mounts) Validate() error {
	switch {
	case m.Procfs == "" || m.Sysfs == "":
		return errors.New("--procfs and --sysfs need a directory (defaults /proc and /sys)")
	case m.ProcfsRoot != "" && m.Procfs != "/proc":
		return errors.New("--procfs-root is the old spelling of --procfs (DIR/proc): give one of them")
	case m.SysfsRoot != "" && m.Sysfs != "/sys":
		return errors.New("--sysfs-root is the old spelling of --sysfs (DIR/sys): give one of them")
	}
	return nil
}

// FS is the reader of those mounts.
func (m Mounts) FS() linux.FS {
	f := linux.NewFS(m.Procfs, m.Sysfs)
	if m.ProcfsRoot != "" {
		f.Proc = filepath.Join(m.ProcfsRoot, "proc")
	}
	if m.SysfsRoot != "" {
		f.Sys = filepath.Join(m.SysfsRoot, "sys")
	}
	return f
}
