// Package numa checks NUMA placement: the machine's node topology, the
// memory policy of large-memory processes (databases want
// `numactl --interleave=all`), vm.zone_reclaim_mode and the per-node
// allocation counters. Everything is read below configurable /proc and
// /sys roots, so the same code runs against fixture trees.
package numa

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

// Config is what the check is asked to look at.
type Config struct {
	PIDs         []int
	Pidfile      string
	Process      string
	Distribution bool
	// Warn and Crit apply to the imbalance of --distribution, in percent.
	Warn, Crit  *thresholds.Range
	PolicyState plugin.State // state of a process that is not interleaved
	AllowBind   bool
	RequireNUMA bool
	// MissWarn and MissCrit apply to the numa_miss ratio, in percent.
	MissWarn, MissCrit *thresholds.Range
	SysfsRoot          string // directory holding sys/ ("/" for the host)
	ProcfsRoot         string // directory holding proc/
	StateDir           state.Dir
	Now                func() time.Time // nil: time.Now
}

const fixHint = "fix: start it as `numactl --interleave=all <command>`, or set NUMAPolicy=interleave and NUMAMask=all in the [Service] section of its systemd unit, then restart it"

// target is a process to check; byName marks those found by --process,
// which may exit while we look without that being an error.
type target struct {
	linux.Process
	byName bool
}

// Check runs the check.
func Check(ctx context.Context, cfg Config, env plugin.Env) (*plugin.Result, error) {
	f := linux.NewFS(cfg.ProcfsRoot, cfg.SysfsRoot)
	if cfg.PolicyState == plugin.OK {
		cfg.PolicyState = plugin.Warning
	}
	topo, err := ReadTopology(f)
	if err != nil {
		return nil, err
	}
	targets, err := selectProcesses(f, cfg)
	if err != nil {
		return nil, err
	}
	if err := topo.ReadMeminfo(f); err != nil {
		return nil, err
	}
	res := &plugin.Result{}
	if !topo.NUMA() {
		singleNode(res, f, topo, targets, cfg)
		return res, nil
	}
	topo.ReadCPUs(f)
	topology(res, topo)
	if len(targets) > 0 {
		if err := processes(ctx, res, f, topo, targets, cfg); err != nil {
			return nil, err
		}
	}
	zoneReclaim(res, f, true)
	if err := counters(ctx, res, f, topo, cfg); err != nil {
		return nil, err
	}
	return res, nil
}

func selectProcesses(f linux.FS, cfg Config) ([]target, error) {
	var out []target
	seen := map[int]bool{}
	add := func(p linux.Process, byName bool) {
		if !seen[p.PID] {
			seen[p.PID] = true
			out = append(out, target{p, byName})
		}
	}
	for _, pid := range cfg.PIDs {
		p, err := f.ReadProcess(pid)
		if err != nil {
			return nil, fmt.Errorf("%v (from --pid %d)", err, pid)
		}
		add(p, false)
	}
	if cfg.Pidfile != "" {
		pid, err := f.ReadPidfile(cfg.Pidfile)
		if err != nil {
			return nil, err
		}
		p, err := f.ReadProcess(pid)
		if err != nil {
			return nil, fmt.Errorf("%v (from pid file %s)", err, cfg.Pidfile)
		}
		add(p, false)
	}
	if cfg.Process != "" {
		ps, err := f.ProcessesNamed(cfg.Process)
		if errors.Is(err, linux.ErrNoProcess) {
			return nil, plugin.Errorf(plugin.Critical, "%v: the service is down (start it, or correct --process)", err)
		}
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			add(p, true)
		}
	}
	return out, nil
}

// singleNode reports a machine whose memory is on one node: placement
// policies change nothing there.
func singleNode(res *plugin.Result, f linux.FS, topo Topology, targets []target, cfg Config) {
	text := "not a NUMA machine (1 node)"
	if topo.NoNUMA {
		text = "not a NUMA machine (the kernel has no NUMA support)"
	} else if n := len(topo.Nodes); n > 1 {
		text = fmt.Sprintf("not a NUMA machine (%d nodes, but only one has memory)", n)
	}
	st := plugin.OK
	if cfg.RequireNUMA {
		st = plugin.Critical
		text += ", but --require-numa was given"
	}
	fd := res.Add(st, text, nodePerf(topo)...)
	if cfg.RequireNUMA {
		fd.Detailf("the kernel sees one memory node: check that node interleaving is off in the BIOS/firmware (it hides the NUMA layout), or that the VM is given a virtual NUMA topology")
	}
	for _, t := range targets {
		fd.Detailf("%s: memory policy not checked, nothing to interleave on one node", procName(t.Process))
	}
	zoneReclaim(res, f, false)
}

