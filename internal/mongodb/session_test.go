package mongodb

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/mongo/address"
	"go.mongodb.org/mongo-driver/mongo/description"
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

// topologySettled against the descriptions the driver publishes while it
// discovers a set whose seeds include a delayed member (not listed by the
// primary's hello).
func TestTopologySettled(t *testing.T) {
	const d, p, s = address.Address("d:27017"), address.Address("p:27017"), address.Address("s:27017")
	unchecked := func(a address.Address) description.Server { return description.Server{Addr: a} }
	failed := func(a address.Address) description.Server {
		return description.Server{Addr: a, LastError: errors.New("connection refused")}
	}
	secondary := func(a, primary address.Address) description.Server {
		return description.Server{Addr: a, Kind: description.RSSecondary, Primary: primary}
	}
	for _, tc := range []struct {
		name string
		kind description.TopologyKind
		srvs []description.Server
		want bool
	}{
		{"nothing checked yet (replicaSet= starts as ReplicaSetNoPrimary)", description.ReplicaSetNoPrimary, []description.Server{unchecked(d), unchecked(p)}, false},
		{"nothing checked yet (no replicaSet=)", description.Unknown, []description.Server{unchecked(d), unchecked(p)}, false},
		{"the delayed seed answered first, naming the primary", description.ReplicaSetNoPrimary, []description.Server{secondary(d, p), unchecked(p), unchecked(s)}, false},
		{"the primary answered: the delayed seed is gone", description.ReplicaSetWithPrimary, []description.Server{{Addr: p, Kind: description.RSPrimary}, unchecked(s)}, true},
		{"the named primary failed its check", description.ReplicaSetNoPrimary, []description.Server{secondary(d, p), failed(p), unchecked(s)}, true},
		{"no member names a primary; one hangs", description.ReplicaSetNoPrimary, []description.Server{secondary(s, ""), unchecked(p)}, true},
		{"one seed failed, the other not checked yet", description.Unknown, []description.Server{failed(d), unchecked(p)}, false},
		{"every seed failed", description.Unknown, []description.Server{failed(d), failed(p)}, true},
		{"mongos", description.Sharded, []description.Server{{Addr: d, Kind: description.Mongos}, unchecked(p)}, true},
	} {
		if got := topologySettled(description.Topology{Kind: tc.kind, Servers: tc.srvs}); got != tc.want {
			t.Errorf("%s: settled %t, want %t", tc.name, got, tc.want)
		}
	}
}
