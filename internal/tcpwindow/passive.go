package tcpwindow

import (
	"context"

	"github.com/opschecks/opschecks/internal/linux"
)

// maxListed bounds the connections named in the details.
const maxListed = 10

// Verdict classifies one established connection by its tcp_info.
type Verdict int

// Connection verdicts.
const (
	Scaled   Verdict = iota // window scaling negotiated
	Unscaled                // not negotiated, window plausible: 64 KiB cap
	Mangled                 // not negotiated, yet the peer's window is tiny
)

// Classify looks at one connection: the mangled signature is a peer
// window below minWindow on a connection where we did not negotiate
// scaling (the peer did, and its shifted windows reach us unshifted).
func Classify(ti *linux.TCPInfo, minWindow int) Verdict {
	switch {
	case ti.WscaleOK():
		return Scaled
	case ti.HasSndWnd && ti.SndWnd < uint32(minWindow):
		return Mangled
	}
	return Unscaled
}

// Scan is what the passive mode saw: the established sockets of this
// network namespace that match the filter, counted by Classify's verdict
// as the kernel reports them, with the first few of each kind kept.
type Scan struct {
	Total, NoInfo int
	Count         [3]int            // by Verdict
	Examples      [3][]linux.Socket // the first maxListed of each Verdict
}

// ScanEstablished is the passive mode: the established sockets of this
// network namespace, from sock_diag with tcp_info, asked of the kernel by
// state. Each is classified as it is read (a list of 200,000 sockets
// would cost far more than the counts); the verdicts on the counts are
// judgeScan's.
func ScanEstablished(ctx context.Context, o *Options) (*Scan, error) {
	sc := &Scan{}
	port, remote, minWindow := uint16(o.Port), o.Remote.Prefix, int(o.MinWindow)
	err := linux.DumpTCP(ctx, linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true}, func(s *linux.Socket) error {
		if port != 0 && s.Src.Port() != port && s.Dst.Port() != port {
			return nil
		}
		if remote.IsValid() && !remote.Contains(s.Dst.Addr().Unmap()) {
			return nil
		}
		sc.Total++
		if s.Info == nil {
			sc.NoInfo++
			return nil
		}
		v := Classify(s.Info, minWindow)
		sc.Count[v]++
		if v != Scaled && len(sc.Examples[v]) < maxListed {
			sc.Examples[v] = append(sc.Examples[v], s.Clone())
		}
		return nil
	})
	return sc, err
}
