package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStubStatus(t *testing.T) {
	for _, tc := range []struct {
		file string
		want StubStatus
		err  string
	}{
		{file: "busy.txt", want: StubStatus{Active: 291, Accepts: 16630948, Handled: 16630948, Requests: 31070465, Reading: 6, Writing: 179, Waiting: 106}},
		{file: "dropped.txt", want: StubStatus{Active: 1, Accepts: 7, Handled: 5, Requests: 12, Writing: 1}},
		{file: "crlf.txt", want: StubStatus{}},
		{file: "html404.txt", err: "not stub_status output: 7 non-empty lines, expected 4"},
		{file: "hello.txt", err: "not stub_status output: 1 non-empty lines, expected 4"},
		{file: "empty.txt", err: "not stub_status output: 0 non-empty lines"},
		{file: "short_counts.txt", err: "2 numbers for accepts, handled and requests, expected 3"},
		{file: "negative.txt", err: `Active connections "-1" is not a non-negative integer`},
		{file: "handled_gt_accepts.txt", err: "handled (7) is greater than accepts (5)"},
		{file: "swapped.txt", err: `found "Waiting:" where "Writing:" was expected`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "stub_status", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := ParseStubStatus(f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if d := (StubStatus{Accepts: 7, Handled: 5}).Dropped(); d != 2 {
		t.Fatalf("Dropped = %d, want 2", d)
	}
}

// FuzzParseStubStatus: no panic, and an accepted page holds consistent,
// non-negative figures that survive printing it the way nginx does.
func FuzzParseStubStatus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stub_status", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStubStatus(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, v := range []int64{s.Active, s.Accepts, s.Handled, s.Requests, s.Reading, s.Writing, s.Waiting} {
			if v < 0 {
				t.Fatalf("negative figure in %+v", s)
			}
		}
		if s.Dropped() < 0 {
			t.Fatalf("handled > accepts accepted: %+v", s)
		}
		page := fmt.Sprintf("Active connections: %d \nserver accepts handled requests\n %d %d %d \nReading: %d Writing: %d Waiting: %d \n",
			s.Active, s.Accepts, s.Handled, s.Requests, s.Reading, s.Writing, s.Waiting)
		again, err := ParseStubStatus(strings.NewReader(page))
		if err != nil || again != s {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, s)
		}
	})
}

// TestFetchStubStatusTLS serves a stub_status page over https on
// loopback: accepted with --status-insecure, refused by certificate
// verification without it.
func TestFetchStubStatusTLS(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "stub_status", "dropped.txt"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/nginx_status" {
			http.NotFound(w, r)
			return
		}
		w.Write(page)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	s, err := FetchStubStatus(ctx, srv.URL+"/nginx_status", true)
	if err != nil || s.Dropped() != 2 || s.Requests != 12 {
		t.Fatalf("got %+v, %v; want the dropped.txt figures", s, err)
	}
	_, err = FetchStubStatus(ctx, strings.Replace(srv.URL, "https://", "https://op:pw123@", 1)+"/nginx_status", false)
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Kind != FetchTLSVerify || !strings.Contains(fe.Msg, "certificate") || strings.Contains(fe.Msg, "pw123") {
		t.Fatalf("unverified certificate: %v, want a certificate error without the password", err)
	}
	_, err = FetchStubStatus(ctx, srv.URL+"/other", true)
	if !errors.As(err, &fe) || fe.Kind != FetchStatus || !strings.Contains(fe.Msg, "answered 404 Not Found") {
		t.Fatalf("404: %v", err)
	}
}
