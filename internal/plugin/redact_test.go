package plugin

import "testing"

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		text    string
		secrets []string
		want    string
	}{
		// A quoted secret, as a token of its own, whatever surrounds it.
		{"auth with Secr3t-URI failed", []string{"Secr3t-URI"}, "auth with xxxxx failed"},
		{`"Secr3t-URI"`, []string{"Secr3t-URI"}, `"xxxxx"`},
		{"Secr3t-URI", []string{"Secr3t-URI"}, "xxxxx"},
		{"u:Secr3t-URI@h and Secr3t-URI.", []string{"Secr3t-URI"}, "u:xxxxx@h and xxxxx."},
		{"p%40ss+word%21 sent", []string{"p%40ss+word%21"}, "xxxxx sent"},
		// A secret that begins or ends with punctuation needs no boundary
		// on that side.
		{"x-!pa55word!-y", []string{"!pa55word!"}, "x-xxxxx-y"},
		// Short secrets are never looked for: ordinary text stays whole
		// (the password "y" turned FerretDB's URL into securitxxxxx).
		{"See https://docs.ferretdb.io/security/authentication/ for more", []string{"y", "ity", "securit"}, "See https://docs.ferretdb.io/security/authentication/ for more"},
		// Inside a longer word it is not a quote.
		{"monitoring1 and monitoring", []string{"monitoring"}, "monitoring1 and xxxxx"},
		{"xmonitoring monitoringx", []string{"monitoring"}, "xmonitoring monitoringx"},
		{"aaaaaaaaa aaaaaaaa", []string{"aaaaaaaa"}, "aaaaaaaaa xxxxx"},
		{"é-secretvalue-é", []string{"secretvalue"}, "é-xxxxx-é"},
		{"ésecretvalue", []string{"secretvalue"}, "ésecretvalue"},
		{"nothing here", []string{""}, "nothing here"},
	} {
		if got := Redact(tc.text, tc.secrets...); got != tc.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tc.text, tc.secrets, got, tc.want)
		}
	}
}
