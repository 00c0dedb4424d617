// Command netlinkdump asks the kernel for its TCP sockets of one state
// (LISTEN; ESTABLISHED with tcp_info with -established) over
// NETLINK_SOCK_DIAG through mdlayher/netlink, and counts them as they
// stream in (ReceiveIter), decoding each with internal/linux's decoder.
package main

import (
	"fmt"
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
)

func main() {
	q := linux.Query{States: linux.StateMask(linux.TCPListen)}
	if len(os.Args) > 1 && os.Args[1] == "-established" {
		q = linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true}
	}
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nil)
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	defer c.Close()
	n := 0
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := netlink.Message{
			Header: netlink.Header{Type: 20, Flags: netlink.Request | netlink.Dump}, // SOCK_DIAG_BY_FAMILY
			Data:   linux.EncodeDiagRequest(fam, q),
		}
		if _, err := c.Send(req); err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		for m, err := range c.ReceiveIter() {
			if err != nil {
				fmt.Println(err)
				os.Exit(3)
			}
			if _, err := linux.DecodeDiagMsg(m.Data); err != nil {
				fmt.Println(err)
				os.Exit(3)
			}
			n++
		}
	}
	fmt.Println(n)
}
