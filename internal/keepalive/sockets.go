package keepalive

import (
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// sampleMax is how many example sockets of each kind the details show.
const sampleMax = 5

// The kinds of socket the audit counts.
const (
	kindNoKeepalive = iota
	kindLongInterval
	kindAtRisk
	kinds
)

// Filter selects the sockets the audit looks at. Empty parts match all.
type Filter struct {
	Inodes  map[uint64]bool // owned by the target processes, nil for any
	Ports   []plugin.Port   // local or remote port
	Remotes []plugin.Prefix // remote address
}

// Audit classifies ESTABLISHED sockets one at a time as the kernel reports
// them, keeping only counters and a few examples: the audit of 100,000
// sockets allocates nothing per socket.
type Audit struct {
	Idle   time.Duration
	Filter Filter

	Total       int // sockets that matched the filter
	NoKeepalive int // SO_KEEPALIVE off
	LongGap     int // keepalive timer runs longer than the idle timeout
	AtRisk      int // idle longer than the idle timeout and not kept alive in time
	Busy        int // a retransmit or zero-window probe timer hides the keepalive timer

	idleMs   uint32
	samples  [kinds][sampleMax]linux.Socket
	nSamples [kinds]int
}

// NewAudit returns an audit against idle timeout d.
func NewAudit(d time.Duration, f Filter) *Audit {
	ms := d.Milliseconds()
	if ms > int64(^uint32(0)) {
		ms = int64(^uint32(0))
	}
	return &Audit{Idle: d, Filter: f, idleMs: uint32(ms)}
}

func (f *Filter) match(s *linux.Socket) bool {
	if f.Inodes != nil && !f.Inodes[s.Inode] {
		return false
	}
	if len(f.Ports) > 0 {
		ok := false
		for _, p := range f.Ports {
			if uint16(p) == s.Src.Port() || uint16(p) == s.Dst.Port() {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Remotes) > 0 {
		a := s.Dst.Addr()
		for _, p := range f.Remotes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return true
}

// Add classifies one socket. It has the signature DumpTCP's callback needs.
func (a *Audit) Add(s *linux.Socket) error {
	if s.State != linux.TCPEstablished || !a.Filter.match(s) {
		return nil
	}
	a.Total++
	keepalive := false
	switch s.Timer {
	case linux.TimerKeepalive:
		keepalive = true
	case linux.TimerRetrans, linux.TimerProbe:
		// idiag_timer names only the pending timer that comes first:
		// with data in flight the keepalive timer cannot be seen.
		a.Busy++
	default:
		a.NoKeepalive++
		a.keep(kindNoKeepalive, s)
	}
	// After each probe the timer runs for the socket's interval, before
	// the first for its idle time: either way, a timer set further out
	// than the idle timeout means the device forgets the flow first.
	longGap := keepalive && s.Expires > a.idleMs
	if longGap {
		a.LongGap++
		a.keep(kindLongInterval, s)
	}
	if s.Info != nil {
		idle := min(s.Info.LastDataSent, s.Info.LastDataRecv)
		// A socket whose keepalive fires within the idle timeout keeps
		// the device's entry fresh even when no data flows (probes do
		// not count as data in tcp_info).
		protected := keepalive && !longGap
		if idle > a.Idle && !protected {
			a.AtRisk++
			a.keep(kindAtRisk, s)
		}
	}
	return nil
}

func (a *Audit) keep(kind int, s *linux.Socket) {
	if n := a.nSamples[kind]; n < sampleMax {
		a.samples[kind][n] = s.Clone() // DumpTCP reuses s and its Info
		a.nSamples[kind] = n + 1
	}
}

// Examples describes the sampled sockets of one kind, for the details.
func (a *Audit) examples(kind int) []string {
	out := make([]string, 0, a.nSamples[kind])
	for _, s := range a.samples[kind][:a.nSamples[kind]] {
		line := fmt.Sprintf("%s -> %s", s.Src, s.Dst)
		if s.Timer == linux.TimerKeepalive {
			line += fmt.Sprintf(", keepalive timer %s", seconds(time.Duration(s.Expires)*time.Millisecond))
		} else {
			line += ", no keepalive"
		}
		if s.Info != nil {
			line += fmt.Sprintf(", idle %s", seconds(min(s.Info.LastDataSent, s.Info.LastDataRecv).Truncate(100*time.Millisecond)))
		}
		if s.Inode != 0 {
			line += fmt.Sprintf(", inode %d", s.Inode)
		}
		out = append(out, line)
	}
	return out
}
