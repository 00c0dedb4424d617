// Command opschecks-tls is the TLS client of check_nginx_queue's https
// status URLs, a process of its own so that the check does not link
// crypto/tls and crypto/x509 (their package initialisation and page
// faults cost every run of the check about 0.27 ms, measured in
// internal/nginx/fetch.go, while few status pages are served over https).
//
// It takes a connected TCP socket as file descriptor 3, makes the TLS
// handshake on it (--server-name is sent and verified; --insecure skips
// the verification; SSL_CERT_FILE and SSL_CERT_DIR choose the roots, as
// for any Go program), then writes what it reads on stdin to the
// connection and what the server answers to stdout, up to --max bytes,
// until the server closes. A failure is one line on stderr: "verify: "
// and the reason when the certificate could not be verified,
// "handshake: " or "io: " otherwise; the exit code is then 1. It never
// sees more of the request than the bytes it forwards.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	name := flag.String("server-name", "", "name sent (SNI) and verified")
	insecure := flag.Bool("insecure", false, "do not verify the certificate")
	timeout := flag.Duration("timeout", 10*time.Second, "for the whole exchange")
	limit := flag.Int64("max", 64*1024, "bytes of answer at most")
	flag.Parse()
	if err := run(*name, *insecure, *timeout, *limit); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(name string, insecure bool, timeout time.Duration, limit int64) error {
	f := os.NewFile(3, "connection")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("handshake: no connection on descriptor 3: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tc := tls.Client(conn, &tls.Config{ServerName: name, InsecureSkipVerify: insecure}) //nolint:gosec // asked for by --status-insecure
	if err := tc.HandshakeContext(ctx); err != nil {
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			return fmt.Errorf("verify: %v", err)
		}
		return fmt.Errorf("handshake: %v", err)
	}
	req, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fmt.Errorf("io: reading the request: %v", err)
	}
	if _, err := tc.Write(req); err != nil {
		return fmt.Errorf("io: %v", err)
	}
	if _, err := io.Copy(os.Stdout, io.LimitReader(tc, limit)); err != nil {
		return fmt.Errorf("io: %v", err)
	}
	return nil
}
