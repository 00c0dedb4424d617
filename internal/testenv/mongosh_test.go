package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMongoshNode: the mongosh the tests run starts, and on a Node.js
// that every package installed with it supports by its engines field
// (mongosh 2.12.0's driver asks for >= 20.19.0; Debian 12's nodejs is
// 18.20, under which mongosh fails to start).
func TestMongoshNode(t *testing.T) {
	bin := Mongosh(t)
	out, err := exec.Command(bin, "--nodb", "--quiet", "--norc", "--eval", "print(process.versions.node)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --nodb: %v\n%s", bin, err, out)
	}
	have := version(strings.TrimSpace(string(out)))
	if have == nil {
		t.Fatalf("mongosh printed %q, not a Node.js version", out)
	}
	mods := filepath.Join(filepath.Dir(bin), "node_modules")
	files, _ := filepath.Glob(filepath.Join(mods, "*", "package.json"))
	scoped, _ := filepath.Glob(filepath.Join(mods, "@*", "*", "package.json"))
	files = append(files, scoped...)
	if len(files) < 100 {
		t.Fatalf("%d packages under %s: not mongosh's tree", len(files), mods)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pkg struct {
			Engines map[string]any `json:"engines"`
		}
		if json.Unmarshal(b, &pkg) != nil {
			continue
		}
		// Only the plain lower bounds (">=20.19.0", ">= 16"), the form
		// of the packages that bound the version from below.
		e, _ := pkg.Engines["node"].(string)
		min, ok := strings.CutPrefix(strings.TrimSpace(e), ">=")
		want := version(strings.TrimSpace(min))
		if !ok || want == nil || strings.ContainsAny(min, " |<") {
			continue
		}
		if less(have, want) {
			t.Errorf("mongosh runs on Node.js %s, but %s asks for node %s", strings.TrimSpace(string(out)), strings.TrimPrefix(f, mods+"/"), e)
		}
	}
}

// version parses "20.19.0" (missing parts are 0); nil if it is not one.
func version(s string) []int {
	v := make([]int, 3)
	for i, p := range strings.SplitN(s, ".", 3) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		v[i] = n
	}
	return v
}

func less(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