func procName(p linux.Process) string {
	name := p.Comm
	if p.Exe != "" && len(p.Comm) == 15 && strings.HasPrefix(p.Exe, p.Comm) {
		name = p.Exe // comm is cut at 15 bytes
	}
	return fmt.Sprintf("%s (PID %d)", name, p.PID)
}

func nodePerf(topo Topology) []plugin.Perf {
	n := len(topo.Nodes)
	if topo.NoNUMA {
		n = 1
	}
	perf := []plugin.Perf{{Label: "nodes", Value: float64(n), Min: plugin.F(1)}}
	for _, nd := range topo.Nodes {
		id := strconv.Itoa(nd.ID)
		perf = append(perf,
			plugin.Perf{Label: "node" + id + "_free", Value: float64(nd.MemFree), UOM: "B", Min: plugin.F(0), Max: plugin.F(float64(nd.MemTotal))},
			plugin.Perf{Label: "node" + id + "_total", Value: float64(nd.MemTotal), UOM: "B", Min: plugin.F(0)})
	}
	return perf
}

func topology(res *plugin.Result, topo Topology) {
	mem := topo.MemoryNodes()
	text := fmt.Sprintf("%d NUMA nodes", len(topo.Nodes))
	if len(mem) != len(topo.Nodes) {
		text += fmt.Sprintf(" (%s with memory)", FormatNodeList(mem))
	}
	fd := res.Add(plugin.OK, text, nodePerf(topo)...)
	for _, n := range topo.Nodes {
		line := fmt.Sprintf("node%d: ", n.ID)
		if n.CPUs != "" {
			line += "cpus " + n.CPUs + ", "
		} else if !n.HasCPU {
			line += "no cpus, "
		}
		if n.HasMemory {
			line += fmt.Sprintf("%s free of %s", human(n.MemFree), human(n.MemTotal))
		} else {
			line += "no memory"
		}
		fd.Detailf("%s", line)
	}
}

// processes checks the memory policy (and with --distribution the page
// distribution) of each target.
func processes(ctx context.Context, res *plugin.Result, f linux.FS, topo Topology, targets []target, cfg Config) error {
	memNodes := topo.MemoryNodes()
	pageKB := int64(os.Getpagesize() / 1024)
	var checked, interleaved int
	worst := math.NaN()
	var interleavedBytes, totalBytes int64
	perNode := map[int]int64{}
	var found []*plugin.Finding
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading numa_maps of %s: %w", procName(t.Process), err)
		}
		var pol Policy
		var dist *Distribution
		path := f.ProcPath(strconv.Itoa(t.PID), "numa_maps")
		file, err := os.Open(path)
		if err == nil {
			if cfg.Distribution {
				var d Distribution
				d, err = ReadDistribution(ctx, file, pageKB)
				dist, pol = &d, d.First.Policy
			} else {
				var m Mapping
				m, err = ReadFirst(file)
				pol = m.Policy
			}
			file.Close()
		}
		if err != nil {
			var se *SyntaxError
			switch {
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) || (errors.Is(err, ErrNoMappings) && t.byName):
				if t.byName {
					continue // exited while we looked, or a kernel thread of that name
				}
				return fmt.Errorf("no process with PID %d (it exited)", t.PID)
			case errors.Is(err, ErrNoMappings):
				res.Add(plugin.Unknown, fmt.Sprintf("%s: %v", procName(t.Process), err))
				continue
			case errors.As(err, &se):
				return fmt.Errorf("%s: %w", path, err)
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
				return fmt.Errorf("reading %s: %w", path, err)
			}
			return linux.Describe(path, err)
		}
		checked++
		fd := policyVerdict(res, t.Process, pol, memNodes, cfg)
		if pol.Interleaved() {
			interleaved++
		}
		if dist != nil {
			set := memNodes
			if pol.Mode != ModeDefault && pol.Mode != ModeLocal && len(pol.Nodes) > 0 {
				set = intersect(pol.Nodes, memNodes)
			}
			imb := round(Imbalance(dist.Bytes, set))
			if math.IsNaN(worst) || imb > worst {
				worst = imb
			}
			st := thresholds.NewPair(cfg.Warn, cfg.Crit).State(imb)
			if st != plugin.OK {
				fd.State = plugin.Worst(fd.State, st)
				fd.Quiet = false
				fd.Text += fmt.Sprintf(", pages %.1f%% imbalanced over %s", imb, nodesWord(set))
			}
			total := dist.Total()
			fd.Detailf("%s resident in %d mappings, imbalance %.1f%% over %s: %s", human(total), dist.Mappings, imb, nodesWord(set), distString(dist.Bytes))
			totalBytes += total
			interleavedBytes += int64(dist.InterleavedPart * float64(total))
			for n, b := range dist.Bytes {
				perNode[n] += b
			}
		}
		found = append(found, fd)
	}
	if checked == 0 {
		if len(res.Findings) > 0 {
			return nil // only processes without mappings; they are reported
		}
		return plugin.Errorf(plugin.Critical, "no process named %q is running: the service is down (its processes exited while being checked)", cfg.Process)
	}
	perf := []plugin.Perf{{Label: "interleaved", Value: pct(float64(interleaved), float64(checked)), UOM: "%", Min: plugin.F(0), Max: plugin.F(100)}}
	text := fmt.Sprintf("%d of %d processes interleaved", interleaved, checked)
	if checked == 1 {
		text = fmt.Sprintf("%d of 1 process interleaved", interleaved)
	}
	if cfg.Distribution {
		perf = append(perf,
			plugin.Perf{Label: "imbalance", Value: worst, UOM: "%", Thresholds: thresholds.NewPair(cfg.Warn, cfg.Crit), Min: plugin.F(0), Max: plugin.F(100)},
			plugin.Perf{Label: "interleaved_pages", Value: pct(float64(interleavedBytes), float64(totalBytes)), UOM: "%", Min: plugin.F(0), Max: plugin.F(100)})
		for _, n := range memNodes {
			perf = append(perf, plugin.Perf{Label: fmt.Sprintf("proc_node%d", n), Value: float64(perNode[n]), UOM: "B", Min: plugin.F(0)})
		}
	}
	res.Add(plugin.OK, text, perf...)
	return nil
}

