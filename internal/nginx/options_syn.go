package nginx

import "github.com/opschecks/opschecks/thresholds"

// SynSide are the options on the SYN queue, the half-open twin of the
// accept queue: the namespace's TcpExt counters of SYN queue overflows
// and syncookies, and, when asked for, the SYN_RECV sockets of each
// listener. Only the drop rate alerts unless told.
type SynSide struct {
	SynRecv                 bool              `long:"syn-recv" description:"Count each listener's SYN_RECV (half-open) connections: one more sock_diag request, which walks the whole TCP table as ss -tn state syn-recv does, so it costs what ss costs on a host with many connections (implied by --syn-recv-warning/-critical)"`
	SynRecvWarning          *thresholds.Range `long:"syn-recv-warning" value-name:"RANGE" description:"Warning range for a listener's SYN_RECV connections (off unless given)"`
	SynRecvCritical         *thresholds.Range `long:"syn-recv-critical" value-name:"RANGE" description:"Critical range for a listener's SYN_RECV connections"`
	SynDropsWarning         thresholds.Range  `long:"syn-drops-warning" default:"0" value-name:"RANGE" description:"Warning range for SYNs dropped per second because a SYN queue was full and syncookies were off (TcpExt TCPReqQFullDrop)"`
	SynDropsCritical        *thresholds.Range `long:"syn-drops-critical" value-name:"RANGE" description:"Critical range for SYNs dropped per second (off unless given)"`
	SyncookiesWarning       *thresholds.Range `long:"syncookies-warning" value-name:"RANGE" description:"Warning range for syncookies sent per second (TcpExt SyncookiesSent; off unless given)"`
	SyncookiesCritical      *thresholds.Range `long:"syncookies-critical" value-name:"RANGE" description:"Critical range for syncookies sent per second"`
	SyncookiesFailedWarning *thresholds.Range `long:"syncookies-failed-warning" value-name:"RANGE" description:"Warning range for ACKs per second whose syncookie did not validate (TcpExt SyncookiesFailed; off unless given)"`
	SyncookiesFailedCrit    *thresholds.Range `long:"syncookies-failed-critical" value-name:"RANGE" description:"Critical range for failed syncookies per second"`
}

// CountSynRecv reports whether the SYN_RECV sockets are counted.
func (s *SynSide) CountSynRecv() bool {
	return s.SynRecv || s.SynRecvWarning != nil || s.SynRecvCritical != nil
}

func (s *SynSide) synRecvThresholds() thresholds.Pair {
	return thresholds.NewPair(s.SynRecvWarning, s.SynRecvCritical)
}

func (s *SynSide) synDropThresholds() thresholds.Pair {
	return thresholds.NewPair(&s.SynDropsWarning, s.SynDropsCritical)
}

func (s *SynSide) syncookieThresholds() thresholds.Pair {
	return thresholds.NewPair(s.SyncookiesWarning, s.SyncookiesCritical)
}

func (s *SynSide) syncookieFailedThresholds() thresholds.Pair {
	return thresholds.NewPair(s.SyncookiesFailedWarning, s.SyncookiesFailedCrit)
}
