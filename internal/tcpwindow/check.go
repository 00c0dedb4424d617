// Package tcpwindow is check_tcp_window: broken TCP window scaling. A
// local audit of the sysctls that decide the advertised window scale, a
// live probe that reads TCP_INFO of its own connection, and a passive
// scan of the established sockets, each looking for the signature of a
// middlebox that strips or rewrites the window-scale option.
//
// Files: options.go (Options, Validate); check.go (Gather -> Observation,
// Check); audit.go (the sysctls and the wscale the kernel derives from
// them); probe.go (the live probe); passive.go (the scan of established
// sockets and Classify); judge.go (Judge: every verdict, a pure function
// of the observation and options); units.go (bit rates, ceilings).
//
// The passive scan classifies each socket as sock_diag streams it in
// (Classify is pure and tested on its own), keeping counts and the first
// ten of each kind rather than the sockets: judging the counts is
// judge.go's.
package tcpwindow

import (
	"context"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// Observation is what one run reads.
type Observation struct {
	Sysctls Sysctls      // this namespace's window-scaling sysctls
	Probe   *ProbeResult // the live probe, with -H
	Scan    *Scan        // the passive scan, with --established
}

// Check runs the check on this host: Gather, then Judge.
func Check(ctx context.Context, o *Options, env plugin.Env) (*plugin.Result, error) {
	obs, err := Gather(ctx, linux.Host, o)
	if err != nil {
		return nil, err
	}
	return Judge(obs, o, env.Verbose), nil
}

// Gather reads the sysctls through f and, as asked, probes the target or
// scans the established sockets.
func Gather(ctx context.Context, f linux.FS, o *Options) (*Observation, error) {
	sys, err := ReadSysctls(f)
	if err != nil {
		return nil, err
	}
	obs := &Observation{Sysctls: sys}
	switch {
	case o.Host != "":
		obs.Probe, err = Probe(ctx, o)
	case o.Established:
		obs.Scan, err = ScanEstablished(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	return obs, nil
}
