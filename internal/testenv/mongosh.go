package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Mongosh returns the mongosh that scripts/install-test-deps.sh installs
// from the npm registry into $(go env GOPATH)/opschecks/mongosh: the
// wrapper there, which runs it with a Node.js it supports (>= 20.19.0, the
// engines of its MongoDB driver; Debian 12's nodejs 18 is too old). It
// skips (fails under CI) when it is missing.
func Mongosh(t testing.TB) string {
	t.Helper()
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "opschecks", "mongosh", "mongosh")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "mongosh is not installed; run scripts/install-test-deps.sh (the README's test command does), which installs mongosh 2.12.0 from the npm registry into $(go env GOPATH)/opschecks/mongosh, with Node.js 20.19 or later when the node on PATH is older")
	return ""
}

// RunMongosh runs mongosh non-interactively against uri with script as
// --eval and returns its combined output. Its telemetry and update check
// are off (a global config file, MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING),
// so it talks to nothing but uri.
func RunMongosh(t testing.TB, uri, script string) (string, error) {
	t.Helper()
	bin := Mongosh(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mongosh.conf")
	if err := os.WriteFile(cfg, []byte("mongosh:\n  enableTelemetry: false\n  updateURL: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, uri, "--quiet", "--norc", "--eval", script)
	cmd.Env = append(os.Environ(), "HOME="+dir, "MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING="+cfg)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
