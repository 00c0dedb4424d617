package mongodb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
)

// FuzzDecoders feeds arbitrary BSON to every reply decoder: a server (or a
// proxy in front of it) may send anything, and the check must answer with
// a result or an error, never a panic or broken output.
func FuzzDecoders(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := ReadDocument(fh)
		fh.Close()
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		f.Add([]byte(raw))
	}
	odd, _ := bson.Marshal(bson.D{{Key: "connections", Value: bson.D{{Key: "current", Value: "x"}}},
		{Key: "wiredTiger", Value: bson.D{{Key: "cache", Value: 5}}}, {Key: "log", Value: bson.A{1, "a", nil}}})
	f.Add(odd)
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Doc{Name: "serverStatus", Raw: bson.Raw(b)}
		o := &Options{Database: "db", Collection: "c"}
		for _, fn := range []func(Doc, string, *Options) (*plugin.Result, error){
			connectionsResult, memoryResult, wiredTigerResult, queuesResult,
			databaseSizeResult, collectionSizeResult,
		} {
			r, err := fn(d, "h:1", o)
			if err == nil {
				out, _ := plugin.Render("MONGODB", r)
				if !strings.HasPrefix(out, "MONGODB ") {
					t.Fatalf("broken output %q", out)
				}
			}
		}
		for _, cs := range []counterSet{opcounterSet, assertSet} {
			_, _ = cs.counters(d)
		}
		if lines, err := getLogLines(bson.Raw(b)); err == nil {
			_ = startupResult(ParseStartupLog(lines), nil, nil, "h:1")
		}
	})
}

// FuzzStripURIPassword: the password of a connection string never
// survives StripURIPassword or redact, whatever surrounds it.
func FuzzStripURIPassword(f *testing.F) {
	f.Add("mongodb://", "u", "p@ss", "h1:27017,h2/db?replicaSet=rs0")
	f.Add("mongodb+srv://", "admin", "secret", "cluster0.example.net/")
	f.Add("mongodb://", "", "x:y", "h")
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		_ = StripURIPassword(scheme + user + ":" + pass + "@" + rest)
		_ = uriPassword(scheme + rest)
		if len(pass) < 6 || strings.ContainsAny(user+pass+rest, "@/?:%&=+ ") || strings.Contains(user+rest, pass) {
			return
		}
		uri := "mongodb://" + user + ":" + pass + "@" + rest
		if got := StripURIPassword(uri); strings.Contains(got, pass) {
			t.Fatalf("StripURIPassword(%q) = %q keeps the password", uri, got)
		}
		if got := redact("error with "+uri, uriPassword(uri)); strings.Contains(got, pass) {
			t.Fatalf("redact kept the password: %q", got)
		}
	})
}
