// Command owndump asks the kernel for its TCP sockets of one state
// (LISTEN; ESTABLISHED with tcp_info with -established) through
// internal/linux.DumpTCP and counts them.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/opschecks/opschecks/internal/linux"
)

func main() {
	q := linux.Query{States: linux.StateMask(linux.TCPListen)}
	if len(os.Args) > 1 && os.Args[1] == "-established" {
		q = linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true}
	}
	n := 0
	err := linux.DumpTCP(context.Background(), q, func(*linux.Socket) error { n++; return nil })
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	fmt.Println(n)
}
