package target

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// NetnsDir is where `ip netns add NAME` keeps its namespaces.
const NetnsDir = "/run/netns"

// Netns is the --netns option: look into a network namespace that no
// watched process names, as ip netns names it (a router's or a
// container's). Embed it in a check's options next to Process when the
// check can look into either.
type Netns struct {
	Netns NetnsName `long:"netns" value-name:"NAME" description:"Look into this network namespace: a name as ip netns lists it (/run/netns/NAME) or the path of a namespace file"`
}

// NetnsName is a --netns value: a name as ip netns makes them (no '/',
// not . or ..) or an absolute path to a namespace file (docker's under
// /var/run/docker/netns).
type NetnsName string

// UnmarshalFlag implements go-flags' Unmarshaler.
func (n *NetnsName) UnmarshalFlag(s string) error {
	ok := s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "\x00\n")
	if strings.Contains(s, "/") {
		ok = ok && filepath.IsAbs(s)
	}
	if !ok {
		return plugin.OptionError("invalid --netns %q: expected a network namespace name as ip netns lists it, or the absolute path of a namespace file", plugin.Clip(s, 40))
	}
	*n = NetnsName(s)
	return nil
}

// Path is the namespace file the name refers to.
func (n NetnsName) Path() string {
	if filepath.IsAbs(string(n)) {
		return string(n)
	}
	return filepath.Join(NetnsDir, string(n))
}

// Validate refuses --netns together with a process selection: both name
// the namespace to look into.
func (n Netns) Validate(p Process) error {
	if n.Netns != "" && p.Set() {
		return errors.New("--netns and --pid/--pidfile/--process both say which network namespace to look into: give one of them")
	}
	return nil
}

// Namespace opens the network namespace a check looks into: the one
// --netns names, else the target's (t may be nil), else the check's own.
// It is not opened when it is the check's own (FD 0).
func Namespace(f linux.FS, t *Target, n Netns) (*linux.Netns, error) {
	switch {
	case n.Netns != "":
		ns, err := f.OpenNetnsFile(n.Netns.Path())
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no network namespace %q: %s does not exist (ip netns list shows the names)", string(n.Netns), n.Netns.Path())
		}
		return ns, err
	case t != nil:
		return t.Namespace(f)
	}
	ns, err := f.OpenNetns(0)
	if errors.Is(err, fs.ErrNotExist) {
		// A fixture procfs has no namespace links; our own namespace
		// needs no opening (it is then named without its ID).
		return &linux.Netns{}, nil
	}
	return ns, err
}

// Describe names the network namespace a check looks into, for its
// output, and gives the command prefix that runs a command inside it, for
// its fix hints ("" for the check's own).
func Describe(ns *linux.Netns) (desc, enter string) {
	switch {
	case ns.ID == "":
		return "the check's own network namespace", ""
	case ns.Own() && ns.PID != 0:
		return fmt.Sprintf("the check's own network namespace (%s), shared with PID %d", ns.ID, ns.PID), ""
	case ns.Own():
		return fmt.Sprintf("the check's own network namespace (%s)", ns.ID), ""
	case ns.Path != "" && filepath.Dir(ns.Path) == NetnsDir:
		name := filepath.Base(ns.Path)
		return fmt.Sprintf("network namespace %s (%s)", name, ns.ID), "ip netns exec " + name + " "
	case ns.Path != "":
		return fmt.Sprintf("the network namespace of %s (%s)", ns.Path, ns.ID), "nsenter --net=" + ns.Path + " "
	}
	return fmt.Sprintf("the network namespace of PID %d (%s)", ns.PID, ns.ID), fmt.Sprintf("nsenter --net=/proc/%d/ns/net ", ns.PID)
}
