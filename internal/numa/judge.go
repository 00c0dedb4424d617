package numa

import (
	"fmt"
	"math"
	"strconv"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

const fixHint = "fix: start it as `numactl --interleave=all <command>`, or set NUMAPolicy=interleave and NUMAMask=all in the [Service] section of its systemd unit, then restart it"

// Judge turns an observation into the check's findings. It reads nothing:
// every verdict is a function of the observation and the options.
func Judge(obs *Observation, o *Options) *plugin.Result {
	res := &plugin.Result{}
	topo := obs.Topology
	if !topo.NUMA() {
		singleNode(res, obs, o)
		judgeZoneReclaim(res, obs, false)
		return res
	}
	topology(res, topo)
	if len(obs.Procs) > 0 {
		processes(res, obs, o)
	}
	judgeZoneReclaim(res, obs, true)
	counters(res, obs, o)
	return res
}

// singleNode reports a machine whose memory is on one node: placement
// policies change nothing there.
func singleNode(res *plugin.Result, obs *Observation, o *Options) {
	topo := obs.Topology
	text := "not a NUMA machine (1 node)"
	if topo.NoNUMA {
		text = "not a NUMA machine (the kernel has no NUMA support)"
	} else if n := len(topo.Nodes); n > 1 {
		text = fmt.Sprintf("not a NUMA machine (%d nodes, but only one has memory)", n)
	}
	st := plugin.OK
	if o.RequireNUMA {
		st = plugin.Critical
		text += ", but --require-numa was given"
	}
	fd := res.Add(st, text, nodePerf(topo)...)
	if o.RequireNUMA {
		fd.Detailf("the kernel sees one memory node: check that node interleaving is off in the BIOS/firmware (it hides the NUMA layout), or that the VM is given a virtual NUMA topology")
	}
	for _, p := range obs.Procs {
		fd.Detailf("%s: memory policy not checked, nothing to interleave on one node", procName(p.Process))
	}
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
			plugin.Perf{Label: plugin.Label("node"+id, "free"), Value: float64(nd.MemFree), UOM: "B", Min: plugin.F(0), Max: plugin.F(float64(nd.MemTotal))},
			plugin.Perf{Label: plugin.Label("node"+id, "total"), Value: float64(nd.MemTotal), UOM: "B", Min: plugin.F(0)})
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
			line += fmt.Sprintf("%s free of %s", plugin.Bytes(float64(n.MemFree)), plugin.Bytes(float64(n.MemTotal)))
		} else {
			line += "no memory"
		}
		fd.Detailf("%s", line)
	}
}

// processes judges the memory policy (and with --distribution the page
// distribution) of each watched process, then sums them up.
func processes(res *plugin.Result, obs *Observation, o *Options) {
	memNodes := obs.Topology.MemoryNodes()
	imbalance := o.imbalance()
	var checked, interleaved int
	worst := math.NaN()
	var interleavedBytes, totalBytes int64
	perNode := map[int]int64{}
	for _, p := range obs.Procs {
		if p.Err != nil {
			res.Add(plugin.Unknown, fmt.Sprintf("%s: %v", procName(p.Process), p.Err))
			continue
		}
		checked++
		fd := policyVerdict(res, p.Process, p.Policy, memNodes, o)
		if p.Policy.Interleaved() {
			interleaved++
		}
		if d := p.Dist; d != nil {
			set := memNodes
			if pol := p.Policy; pol.Mode != ModeDefault && pol.Mode != ModeLocal && len(pol.Nodes) > 0 {
				set = intersect(pol.Nodes, memNodes)
			}
			imb := round(Imbalance(d.Bytes, set))
			if math.IsNaN(worst) || imb > worst {
				worst = imb
			}
			if st := imbalance.State(imb); st != plugin.OK {
				fd.State = plugin.Worst(fd.State, st)
				fd.Quiet = false
				fd.Text += fmt.Sprintf(", pages %.1f%% imbalanced over %s", imb, nodesWord(set))
			}
			total := d.Total()
			fd.Detailf("%s resident in %d mappings, imbalance %.1f%% over %s: %s", plugin.Bytes(float64(total)), d.Mappings, imb, nodesWord(set), distString(d.Bytes))
			totalBytes += total
			interleavedBytes += int64(d.InterleavedPart * float64(total))
			for n, b := range d.Bytes {
				perNode[n] += b
			}
		}
	}
	if checked == 0 {
		return // only processes without mappings; they are reported
	}
	perf := []plugin.Perf{{Label: "interleaved", Value: pct(float64(interleaved), float64(checked)), UOM: "%", Min: plugin.F(0), Max: plugin.F(100)}}
	text := fmt.Sprintf("%d of %d processes interleaved", interleaved, checked)
	if checked == 1 {
		text = fmt.Sprintf("%d of 1 process interleaved", interleaved)
	}
	if o.Distribution {
		perf = append(perf,
			plugin.Perf{Label: "imbalance", Value: worst, UOM: "%", Thresholds: imbalance, Min: plugin.F(0), Max: plugin.F(100)},
			plugin.Perf{Label: "interleaved_pages", Value: pct(float64(interleavedBytes), float64(totalBytes)), UOM: "%", Min: plugin.F(0), Max: plugin.F(100)})
		for _, n := range memNodes {
			perf = append(perf, plugin.Perf{Label: plugin.Label("proc", fmt.Sprintf("node%d", n)), Value: float64(perNode[n]), UOM: "B", Min: plugin.F(0)})
		}
	}
	res.Add(plugin.OK, text, perf...)
}

