package numa

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
)

// Observation is everything check_numa reads on one run. The verdicts
// (judge.go) are pure functions of it and the options.
type Observation struct {
	Topology Topology // online nodes with their memory (and CPUs on a NUMA machine)
	// Procs are the watched processes, in the target's order. On a
	// one-node machine their numa_maps is not read (nothing to spread
	// over): only Process is set.
	Procs []ProcObservation
	// ZoneReclaim is vm.zone_reclaim_mode; nil when the kernel has none
	// (no NUMA support) or it could not be read (ZoneReclaimErr).
	ZoneReclaim    *int64
	ZoneReclaimErr error
	// Numastat are the counters of each node (NUMA machines only), and
	// Rates their per-second rates since the last run.
	Numastat map[int]map[string]int64
	Rates    state.Rates
}

// ProcObservation is one watched process and its memory placement.
type ProcObservation struct {
	linux.Process
	Policy Policy        // the policy of its first mapping
	Dist   *Distribution // its pages per node, with --distribution
	// Err is ErrNoMappings for a named process without memory mappings (a
	// kernel thread): nothing to judge.
	Err error
}

// counterNames are the numastat counters kept between runs.
var counterNames = []string{"numa_hit", "numa_miss", "numa_foreign", "interleave_hit"}

// Gather reads the topology, the watched processes' numa_maps, the zone
// reclaim sysctl and the numastat counters through f, and samples the
// counters in the state file (at now). A watched service that is not
// running is the target's CRITICAL error; what cannot be read is an
// error that names the privilege or file.
func Gather(ctx context.Context, f linux.FS, o *Options, now time.Time) (*Observation, error) {
	topo, err := ReadTopology(f)
	if err != nil {
		return nil, err
	}
	t, err := target.Resolve(f, o.Process, target.Want{})
	if err != nil {
		return nil, err
	}
	if err := topo.ReadMeminfo(f); err != nil {
		return nil, err
	}
	obs := &Observation{Topology: topo}
	obs.ZoneReclaim, obs.ZoneReclaimErr = zoneReclaim(f)
	if !topo.NUMA() {
		if t != nil {
			for _, w := range t.Procs {
				obs.Procs = append(obs.Procs, ProcObservation{Process: w.Process})
			}
		}
		return obs, nil
	}
	obs.Topology.ReadCPUs(f)
	if t != nil {
		if obs.Procs, err = readProcs(ctx, f, t, o.Distribution); err != nil {
			return nil, err
		}
	}
	if obs.Numastat, err = obs.Topology.ReadNumastat(f); err != nil {
		return nil, err
	}
	cur := state.Counters{Time: now, Values: map[string]float64{}}
	for id, m := range obs.Numastat {
		for _, c := range counterNames {
			cur.Values[fmt.Sprintf("node%d.%s", id, c)] = float64(m[c])
		}
	}
	obs.Rates = state.Sample(ctx, o.StateDir, state.Key("check_numa", f.Sys), cur)
	return obs, nil
}

// readProcs reads the policy (and with dist the page distribution) of
// each watched process. A process found by name that exits meanwhile, or
// is a kernel thread of that name, is left out; a named one that exits
// is the service down.
func readProcs(ctx context.Context, f linux.FS, t *target.Target, dist bool) ([]ProcObservation, error) {
	pageKB := int64(os.Getpagesize() / 1024)
	var out []ProcObservation
	for _, w := range t.Procs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading numa_maps of %s: %w", procName(w.Process), err)
		}
		path := f.ProcPath(strconv.Itoa(w.PID), "numa_maps")
		p := ProcObservation{Process: w.Process}
		file, err := f.OpenProcFile(w.PID, "numa_maps")
		if err == nil {
			if dist {
				var d Distribution
				d, err = ReadDistribution(ctx, file, pageKB)
				p.Dist, p.Policy = &d, d.First.Policy
			} else {
				var m Mapping
				m, err = ReadFirst(file)
				p.Policy = m.Policy
			}
			file.Close()
		}
		var se *SyntaxError
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			if w.Named {
				return nil, w.Exited()
			}
			continue
		case errors.Is(err, ErrNoMappings) && !w.Named:
			continue // a kernel thread of that name
		case errors.Is(err, ErrNoMappings):
			p.Err = err
		case errors.As(err, &se):
			return nil, fmt.Errorf("%s: %w", path, err)
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			return nil, fmt.Errorf("reading %s: %w", path, err)
		default:
			return nil, linux.Describe(path, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, t.Exited()
	}
	return out, nil
}

// zoneReclaim reads vm.zone_reclaim_mode; a kernel without NUMA support
// has no such sysctl (nil, nil).
func zoneReclaim(f linux.FS) (*int64, error) {
	mode, err := f.SysctlInt("vm.zone_reclaim_mode")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &mode, nil
}
