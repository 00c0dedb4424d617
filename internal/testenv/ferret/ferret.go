// Package ferret finds FerretDB and spells its command line, for the tests
// (through testenv) and for the bench harness, which must not import
// testing.
package ferret

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
)

// Look returns the path of the ferretdb binary that
// scripts/install-test-deps.sh builds into $(go env GOPATH)/bin (or
// ~/go/bin), or finds it on PATH.
func Look() (string, error) {
	var candidates []string
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(string(bytes.TrimSpace(gp))) {
			candidates = append(candidates, filepath.Join(d, "bin", "ferretdb"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, "go", "bin", "ferretdb"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return exec.LookPath("ferretdb")
}

// Args are the flags of a FerretDB with the SQLite backend and its state
// in dir, listening on addr ("127.0.0.1:PORT"), without telemetry.
func Args(dir, addr string) []string {
	return []string{
		"--handler=sqlite",
		"--sqlite-url=file:" + dir + "/",
		"--state-dir=" + dir,
		"--listen-addr=" + addr,
		"--telemetry=disable",
		"--debug-addr=127.0.0.1:0",
	}
}
