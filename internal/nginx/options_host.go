package nginx

import (
	"cmp"

	"github.com/opschecks/opschecks/thresholds"
)

// HostSide are the options on what lies outside nginx's sockets: the
// CPUs' receive backlogs (host-wide) and the workers' file descriptors.
type HostSide struct {
	SoftnetDropsWarning    *thresholds.Range `long:"softnet-drops-warning" value-name:"RANGE" description:"Warning range for packets per second the CPUs dropped before any socket because their input backlog was full (host-wide, /proc/net/softnet_stat; off unless given)"`
	SoftnetDropsCritical   *thresholds.Range `long:"softnet-drops-critical" value-name:"RANGE" description:"Critical range for softnet drops per second (off unless given)"`
	SoftnetSqueezeWarning  *thresholds.Range `long:"softnet-squeeze-warning" value-name:"RANGE" description:"Warning range for times per second the receive softirq ran out of budget with packets left (host-wide time_squeeze; off unless given)"`
	SoftnetSqueezeCritical *thresholds.Range `long:"softnet-squeeze-critical" value-name:"RANGE" description:"Critical range for time_squeeze per second (off unless given)"`
	// The open-files ranges have no default tag, so that one given
	// without a process is refused (Options.Validate); their defaults,
	// 80 and 95, are applied by openFilesThresholds.
	OpenFilesWarning  *thresholds.Range `long:"open-files-warning" value-name:"RANGE" description:"Warning range for a worker's open files in percent of its RLIMIT_NOFILE (default 80; needs --pid, --pidfile or --process)"`
	OpenFilesCritical *thresholds.Range `long:"open-files-critical" value-name:"RANGE" description:"Critical range for a worker's open files in percent of its RLIMIT_NOFILE (default 95)"`
}

// softnetJudged reports whether a softnet range is given.
func (h *HostSide) softnetJudged() bool {
	return h.SoftnetDropsWarning != nil || h.SoftnetDropsCritical != nil || h.SoftnetSqueezeWarning != nil || h.SoftnetSqueezeCritical != nil
}

func (h *HostSide) softnetDropThresholds() thresholds.Pair {
	return thresholds.NewPair(h.SoftnetDropsWarning, h.SoftnetDropsCritical)
}

func (h *HostSide) softnetSqueezeThresholds() thresholds.Pair {
	return thresholds.NewPair(h.SoftnetSqueezeWarning, h.SoftnetSqueezeCritical)
}

// Default open-files ranges, in percent of RLIMIT_NOFILE.
var (
	defOpenFilesWarning  = thresholds.MustParse("80")
	defOpenFilesCritical = thresholds.MustParse("95")
)

func (h *HostSide) openFilesThresholds() thresholds.Pair {
	return thresholds.NewPair(cmp.Or(h.OpenFilesWarning, &defOpenFilesWarning), cmp.Or(h.OpenFilesCritical, &defOpenFilesCritical))
}

// openFilesGiven names the first open-files option given, "" for none.
func (h *HostSide) openFilesGiven() string {
	switch {
	case h.OpenFilesWarning != nil:
		return "--open-files-warning"
	case h.OpenFilesCritical != nil:
		return "--open-files-critical"
	}
	return ""
}
