package linux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		file       string
		soft, hard uint64
		err        string
	}{
		{file: "6.18-host.txt", soft: 20000, hard: 20000},
		{file: "nofile-unlimited.txt", soft: Unlimited, hard: Unlimited},
		{file: "no-nofile.txt", err: `no "Max open files" line`},
		{file: "not-a-number.txt", err: `limits line 2: "Max open files            many                 1024`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			b, err := os.ReadFile(filepath.Join("testdata", "limits", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "proc", "7"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "proc", "7", "limits"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := Under(dir).NoFileLimit(7)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || l.Soft != tc.soft || l.Hard != tc.hard || l.Name != "Max open files" {
				t.Fatalf("got %+v, %v; want %d/%d", l, err, tc.soft, tc.hard)
			}
		})
	}
	ls, err := ParseLimits(strings.NewReader(mustRead(t, "testdata/limits/6.18-host.txt")))
	if err != nil || len(ls) != 16 || ls[13].Name != "Max nice priority" || ls[15] != (Limit{"Max realtime timeout", Unlimited, Unlimited}) {
		t.Fatalf("all limits: %+v, %v", ls, err)
	}
	if _, err := Under(t.TempDir()).NoFileLimit(7); err == nil || !strings.Contains(err.Error(), "no process with PID 7") {
		t.Fatalf("a process that is gone: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCountFDs counts our own descriptors and sees one more open.
func TestCountFDs(t *testing.T) {
	pid := os.Getpid()
	before, err := Host.CountFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	after, err := Host.CountFDs(pid)
	if err != nil || after != before+1 {
		t.Fatalf("%d descriptors, then %d (%v) after opening one", before, after, err)
	}
	if _, err := Under(t.TempDir()).CountFDs(7); err == nil || !strings.Contains(err.Error(), "no process with PID 7") {
		t.Fatalf("a process that is gone: %v", err)
	}
}
