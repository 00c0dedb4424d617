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

// FuzzStripURIPassword: the password of a connection string (the driver's:
// the user info ends at the first '@') never survives StripURIPassword,
// whatever its length and whatever surrounds it; a long one quoted in
// an error does not survive redact either.
func FuzzStripURIPassword(f *testing.F) {
	f.Add("mongodb://", "u", "p@ss", "h1:27017,h2/db?replicaSet=rs0")
	f.Add("mongodb+srv://", "admin", "secret", "cluster0.example.net/")
	f.Add("mongodb://", "", "x:y", "h")
	f.Add("mongodb://", "u", "p?ss", "h/?tls=true")
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		_ = StripURIPassword(scheme + user + ":" + pass + "@" + rest)
		_ = uriSecrets(scheme + rest)
		_ = validURI(scheme + user + ":" + pass + "@" + rest)
		if pass == "" || strings.ContainsAny(user, "@:") || strings.Contains(pass, "@") || strings.Contains(user+rest, pass) {
			return
		}
		uri := "mongodb://" + user + ":" + pass + "@" + rest
		if got, want := StripURIPassword(uri), "mongodb://"+user+":"+plugin.Redacted+"@"+rest; got != want && !strings.Contains(rest, "?") {
			t.Fatalf("StripURIPassword(%q) = %q, want %q", uri, got, want)
		}
		if err := validURI(uri); err != nil && strings.Contains(err.Error(), pass) {
			// Unless the words are there whatever the password: the
			// message for the same string with another password, or
			// the one for a password left unescaped.
			other := validURI("mongodb://" + user + ":QQ@" + rest)
			bad := validURI("mongodb://" + user + ":%@" + rest)
			if (other == nil || !strings.Contains(other.Error(), pass)) && (bad == nil || !strings.Contains(bad.Error(), pass)) {
				t.Fatalf("validURI(%q) quotes the password: %v", uri, err)
			}
		}
		if len(pass) < plugin.MinRedactLen {
			return
		}
		if got := redact("error with "+uri, uriSecrets(uri)); strings.Contains(got, pass) {
			t.Fatalf("redact kept the password: %q", got)
		}
	})
}