func policyVerdict(res *plugin.Result, p linux.Process, pol Policy, memNodes []int, cfg Config) *plugin.Finding {
	name := procName(p)
	switch {
	case pol.Interleaved():
		fd := res.Add(plugin.OK, fmt.Sprintf("%s: memory policy %s", name, pol))
		fd.Quiet = true
		if missing := minus(memNodes, pol.Nodes); len(pol.Nodes) > 0 && len(missing) > 0 {
			verb := "have"
			if len(missing) == 1 {
				verb = "has"
			}
			fd.Detailf("it interleaves over %s only; %s also %s memory (numactl --interleave=all spreads over all of them)", nodesWord(pol.Nodes), nodesWord(missing), verb)
		}
		return fd
	case cfg.AllowBind && pol.Mode == ModeBind && len(pol.Nodes) == 1:
		fd := res.Add(plugin.OK, fmt.Sprintf("%s: bound to node %d (allowed by --allow-bind)", name, pol.Nodes[0]))
		fd.Quiet = true
		return fd
	}
	var what string
	switch pol.Mode {
	case ModeBind:
		what = "bound to " + nodesWord(pol.Nodes)
	case ModePrefer, ModePreferMany:
		what = "prefers " + nodesWord(pol.Nodes)
	default:
		what = "memory policy " + pol.String()
	}
	fd := res.Add(cfg.PolicyState, fmt.Sprintf("%s is not interleaved (%s)", name, what))
	fd.Detailf("its memory fills the node it runs on while the other nodes stay idle, and the kernel then reclaims or swaps instead of using remote memory")
	fd.Detailf("%s", fixHint)
	if pol.Mode == ModeBind && len(pol.Nodes) == 1 {
		fd.Detailf("if binding it to node %d is intended (one instance per node), pass --allow-bind", pol.Nodes[0])
	}
	return fd
}

// zoneReclaim reports vm.zone_reclaim_mode; on a NUMA machine anything but
// 0 is a WARNING.
func zoneReclaim(res *plugin.Result, f linux.FS, numa bool) {
	mode, err := f.SysctlInt("vm.zone_reclaim_mode")
	if errors.Is(err, fs.ErrNotExist) {
		return // a kernel without NUMA support has no such sysctl
	}
	if err != nil {
		res.Add(plugin.Unknown, err.Error())
		return
	}
	perf := plugin.Perf{Label: "zone_reclaim_mode", Value: float64(mode), Min: plugin.F(0), Max: plugin.F(7)}
	if mode == 0 {
		fd := res.Add(plugin.OK, "zone_reclaim_mode 0", perf)
		fd.Quiet = !numa
		return
	}
	st := plugin.Warning
	if !numa {
		st = plugin.OK // one node: there is no remote node to prefer over reclaim
	}
	fd := res.Add(st, fmt.Sprintf("zone_reclaim_mode %d (%s)", mode, zoneBits(mode)), perf)
	if numa {
		fd.Detailf("with zone reclaim on, the kernel drops page cache and reclaims on the local node instead of allocating on a remote one: a database stalls while plenty of memory is free elsewhere")
		fd.Detailf("fix: sysctl -w vm.zone_reclaim_mode=0, and put vm.zone_reclaim_mode = 0 in /etc/sysctl.d/ to keep it after a reboot")
	}
}

