package mongodb

import (
	"errors"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
)

func TestStripURIPassword(t *testing.T) {
	tests := map[string]string{
		"mongodb://u:p%40ss@h1:27017,h2/db?replicaSet=rs0":                 "mongodb://u:xxxxx@h1:27017,h2/db?replicaSet=rs0",
		"mongodb+srv://admin:secret@cluster0.example.net/":                 "mongodb+srv://admin:xxxxx@cluster0.example.net/",
		"mongodb://u@h/?authMechanism=MONGODB-X509":                        "mongodb://u@h/?authMechanism=MONGODB-X509",
		"mongodb://h:1/?x=a@b":                                             "mongodb://h:1/?x=a@b",
		"mongodb://u:pw@h":                                                 "mongodb://u:xxxxx@h",
		"not a uri":                                                        "not a uri",
		"mongodb://h/?tls=true&tlsCertificateKeyFilePassword=kp&appName=a": "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=xxxxx&appName=a",
	}
	for in, want := range tests {
		if got := StripURIPassword(in); got != want {
			t.Errorf("StripURIPassword(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	secrets := uriPassword("mongodb://u:p%40ss w@h/")
	if len(secrets) != 2 || secrets[1] != "p@ss w" {
		t.Fatalf("uriPassword = %q", secrets)
	}
	for _, s := range []string{"bad p@ss w here", "bad p%40ss w here", "bad p%40ss+w here", "bad p%40ss%20w here"} {
		if got := redact(s, secrets); strings.Contains(got, "ss") {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
	if got := uriPassword("mongodb://h/?tlsCertificateKeyFilePassword=k%20p"); len(got) != 2 || got[1] != "k p" {
		t.Errorf("uriPassword of the key file password = %q", got)
	}
	inner := plugin.Errorf(plugin.Critical, "auth with p@ss w failed")
	err := redactError(inner, secrets)
	if strings.Contains(err.Error(), "p@ss") || plugin.StateOf(err) != plugin.Critical || !errors.Is(err, inner) {
		t.Errorf("redactError lost the state or kept the secret: %v", err)
	}
	r := &plugin.Result{}
	r.Add(plugin.OK, "x p@ss w").Detailf("y p@ss w")
	r.Detailf("z p@ss w")
	redactResult(r, secrets)
	out, _ := plugin.Render("MONGODB", r)
	if strings.Contains(out, "p@ss") {
		t.Errorf("redactResult left the secret: %s", out)
	}
}
