package nginx

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// softnetPerf is the host's softnet rates, summed over the CPUs and
// judged by their options (NaN while there are none).
func softnetPerf(obs *Observation, o *Options, ready bool) []plugin.Perf {
	dropped := plugin.Perf{Label: "softnet_dropped_rate", Value: math.NaN(), Thresholds: o.softnetDropThresholds(), Min: plugin.F(0)}
	squeezed := plugin.Perf{Label: "softnet_squeezed_rate", Value: math.NaN(), Thresholds: o.softnetSqueezeThresholds(), Min: plugin.F(0)}
	if ready {
		var d, s float64
		for _, c := range obs.Softnet {
			d += obs.KernelRates.PerSecond[softnetKey("dropped", c.CPU)]
			s += obs.KernelRates.PerSecond[softnetKey("squeezed", c.CPU)]
		}
		dropped.Value, squeezed.Value = round(d), round(s)
	}
	return []plugin.Perf{dropped, squeezed}
}

// softnet judges the packets the CPUs dropped before any socket saw them
// and the receive softirq's squeezes, per second, over the whole host.
// While OK the finding stays out of the summary.
func softnet(res *plugin.Result, obs *Observation, o *Options) {
	perf := softnetPerf(obs, o, true)
	fd := res.Add(plugin.Worst(perf[0].State(), perf[1].State()), fmt.Sprintf("softnet (host-wide, %d CPUs): %s/s dropped, %s/s squeezed",
		len(obs.Softnet), num(perf[0].Value), num(perf[1].Value)), perf...)
	fd.Quiet = true
	if fd.State == plugin.OK {
		return
	}
	var cpus []string
	for _, c := range obs.Softnet {
		d, s := obs.KernelRates.PerSecond[softnetKey("dropped", c.CPU)], obs.KernelRates.PerSecond[softnetKey("squeezed", c.CPU)]
		if d > 0 || s > 0 {
			cpus = append(cpus, fmt.Sprintf("CPU %d %s/s dropped, %s/s squeezed", c.CPU, num(d), num(s)))
		}
	}
	if len(cpus) > 0 {
		fd.Detailf("per CPU (/proc/net/softnet_stat, every network namespace of the host): %s", strings.Join(cpus, "; "))
	}
	if len(obs.Softnet) > 0 && !obs.Softnet[0].CPUKnown {
		fd.Detailf("this kernel's softnet_stat has no CPU column: CPUs are numbered by line, which is their number while all CPUs are online")
	}
	if perf[0].State() != plugin.OK {
		fd.Detailf("a CPU's input backlog held net.core.netdev_max_backlog%s packets and the kernel dropped more (before any socket, so no TCP counter sees them): raise net.core.netdev_max_backlog (e.g. to twice that) and spread receive work over CPUs (RSS queues, RPS, irqbalance)", sysctlValue(obs.Netdev.MaxBacklog))
	}
	if perf[1].State() != plugin.OK {
		fd.Detailf("the receive softirq stopped with packets left, out of net.core.netdev_budget%s packets or netdev_budget_usecs: raise net.core.netdev_budget (e.g. to 600) and netdev_budget_usecs", sysctlValue(obs.Netdev.Budget))
	}
}

// sysctlValue is " (now N)" for a sysctl read, "" for one that was not.
func sysctlValue(v *int64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(" (now %d)", *v)
}

// Pct is the worker's open descriptors in percent of its soft
// RLIMIT_NOFILE (0 when unlimited).
func (w WorkerFiles) Pct() float64 {
	if w.Limit.Soft == linux.Unlimited || w.Limit.Soft == 0 {
		return 0
	}
	return float64(w.Open) * 100 / float64(w.Limit.Soft)
}

// limitText writes a limit for the output.
func limitText(v uint64) string {
	if v == linux.Unlimited {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// openFiles judges the fullest worker's descriptors against its
// RLIMIT_NOFILE. While OK the finding stays out of the summary.
func openFiles(res *plugin.Result, obs *Observation, o *Options) {
	if len(obs.Workers) == 0 {
		return
	}
	w := obs.Workers[0]
	for _, c := range obs.Workers[1:] {
		if c.Pct() > w.Pct() {
			w = c
		}
	}
	pct := plugin.Perf{Label: "worker_open_files_pct", Value: round(w.Pct()), UOM: "%", Thresholds: o.openFilesThresholds(), Min: plugin.F(0), Max: plugin.F(100)}
	open := plugin.Perf{Label: "worker_open_files", Value: float64(w.Open), Min: plugin.F(0)}
	if w.Limit.Soft != linux.Unlimited {
		open.Max = plugin.F(float64(w.Limit.Soft))
	}
	what := fmt.Sprintf("worker PID %d", w.PID)
	if len(obs.Workers) > 1 {
		what = fmt.Sprintf("fullest of %d workers, PID %d", len(obs.Workers), w.PID)
	}
	fd := res.Judge(fmt.Sprintf("nginx %s: %d open files of %s allowed (%s%%)", what, w.Open, limitText(w.Limit.Soft), num(w.Pct())), pct, open)
	fd.Quiet = true
	if fd.State == plugin.OK {
		return
	}
	for _, c := range obs.Workers {
		fd.Detailf("%s PID %d: %d open files, RLIMIT_NOFILE %s (hard %s)", c.Comm, c.PID, c.Open, limitText(c.Limit.Soft), limitText(c.Limit.Hard))
	}
	fd.Detailf("a worker holds a descriptor per client connection (two when it proxies), plus its logs and listening sockets; one out of descriptors fails accept4() with \"Too many open files\" (24) in the error log: set worker_rlimit_nofile in nginx.conf's main context (at least twice worker_connections) and reload nginx")
}
