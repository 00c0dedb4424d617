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
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseStubStatus reads the pages of testdata/stub_status, whose
// sources SOURCES.md names: nginx's, its forks' (Tengine's extra
// request_time column), and damaged ones.
func TestParseStubStatus(t *testing.T) {
	tengine := StubStatus{Active: 3, Accepts: 1127, Handled: 1127, Requests: 4056, Writing: 1, Waiting: 2,
		Counters: []Column{{"request_time", 98321}}}
	for _, tc := range []struct {
		file string
		want StubStatus
		err  string
	}{
		{file: "busy.txt", want: StubStatus{Active: 291, Accepts: 16630948, Handled: 16630948, Requests: 31070465, Reading: 6, Writing: 179, Waiting: 106}},
		{file: "dropped.txt", want: StubStatus{Active: 1, Accepts: 7, Handled: 5, Requests: 12, Writing: 1}},
		{file: "tengine.txt", want: tengine},
		{file: "angie.txt", want: StubStatus{Active: 2, Accepts: 15, Handled: 15, Requests: 31, Writing: 1, Waiting: 1}},
		{file: "freenginx.txt", want: StubStatus{Active: 2, Accepts: 40, Handled: 40, Requests: 77, Writing: 1, Waiting: 1}},
		{file: "crlf.txt", want: StubStatus{}},
		{file: "swapped.txt", want: StubStatus{Active: 1, Accepts: 7, Handled: 7, Requests: 9, Waiting: 1}},
		{file: "tengine_truncated.txt", err: `not stub_status output: no "Reading: N Writing: N Waiting: N" line`},
		{file: "html404.txt", err: `not stub_status output: no "Active connections:" line (7 non-empty lines)`},
		{file: "hello.txt", err: `not stub_status output: no "Active connections:" line (1 non-empty lines)`},
		{file: "empty.txt", err: `not stub_status output: no "Active connections:" line (0 non-empty lines)`},
		{file: "short_counts.txt", err: "not stub_status output: 2 numbers for the 3 columns accepts handled requests"},
		{file: "negative.txt", err: `Active connections "-1" is not a non-negative integer`},
		{file: "handled_gt_accepts.txt", err: "handled (7) is greater than accepts (5)"},
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
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if d := (StubStatus{Accepts: 7, Handled: 5}).Dropped(); d != 2 {
		t.Fatalf("Dropped = %d, want 2", d)
	}
}

// TestParseStubStatusByName: the columns are matched by name, so a page
// whose standard counters are not where nginx puts them still reads
// right, and one without them is not a stub_status page.
func TestParseStubStatusByName(t *testing.T) {
	for _, tc := range []struct {
		name, page string
		want       StubStatus
		err        string
	}{
		{"counters in another order", "Active connections: 1 \nserver requests accepts handled\n 9 7 5 \nReading: 0 Writing: 1 Waiting: 0 \n",
			StubStatus{Active: 1, Accepts: 7, Handled: 5, Requests: 9, Writing: 1}, ""},
		{"tengine's column first", "Active connections: 3 \nserver request_time accepts handled requests\n 98321 1127 1127 4056\nReading: 0 Writing: 1 Waiting: 2 \n",
			StubStatus{Active: 3, Accepts: 1127, Handled: 1127, Requests: 4056, Writing: 1, Waiting: 2, Counters: []Column{{"request_time", 98321}}}, ""},
		{"no requests column", "Active connections: 3 \nserver accepts handled request_time\n 1127 1127 98321\nReading: 0 Writing: 1 Waiting: 2 \n",
			StubStatus{}, `not stub_status output: no requests column in "server accepts handled request_time"`},
		{"a column twice", "Active connections: 3 \nserver accepts handled requests accepts\n 1 1 1 1\nReading: 0 Writing: 1 Waiting: 2 \n",
			StubStatus{}, `not stub_status output: column "accepts" twice`},
		{"no Waiting", "Active connections: 1 \nserver accepts handled requests\n 7 7 9 \nReading: 0 Writing: 1 \n",
			StubStatus{}, `not stub_status output: no Waiting in "Reading: 0 Writing: 1"`},
		{"numbers missing", "Active connections: 1 \nReading: 0 Writing: 1 Waiting: 0 \nserver accepts handled requests\n",
			StubStatus{}, `not stub_status output: no numbers below "server accepts handled requests"`},
	} {
		got, err := ParseStubStatus(strings.NewReader(tc.page))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// FuzzParseStubStatus: no panic, and an accepted page holds consistent,
// non-negative figures that survive printing it the way nginx (and
// Tengine, for further columns) does.
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
		again, err := ParseStubStatus(strings.NewReader(printStub(s)))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, s)
		}
	})
}

