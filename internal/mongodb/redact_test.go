package mongodb

import (
	"errors"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
)

func TestStripURIPassword(t *testing.T) {
	tests := map[string]string{
		"mongodb://u:p%40ss@h1:27017,h2/db?replicaSet=rs0": "mongodb://u:xxxxx@h1:27017,h2/db?replicaSet=rs0",
		"mongodb+srv://admin:secret@cluster0.example.net/": "mongodb+srv://admin:xxxxx@cluster0.example.net/",
		"mongodb://u@h/?authMechanism=MONGODB-X509":        "mongodb://u@h/?authMechanism=MONGODB-X509",
		"mongodb://u:pw@h": "mongodb://u:xxxxx@h",
		"mongodb://u:y@h":  "mongodb://u:xxxxx@h",
		"not a uri":        "not a uri",
		"mongodb://h/?tls=true&tlsCertificateKeyFilePassword=kp&appName=a": "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=xxxxx&appName=a",
		"mongodb://h/?tls=true;sslClientCertificateKeyPassword=kp":         "mongodb://h/?tls=true&sslClientCertificateKeyPassword=xxxxx",
		// The driver ends the user info at the first '@' and does not
		// stop at '/' or '?': so does the parse that hides the password.
		"mongodb://u:p?ss@h/": "mongodb://u:xxxxx@h/",
		"mongodb://u:p/ss@h/": "mongodb://u:xxxxx@h/",
		"mongodb://u:p@ss@h/": "mongodb://u:xxxxx@ss@h/",
		// "h:1/?x=a" is the user info to the driver (which then refuses
		// the slash): its "password" is hidden like any other.
		"mongodb://h:1/?x=a@b": "mongodb://h:xxxxx@b",
		"mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok3n,X:y": "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:xxxxx,X:y",
		// Only the session token is a secret: the other properties name
		// things, and -vv shows them.
		"mongodb://u@h/?authMechanism=GSSAPI&authMechanismProperties=SERVICE_NAME:mongo,CANONICALIZE_HOST_NAME:true": "mongodb://u@h/?authMechanism=GSSAPI&authMechanismProperties=SERVICE_NAME:mongo,CANONICALIZE_HOST_NAME:true",
	}
	for in, want := range tests {
		if got := StripURIPassword(in); got != want {
			t.Errorf("StripURIPassword(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestValidURIQuotesNoSecret: a --uri is refused with the reason, never
// with a piece of its secrets; the driver quoted the bad escape of a
// password ("invalid password: invalid URL escape "%zz"").
func TestValidURIQuotesNoSecret(t *testing.T) {
	for uri, want := range map[string]string{
		"mongodb://u:ab%zzcd@h/":                                     "invalid --uri: its password is not escaped as a connection string needs",
		"mongodb://u:ab:cd@h/":                                       "invalid --uri: its password is not escaped",
		"mongodb+srv://u:ab%zzcd@h/":                                 "invalid --uri: its password is not escaped",
		"mongodb://h/?tls=true&tlsCertificateKeyFilePassword=a%zzcd": "invalid --uri: the value of tlsCertificateKeyFilePassword is not escaped",
		"mongodb://u:abzzcd@h:notaport/":                             "port must be an integer",
		"mongo://u:abzzcd@h/":                                        "invalid --uri: expected a connection string starting with mongodb://",
	} {
		err := validURI(uri)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validURI(%q) = %v, want %q", uri, err, want)
			continue
		}
		if strings.Contains(err.Error(), "zz") {
			t.Errorf("validURI(%q) quotes the secret: %v", uri, err)
		}
	}
	for _, uri := range []string{"mongodb://u:p%40ss@h/", "mongodb://u:p?ss@h/?replicaSet=rs0", "mongodb://AKIAEXAMPLE:s3cret@h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok3n"} {
		if err := validURI(uri); err != nil {
			t.Errorf("validURI(%q) = %v", uri, err)
		}
	}
}

func TestRedact(t *testing.T) {
	secrets := uriSecrets("mongodb://u:p%40ss%20word@h/")
	if len(secrets) != 2 || secrets[1] != "p@ss word" {
		t.Fatalf("uriSecrets = %q", secrets)
	}
	for _, s := range []string{"bad p@ss word here", "bad p%40ss+word here", "bad p%40ss%20word here"} {
		if got := redact(s, secrets); strings.Contains(got, "ss") {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
	if got := uriSecrets("mongodb://h/?tlsCertificateKeyFilePassword=k%20p"); len(got) != 2 || got[1] != "k p" {
		t.Errorf("uriSecrets of the key file password = %q", got)
	}
	inner := plugin.Errorf(plugin.Critical, "auth with p@ss word failed")
	err := redactError(inner, secrets)
	if strings.Contains(err.Error(), "p@ss") || plugin.StateOf(err) != plugin.Critical || !errors.Is(err, inner) {
		t.Errorf("redactError lost the state or kept the secret: %v", err)
	}
	r := &plugin.Result{}
	r.Add(plugin.OK, "x p@ss word").Detailf("y p@ss word")
	r.Detailf("z p@ss word")
	redactResult(r, secrets)
	out, _ := plugin.Render("MONGODB", r)
	if strings.Contains(out, "p@ss") {
		t.Errorf("redactResult left the secret: %s", out)
	}
	// A short password is kept out of the output by construction, and
	// ordinary text that happens to hold it stays whole.
	if got := redact("See https://docs.ferretdb.io/security/authentication/", []string{"y"}); got != "See https://docs.ferretdb.io/security/authentication/" {
		t.Errorf("redact mangled ordinary text: %q", got)
	}
}
