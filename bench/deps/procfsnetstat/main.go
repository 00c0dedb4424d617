// Command procfsnetstat reads TcpExt ListenOverflows and ListenDrops of
// its network namespace through prometheus/procfs.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/procfs"
)

func main() {
	fs, err := procfs.NewFS("/proc")
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	p, err := fs.Self()
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	n, err := p.Netstat()
	if err != nil || n.ListenOverflows == nil || n.ListenDrops == nil {
		fmt.Println("netstat:", err)
		os.Exit(3)
	}
	fmt.Println(*n.ListenOverflows, *n.ListenDrops)
}
