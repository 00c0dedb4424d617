// Command load holds N established loopback connection pairs (2N
// sockets) open until its standard input closes, for measuring a
// sock_diag dump against many sockets; run it inside a network namespace
// made for the purpose (measure.sh). N is bounded by the open-files
// limit (two descriptors a pair).
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Println("usage: load N")
		os.Exit(2)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if uint64(2*n+100) > lim.Cur {
		fmt.Printf("%d pairs need %d descriptors; the limit is %d\n", n, 2*n+100, lim.Cur)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	conns := make([]net.Conn, 0, 2*n)
	accepted := make(chan net.Conn)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			accepted <- c
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		conns = append(conns, c, <-accepted)
	}
	fmt.Println("ready", len(conns))
	_, _ = os.Stdin.Read(make([]byte, 1))
}