func policyVerdict(res *plugin.Result, p linux.Process, pol Policy, memNodes []int, o *Options) *plugin.Finding {
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
	case o.AllowBind && pol.Mode == ModeBind && len(pol.Nodes) == 1:
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
	fd := res.Add(plugin.State(o.PolicyState), fmt.Sprintf("%s is not interleaved (%s)", name, what))
	fd.Detailf("its memory fills the node it runs on while the other nodes stay idle, and the kernel then reclaims or swaps instead of using remote memory")
	fd.Detailf("%s", fixHint)
	if pol.Mode == ModeBind && len(pol.Nodes) == 1 {
		fd.Detailf("if binding it to node %d is intended (one instance per node), pass --allow-bind", pol.Nodes[0])
	}
	return fd
}

// judgeZoneReclaim reports vm.zone_reclaim_mode; on a NUMA machine
// anything but 0 is a WARNING.
func judgeZoneReclaim(res *plugin.Result, obs *Observation, numa bool) {
	if obs.ZoneReclaimErr != nil {
		res.Add(plugin.Unknown, obs.ZoneReclaimErr.Error())
		return
	}
	if obs.ZoneReclaim == nil {
		return // a kernel without NUMA support has no such sysctl
	}
	mode := *obs.ZoneReclaim
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

// counters reports numa_miss, numa_foreign and interleave_hit per node: as
// a miss ratio (since boot, or since the last run when there are rates)
// and as per-second rates.
func counters(res *plugin.Result, obs *Observation, o *Options) {
	rst, note, ok := obs.Rates.Pending()
	var perf []plugin.Perf
	var hit, miss float64
	var details []string
	for _, n := range obs.Topology.Nodes {
		id := fmt.Sprintf("node%d", n.ID)
		c := obs.Numastat[n.ID]
		h, m := float64(c["numa_hit"]), float64(c["numa_miss"])
		if ok {
			h, m = obs.Rates.PerSecond[id+".numa_hit"], obs.Rates.PerSecond[id+".numa_miss"]
		}
		hit, miss = hit+h, miss+m
		ratio := pct(m, h+m)
		perf = append(perf, plugin.Perf{Label: plugin.Label(id + "_miss_ratio"), Value: ratio, UOM: "%", Min: plugin.F(0), Max: plugin.F(100)})
		line := fmt.Sprintf("%s: numa_miss %.2f%% of allocations", id, ratio)
		for _, c := range counterNames[1:] {
			v := math.NaN()
			if ok {
				v = round(obs.Rates.PerSecond[id+"."+c])
				line += fmt.Sprintf(", %s %g/s", c, v)
			}
			perf = append(perf, plugin.Perf{Label: plugin.Label(id+"_"+c, "rate"), Value: v, Min: plugin.F(0)})
		}
		details = append(details, line)
	}
	ratio := plugin.Perf{Label: "miss_ratio", Value: pct(miss, hit+miss), UOM: "%", Thresholds: o.missRatio(), Min: plugin.F(0), Max: plugin.F(100)}
	span := "since boot"
	if ok {
		span = "since the last run"
	}
	fd := res.Judge(fmt.Sprintf("numa_miss %.2f%% of allocations %s", ratio.Value, span), ratio, perf...)
	fd.Quiet = fd.State == plugin.OK
	for _, d := range details {
		fd.Detailf("%s", d)
	}
	if rst != plugin.OK {
		// The ratio since boot still stands; the rates cannot be kept.
		res.Add(rst, "numastat rates: "+note)
	} else if note != "" {
		fd.Detailf("rates: %s", note)
	}
	if fd.State != plugin.OK {
		fd.Detailf("allocations fall back to a remote node because the preferred one is full: interleave the large processes (numactl --interleave=all), spread the load, or add memory to the full node (see the free memory per node)")
	}
}