// zoneBits explains the bits of vm.zone_reclaim_mode
// (Documentation/admin-guide/sysctl/vm.rst).
func zoneBits(mode int64) string {
	var parts []string
	if mode&1 != 0 {
		parts = append(parts, "1: reclaim on the local node before allocating on another")
	}
	if mode&2 != 0 {
		parts = append(parts, "2: reclaim writes dirty pages out")
	}
	if mode&4 != 0 {
		parts = append(parts, "4: reclaim unmaps and swaps pages")
	}
	if rest := mode &^ 7; rest != 0 {
		parts = append(parts, fmt.Sprintf("%d: unknown bits", rest))
	}
	return strings.Join(parts, "; ")
}

// counterNames are the numastat counters kept between runs.
var counterNames = []string{"numa_hit", "numa_miss", "numa_foreign", "interleave_hit"}

// counters reports numa_miss, numa_foreign and interleave_hit per node: as
// a miss ratio and, from the second run on, as per-second rates.
func counters(ctx context.Context, res *plugin.Result, f linux.FS, topo Topology, cfg Config) error {
	stats, err := topo.ReadNumastat(f)
	if err != nil {
		return err
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	cur := state.Counters{Time: now(), Values: map[string]float64{}}
	for id, m := range stats {
		for _, c := range counterNames {
			cur.Values[fmt.Sprintf("node%d.%s", id, c)] = float64(m[c])
		}
	}
	r := state.Sample(ctx, cfg.StateDir, state.Key("check_numa", f.Sys), cur)
	rst, note, ok := r.Pending()
	rates := r.PerSecond

	var perf []plugin.Perf
	var hit, miss float64
	var details []string
	src := cur.Values
	if ok {
		src = rates
	}
	for _, n := range topo.Nodes {
		id := fmt.Sprintf("node%d", n.ID)
		h, m := src[id+".numa_hit"], src[id+".numa_miss"]
		hit, miss = hit+h, miss+m
		ratio := pct(m, h+m)
		perf = append(perf, plugin.Perf{Label: id + "_miss_ratio", Value: ratio, UOM: "%", Min: plugin.F(0), Max: plugin.F(100)})
		line := fmt.Sprintf("%s: numa_miss %.2f%% of allocations", id, ratio)
		for _, c := range counterNames[1:] {
			v := math.NaN()
			if ok {
				v = round(rates[id+"."+c])
				line += fmt.Sprintf(", %s %g/s", c, v)
			}
			perf = append(perf, plugin.Perf{Label: id + "_" + c + "_rate", Value: v, Min: plugin.F(0)})
		}
		details = append(details, line)
	}
	ratio := plugin.Perf{Label: "miss_ratio", Value: pct(miss, hit+miss), UOM: "%", Thresholds: thresholds.NewPair(cfg.MissWarn, cfg.MissCrit), Min: plugin.F(0), Max: plugin.F(100)}
	span := "since boot"
	if ok {
		span = "since the last run"
	}
	fd := res.Judge(fmt.Sprintf("numa_miss %.2f%% of allocations %s", ratio.Value, span), ratio, perf...)
	st := fd.State
	fd.Quiet = st == plugin.OK
	for _, d := range details {
		fd.Detailf("%s", d)
	}
	if rst != plugin.OK {
		// The ratio since boot still stands; the rates cannot be kept.
		res.Add(rst, "numastat rates: "+note)
	} else if note != "" {
		fd.Detailf("rates: %s", note)
	}
	if st != plugin.OK {
		fd.Detailf("allocations fall back to a remote node because the preferred one is full: interleave the large processes (numactl --interleave=all), spread the load, or add memory to the full node (see the free memory per node)")
	}
	return nil
}

func pct(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return round(part / whole * 100)
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nodesWord(nodes []int) string {
	if len(nodes) == 1 {
		return "node " + strconv.Itoa(nodes[0])
	}
	return "nodes " + FormatNodeList(nodes)
}

func distString(bytes map[int]int64) string {
	var total int64
	ids := make([]int, 0, len(bytes))
	for n, b := range bytes {
		ids = append(ids, n)
		total += b
	}
	if total == 0 {
		return "nothing resident"
	}
	sort.Ints(ids)
	parts := make([]string, 0, len(ids))
	for _, n := range ids {
		parts = append(parts, fmt.Sprintf("N%d %s (%.0f%%)", n, human(bytes[n]), float64(bytes[n])/float64(total)*100))
	}
	return strings.Join(parts, ", ")
}

func human(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	v, i := float64(b)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
