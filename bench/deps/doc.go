// Package deps measures what two libraries would cost the checks, against
// our own readers doing the same work (README, Development: "Dependencies
// and their measured cost"). It is a module of its own, so the product's
// go.mod never carries the candidates:
//
//	procfsnetstat  TcpExt ListenOverflows/ListenDrops of /proc/self/net/netstat
//	               through github.com/prometheus/procfs (Proc.Netstat)
//	ownnetstat     the same through internal/linux.NetstatCounters
//	netlinkdump    a sock_diag dump (LISTEN, or ESTABLISHED with tcp_info
//	               with -established) through github.com/mdlayher/netlink
//	               (ReceiveIter, which streams a multi-part dump)
//	owndump        the same dump through internal/linux.DumpTCP
//
// Each prints what it read, so the pairs can be compared; run them with
// hyperfine and GODEBUG=inittrace=1 (bench/deps/measure.sh).
package deps
