#!/bin/sh
# Measures what prometheus/procfs and mdlayher/netlink would cost the
# checks against our own readers (bench/deps/doc.go); the results and
# their reading are in README.md, Development. As root (a network
# namespace for the socket load). Usage: bench/deps/measure.sh [PAIRS]
set -eu
cd "$(dirname "$0")"
pairs=${1:-9400}
bin=$(mktemp -d)
ns=opschecks-deps-$$
cleanup() { exec 3>&- 2>/dev/null; ip netns pids "$ns" 2>/dev/null | xargs -r kill; ip netns del "$ns" 2>/dev/null || true; rm -rf "$bin"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/" ./...
(cd ../.. && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/gohello" ./bench/gohello)

echo "== package init (GODEBUG=inittrace=1), median of 200 runs"
for b in gohello ownnetstat procfsnetstat owndump netlinkdump; do
	for i in $(seq 200); do GODEBUG=inittrace=1 "$bin/$b" 2>&1 >/dev/null | awk '{c+=$5} END {print c}'; done |
		sort -n | awk -v b="$b" '{a[NR]=$1} END {printf "%-14s %.3f ms\n", b, a[int(NR/2)]}'
done

echo "== whole process: hyperfine -N -w 50 -r 1000 (medians need a quiet machine; compare the pairs)"
hyperfine -N -w 50 -r 1000 "$bin/gohello" "$bin/ownnetstat" "$bin/procfsnetstat" "$bin/owndump" "$bin/netlinkdump"

echo "== ESTABLISHED with tcp_info: $pairs pairs per load process, 5 processes"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
# The loads read a FIFO whose only writer is this script: they end when
# it does.
mkfifo "$bin/hold"
exec 3<>"$bin/hold"
for i in 1 2 3 4 5; do
	ip netns exec "$ns" "$bin/load" "$pairs" <"$bin/hold" >"$bin/load$i" &
done
until [ "$(cat "$bin"/load? 2>/dev/null | grep -c ready)" -eq 5 ]; do sleep 1; done
ip netns exec "$ns" "$bin/owndump" -established
ip netns exec "$ns" hyperfine -N -w 3 -r 30 "$bin/owndump -established" "$bin/netlinkdump -established"
for b in owndump netlinkdump; do ip netns exec "$ns" /usr/bin/time -f "$b -established: peak RSS %M KiB" "$bin/$b" -established >/dev/null; done