// printStub writes s as nginx's module does, further counters as
// Tengine's does and further gauges after Waiting.
func printStub(s StubStatus) string {
	names, values := "server accepts handled requests", fmt.Sprintf(" %d %d %d", s.Accepts, s.Handled, s.Requests)
	for _, c := range s.Counters {
		names += " " + c.Name
		values += fmt.Sprintf(" %d", c.Value)
	}
	states := fmt.Sprintf("Reading: %d Writing: %d Waiting: %d", s.Reading, s.Writing, s.Waiting)
	for _, g := range s.Gauges {
		states += fmt.Sprintf(" %s: %d", g.Name, g.Value)
	}
	return fmt.Sprintf("Active connections: %d \n%s\n%s \n%s \n", s.Active, names, values, states)
}

// TestFetchRecordedPages serves each recorded page (nginx's, Tengine's,
// Angie's, freenginx's) from a loopback HTTP server, as text/plain with
// its length, the way nginx sends it, and reads it through the check's
// own HTTP client.
func TestFetchRecordedPages(t *testing.T) {
	pages := map[string][]byte{}
	for _, name := range []string{"busy.txt", "tengine.txt", "angie.txt", "freenginx.txt", "html404.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "stub_status", name))
		if err != nil {
			t.Fatal(err)
		}
		pages["/"+name] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, want := range map[string]StubStatus{
		"busy.txt":      {Active: 291, Accepts: 16630948, Handled: 16630948, Requests: 31070465, Reading: 6, Writing: 179, Waiting: 106},
		"tengine.txt":   {Active: 3, Accepts: 1127, Handled: 1127, Requests: 4056, Writing: 1, Waiting: 2, Counters: []Column{{"request_time", 98321}}},
		"angie.txt":     {Active: 2, Accepts: 15, Handled: 15, Requests: 31, Writing: 1, Waiting: 1},
		"freenginx.txt": {Active: 2, Accepts: 40, Handled: 40, Requests: 77, Writing: 1, Waiting: 1},
	} {
		got, err := FetchStubStatus(ctx, StatusRequest{URL: srv.URL + "/" + name})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, want)
		}
	}
	_, err := FetchStubStatus(ctx, StatusRequest{URL: srv.URL + "/html404.txt"})
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Kind != FetchNotStub || !strings.Contains(fe.Msg, "not stub_status output") {
		t.Errorf("an HTML page: %v, want not stub_status output", err)
	}
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

	s, err := FetchStubStatus(ctx, StatusRequest{URL: srv.URL + "/nginx_status", Insecure: true})
	if err != nil || s.Dropped() != 2 || s.Requests != 12 {
		t.Fatalf("got %+v, %v; want the dropped.txt figures", s, err)
	}
	_, err = FetchStubStatus(ctx, StatusRequest{URL: strings.Replace(srv.URL, "https://", "https://op:pw123@", 1) + "/nginx_status"})
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Kind != FetchTLSVerify || !strings.Contains(fe.Msg, "certificate") || strings.Contains(fe.Msg, "pw123") {
		t.Fatalf("unverified certificate: %v, want a certificate error without the password", err)
	}
	_, err = FetchStubStatus(ctx, StatusRequest{URL: srv.URL + "/other", Insecure: true})
	if !errors.As(err, &fe) || fe.Kind != FetchStatus || !strings.Contains(fe.Msg, "answered 404 Not Found") {
		t.Fatalf("404: %v", err)
	}
}
