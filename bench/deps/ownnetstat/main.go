// Command ownnetstat reads TcpExt ListenOverflows and ListenDrops of its
// network namespace through internal/linux.
package main

import (
	"fmt"
	"os"

	"github.com/opschecks/opschecks/internal/linux"
)

func main() {
	b, err := linux.ReadFile("/proc/self/net/netstat")
	if err == nil {
		var v []uint64
		if v, err = linux.NetstatCounters(b, "TcpExt", "ListenOverflows", "ListenDrops"); err == nil {
			fmt.Println(v[0], v[1])
			return
		}
	}
	fmt.Println(err)
	os.Exit(3)
}
