package mongodb

import (
	"context"
	"testing"
)

// The mechanisms FerretDB cannot test (MONGODB-X509, PLAIN) still reach
// the driver with the right source and credentials.
func TestClientOptionsAuth(t *testing.T) {
	for _, tc := range []struct {
		mech, authdb, source string
		cred                 credentials
		user                 string
	}{
		{"MONGODB-X509", "admin", "$external", credentials{}, ""},
		{"MONGODB-X509", "admin", "$external", credentials{user: "CN=monitor,OU=nagios"}, "CN=monitor,OU=nagios"},
		{"plain", "admin", "$external", credentials{user: "ldapuser", password: "pw", passwordSet: true}, "ldapuser"},
		{"PLAIN", "ldap", "ldap", credentials{user: "ldapuser", password: "pw", passwordSet: true}, "ldapuser"},
		{"SCRAM-SHA-1", "monitoring", "monitoring", credentials{user: "u", password: "pw", passwordSet: true}, "u"},
	} {
		o := &Options{Host: "127.0.0.1", Port: 27017, AuthDB: tc.authdb, AuthMechanism: tc.mech}
		co, s, err := clientOptions(context.Background(), o, tc.cred)
		if err != nil {
			t.Fatalf("%s: %v", tc.mech, err)
		}
		if co.Auth == nil {
			t.Fatalf("%s: no credential", tc.mech)
		}
		if co.Auth.AuthSource != tc.source || co.Auth.Username != tc.user || s.User != tc.user {
			t.Errorf("%s: source %q user %q (session %q), want %q %q", tc.mech, co.Auth.AuthSource, co.Auth.Username, s.User, tc.source, tc.user)
		}
		if co.Auth.PasswordSet != tc.cred.passwordSet {
			t.Errorf("%s: password set %t", tc.mech, co.Auth.PasswordSet)
		}
	}
	// SCRAM without a password is refused before any connection.
	o := &Options{Host: "127.0.0.1", Port: 27017, AuthDB: "admin", AuthMechanism: "SCRAM-SHA-256"}
	if _, _, err := clientOptions(context.Background(), o, credentials{user: "u"}); err == nil {
		t.Error("SCRAM user without a password accepted")
	}
}
