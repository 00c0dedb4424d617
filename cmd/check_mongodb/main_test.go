package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	mopts "go.mongodb.org/mongo-driver/mongo/options"

	"github.com/opschecks/opschecks/internal/mongodb"
	"github.com/opschecks/opschecks/internal/testenv"
)

// relaxed are connect-time thresholds for the tests that are about
// discovery, authentication or TLS rather than time: an OK there must not
// turn WARNING because the machine is busy.
var relaxed = []string{"-w", "8", "-c", "9"}

// expect checks a run's exit code and first line, and the plugin
// contract (testenv.AssertContract: nothing on stderr, perfdata with
// unique labels).
func expect(t *testing.T, r testenv.Run, code int, firstLine string) {
	t.Helper()
	testenv.AssertContract(t, "MONGODB", r)
	if r.Code != code {
		t.Errorf("exit code %d, want %d\n%s", r.Code, code, r.Stdout)
	}
	if ok, _ := regexp.MatchString(firstLine, r.FirstLine()); !ok {
		t.Errorf("first line %q does not match %q", r.FirstLine(), firstLine)
	}
}

func TestConnect(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	port := strconv.Itoa(f.Port)

	// The default thresholds (1 s, 3 s) are in the perfdata, and the state
	// follows the time measured (a loaded machine may take over a second).
	r := testenv.RunCheck(t, bin, nil, "-H", "127.0.0.1", "-P", port)
	code, word := 0, "OK"
	if secs := testenv.PerfValue(t, r, "connect_time"); secs > 3 {
		code, word = 2, "CRITICAL"
	} else if secs > 1 {
		code, word = 1, "WARNING"
	}
	expect(t, r, code, `^MONGODB `+word+` - 127\.0\.0\.1:`+port+` answers ping in \d+\.\d{3} s \| connect_time=\d+(\.\d+)?s;1;3;0$`)

	r = testenv.RunCheck(t, bin, nil, "--uri", "mongodb://127.0.0.1:"+port+"/?appName=x", "--mode", "connect", "-w", "8.5", "-c", "9.5")
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping .*connect_time=[0-9.]+s;8\.5;9\.5;0$`)

	// A threshold the real connect time cannot meet: proves the time is
	// measured and evaluated.
	r = testenv.RunCheck(t, bin, nil, "-P", port, "-c", "@0:10")
	expect(t, r, 2, `^MONGODB CRITICAL - 127\.0\.0\.1:`+port+` answers ping`)
}

func TestReplicaSetConnect(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{ReplSetName: "rs0"})
	port := strconv.Itoa(f.Port)

	r := testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "--replica-set", "rs0", "-vv"}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - rs0/127\.0\.0\.1:`+port+` answers ping`)
	if !strings.Contains(r.Stdout, "(direct: false)") {
		t.Errorf("--replica-set did not discover the set:\n%s", r.Stdout)
	}
	r = testenv.RunCheck(t, bin, nil, append([]string{"--uri", "mongodb://127.0.0.1:" + port + "/?replicaSet=rs0", "-vv"}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - rs0/127\.0\.0\.1:`+port+` answers ping`)

	// Without a set name the check connects directly, whatever hello says.
	r = testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "-vv"}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)
	if !strings.Contains(r.Stdout, "(direct: true)") {
		t.Errorf("not a direct connection:\n%s", r.Stdout)
	}

	r = testenv.RunCheck(t, bin, nil, "-P", port, "--replica-set", "other", "-t", "10")
	expect(t, r, 2, `^MONGODB CRITICAL - cannot connect to other/127\.0\.0\.1:`+port+`: none of the hosts belongs to replica set "other" \(127\.0\.0\.1:`+port+` reports set "rs0"\)`)
	if r.Elapsed > 2*time.Second {
		t.Errorf("a wrong set name took %v to report", r.Elapsed)
	}
}

func TestClosedPortIsCriticalAndFast(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	port := strconv.Itoa(testenv.FreePort(t))
	r := testenv.RunCheck(t, bin, nil, "-P", port, "-t", "10")
	expect(t, r, 2, `^MONGODB CRITICAL - cannot connect to 127\.0\.0\.1:`+port+`: connect: connection refused$`)
	if r.Elapsed > 2*time.Second {
		t.Errorf("a closed port took %v; want an answer well before -t", r.Elapsed)
	}
}

// A server that accepts TCP and never answers: the check must give the
// timeout state within -t.
func TestSilentServerTimesOut(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		args  []string
		code  int
		state string
	}{
		{nil, 3, "UNKNOWN"},
		{[]string{"--timeout-state", "critical"}, 2, "CRITICAL"},
	} {
		r := testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "-t", "2"}, tc.args...)...)
		expect(t, r, tc.code, `^MONGODB `+tc.state+` - timed out after 2s `)
		if r.Elapsed >= 2*time.Second {
			t.Errorf("answered after %v, want within -t 2s", r.Elapsed)
		}
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n == 0 {
			t.Errorf("the check never connected to the silent server")
		}
	}
}

func TestAuth(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	const user, pass = "monitor", "S3cret-Pass%word"
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{SetupUsername: user, SetupPassword: pass})
	port := strconv.Itoa(f.Port)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("password file", func(t *testing.T) {
		r := testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "-u", user, "--password-file", pwFile, "--auth-mechanism", "SCRAM-SHA-256", "-vvv"}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)
	})
	t.Run("environment", func(t *testing.T) {
		r := testenv.RunCheck(t, bin, []string{"MONGODB_PASSWORD=" + pass}, append([]string{"-P", port, "-u", user}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - `)
	})
	t.Run("SCRAM-SHA-1", func(t *testing.T) {
		r := testenv.RunCheck(t, bin, []string{"MONGODB_PASSWORD=" + pass}, append([]string{"-P", port, "-u", user, "--auth-mechanism", "scram-sha-1"}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)
	})
	t.Run("PLAIN", func(t *testing.T) {
		// FerretDB's SCRAM users cannot use PLAIN: the mechanism reaches
		// the server, which refuses it, and the password stays hidden.
		r := testenv.RunCheck(t, bin, []string{"MONGODB_PASSWORD=" + pass}, "-P", port, "-u", user, "--auth-mechanism", "PLAIN", "-vvv")
		expect(t, r, 2, `^MONGODB CRITICAL - authentication failed for user monitor at 127\.0\.0\.1:`+port+`: .*"PLAIN"`)
		if strings.Contains(r.Stdout, pass) {
			t.Errorf("output holds the password:\n%s", r.Stdout)
		}
	})
	t.Run("password in URI", func(t *testing.T) {
		// At -vvv the connection string is shown, without its password.
		uri := "mongodb://" + user + ":" + url.QueryEscape(pass) + "@127.0.0.1:" + port + "/?authSource=admin"
		r := testenv.RunCheck(t, bin, nil, append([]string{"--uri", uri, "-vvv"}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)
		if want := "connection string: mongodb://" + user + ":xxxxx@127.0.0.1:" + port + "/?authSource=admin"; !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Stdout)
		}
		for _, secret := range []string{pass, url.QueryEscape(pass)} {
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Errorf("output holds the password %q:\n%s", secret, r.Stdout)
			}
		}
	})
	t.Run("auth needed for serverStatus", func(t *testing.T) {
		// Proves the server enforces authentication: without a user the
		// same command is refused.
		r := testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "startup-warnings")
		if r.Code == 0 {
			t.Errorf("startup-warnings without credentials succeeded; the server does not enforce auth:\n%s", r.Stdout)
		}
		r = testenv.RunCheck(t, bin, []string{"MONGODB_PASSWORD=" + pass}, "-P", port, "-u", user, "--mode", "startup-warnings")
		expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+`: 2 startup warnings`)
	})

	const wrong = "Wr0ng-Guess-4711"
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() testenv.Run{
		"wrong password in env": func() testenv.Run {
			return testenv.RunCheck(t, bin, []string{"MONGODB_PASSWORD=" + wrong}, "-P", port, "-u", user, "-vvv")
		},
		"wrong password file": func() testenv.Run {
			return testenv.RunCheck(t, bin, nil, "-P", port, "-u", user, "--password-file", wrongFile, "-vvv", "--mode", "connections")
		},
		"wrong password in URI": func() testenv.Run {
			return testenv.RunCheck(t, bin, nil, "--uri", "mongodb://"+user+":"+wrong+"@127.0.0.1:"+port+"/?authSource=admin", "-vvv")
		},
		"wrong password flag": func() testenv.Run {
			return testenv.RunCheck(t, bin, nil, "-P", port, "-u", user, "--password", wrong, "-vvv")
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := run()
			expect(t, r, 2, `^MONGODB CRITICAL - authentication failed for user .* at 127\.0\.0\.1:`+port+`: `)
			for _, secret := range []string{wrong, pass} {
				if strings.Contains(r.Stdout+r.Stderr, secret) {
					t.Errorf("output holds the password %q:\n%s", secret, r.Stdout)
				}
			}
		})
	}
}

// A user kept in another database than admin needs --authdb.
func TestAuthDB(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	const user, pass = "monitor", "Other-DB-pass"
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{SetupUsername: user, SetupPassword: pass, SetupDatabase: "monitoring"})
	port := strconv.Itoa(f.Port)
	env := []string{"MONGODB_PASSWORD=" + pass}

	r := testenv.RunCheck(t, bin, env, append([]string{"-P", port, "-u", user, "--authdb", "monitoring"}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)

	// The default, admin, does not hold the user.
	r = testenv.RunCheck(t, bin, env, "-P", port, "-u", user)
	expect(t, r, 2, `^MONGODB CRITICAL - authentication failed for user monitor at 127\.0\.0\.1:`+port+`: .*--authdb`)
	if strings.Contains(r.Stdout, pass) {
		t.Errorf("output holds the password:\n%s", r.Stdout)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	dir := t.TempDir()
	fs := testenv.WriteTLSFiles(t, dir, "mtls")
	ca, cert, key, client := fs.CA, fs.Cert, fs.Key, fs.Client
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{TLSCertFile: cert, TLSKeyFile: key, TLSCAFile: ca})
	port := strconv.Itoa(f.TLSPort)

	r := testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "--tls-ca-file", ca, "--tls-cert-key-file", client}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)

	// Without a client certificate the server ends the handshake.
	r = testenv.RunCheck(t, bin, nil, "-P", port, "--tls-ca-file", ca, "-t", "5")
	expect(t, r, 2, `^MONGODB CRITICAL - TLS handshake with 127\.0\.0\.1:`+port+` failed: the server sent tls: certificate required, the server wants a client certificate it trusts: pass one with --tls-cert-key-file$`)

	// A file without a key is bad input.
	r = testenv.RunCheck(t, bin, nil, "-P", port, "--tls-cert-key-file", ca)
	expect(t, r, 3, `^MONGODB UNKNOWN - --tls-cert-key-file .*expected the client certificate and its unencrypted key in one PEM file$`)

	// An encrypted key in the --uri, with its password there: the
	// driver decrypts it when it parses the string, so the string is
	// checked with its password as written (it was checked with the
	// password taken out, and refused: "pkcs8: incorrect password").
	const keyPassword = "Key-pa55word"
	enc := encryptedClientFile(t, client, keyPassword)
	uri := "mongodb://127.0.0.1:" + port + "/?tls=true&tlsCAFile=" + url.QueryEscape(ca) + "&tlsCertificateKeyFile=" + url.QueryEscape(enc)
	for _, extra := range [][]string{{"--validate-options"}, relaxed} {
		r = testenv.RunCheck(t, bin, nil, append([]string{"--uri", uri + "&tlsCertificateKeyFilePassword=" + keyPassword}, extra...)...)
		expect(t, r, 0, `^MONGODB OK - `)
	}
	r = testenv.RunCheck(t, bin, nil, "--uri", uri+"&tlsCertificateKeyFilePassword=Wrong-pa55word")
	expect(t, r, 3, `^MONGODB UNKNOWN - invalid --uri: the key in tlsCertificateKeyFile `+regexp.QuoteMeta(enc)+` cannot be decrypted \(x509: decryption password incorrect\): give its password as tlsCertificateKeyFilePassword \(see check_mongodb --help\)$`)
	r = testenv.RunCheck(t, bin, nil, "--uri", uri)
	expect(t, r, 3, `^MONGODB UNKNOWN - invalid --uri: the key in tlsCertificateKeyFile .* cannot be decrypted \(no password provided to decrypt private key\)`)
}

// encryptedClientFile writes the certificate and key of the PEM file
// client with the key encrypted by password (RFC 1421 PEM encryption, the
// "DEK-Info" form the driver decrypts with x509.DecryptPEMBlock).
func encryptedClientFile(t *testing.T, client, password string) string {
	t.Helper()
	data, err := os.ReadFile(client)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			//nolint:staticcheck // the legacy form is what the test needs: a key the driver decrypts
			if b, err = x509.EncryptPEMBlock(rand.Reader, b.Type, b.Bytes, []byte(password), x509.PEMCipherAES256); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, pem.EncodeToMemory(b)...)
	}
	path := filepath.Join(t.TempDir(), "client-encrypted.pem")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLS(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	dir := t.TempDir()
	good := testenv.WriteTLSFiles(t, dir, "good")
	ca, cert, key := good.CA, good.Cert, good.Key
	otherCA := testenv.WriteTLSFiles(t, dir, "other").CA
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{TLSCertFile: cert, TLSKeyFile: key})
	port := strconv.Itoa(f.TLSPort)

	r := testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "--tls", "--tls-ca-file", ca}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)

	r = testenv.RunCheck(t, bin, nil, append([]string{"--uri", "mongodb://127.0.0.1:" + port + "/?tls=true&tlsCAFile=" + ca}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+` answers ping`)

	r = testenv.RunCheck(t, bin, nil, "-P", port, "--tls-ca-file", otherCA)
	expect(t, r, 2, `^MONGODB CRITICAL - TLS certificate problem with 127\.0\.0\.1:`+port+`: x509: certificate signed by unknown authority.*--tls-ca-file`)
	if r.Elapsed > 3*time.Second {
		t.Errorf("a certificate problem took %v to report", r.Elapsed)
	}

	// The system roots do not hold the test CA either.
	r = testenv.RunCheck(t, bin, nil, "-P", port, "--tls")
	expect(t, r, 2, `^MONGODB CRITICAL - TLS certificate problem .*unknown authority`)

	r = testenv.RunCheck(t, bin, nil, append([]string{"-P", port, "--tls-insecure"}, relaxed...)...)
	expect(t, r, 0, `^MONGODB OK - `)

	// TLS against the plain listener.
	r = testenv.RunCheck(t, bin, nil, "-P", strconv.Itoa(f.Port), "--tls-ca-file", ca, "-t", "5")
	expect(t, r, 2, `^MONGODB CRITICAL - TLS handshake with 127\.0\.0\.1:\d+ failed: the server closed the connection, it does not speak TLS on this port`)
}

func TestStartupWarningsOnFerretDB(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	port := strconv.Itoa(f.Port)
	r := testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "startup-warnings", "-v")
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+`: 2 startup warnings, none that alert(, NUMA machine: (yes|no))? \| startup_warnings=2;;;0 alerting_warnings=0;;;0$`)
	if !strings.Contains(r.Stdout, "[id 42000, other] Powered by FerretDB v1.24.0") {
		t.Errorf("details lack FerretDB's own startup warning:\n%s", r.Stdout)
	}
	r = testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "startup-warnings", "--ignore-id", "42000")
	expect(t, r, 0, `^MONGODB OK - .*2 startup warnings`)
	if strings.Count(r.Stdout, "ignored (--ignore-id 42000)") != 2 {
		t.Errorf("the two lines with id 42000 are not reported as ignored:\n%s", r.Stdout)
	}
}

func TestModesFerretDBLacks(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	port := strconv.Itoa(f.Port)
	stateDir := t.TempDir()
	for mode, field := range map[string]string{
		"connections":      "serverStatus.connections",
		"memory":           "serverStatus.mem",
		"wiredtiger-cache": "serverStatus.wiredTiger",
		"queues":           "serverStatus.globalLock",
		"opcounters":       "serverStatus.opcounters",
		"asserts":          "serverStatus.asserts",
	} {
		r := testenv.RunCheck(t, bin, nil, "-P", port, "--mode", mode, "--state-dir", stateDir, "-vvv")
		expect(t, r, 3, `^MONGODB UNKNOWN - server does not report `+regexp.QuoteMeta(field)+`$`)
		if strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("%s: want exactly one line, got:\n%s", mode, r.Stdout)
		}
	}
	if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
		t.Errorf("a failed rate mode left state behind: %v", entries)
	}
}

func TestSizeModesOnFerretDB(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	port := strconv.Itoa(f.Port)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(context.Background(), mopts.Client().ApplyURI("mongodb://"+f.Addr+"/?directConnection=true"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	coll := c.Database("shop").Collection("orders")
	docs := make([]any, 500)
	for i := range docs {
		docs[i] = bson.D{{Key: "n", Value: i}, {Key: "pad", Value: strings.Repeat("x", 200)}}
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "n", Value: 1}}}); err != nil {
		t.Fatal(err)
	}

	num := `([1-9][0-9]*)`
	r := testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "database-size", "--database", "shop")
	expect(t, r, 0, `^MONGODB OK - 127\.0\.0\.1:`+port+`: database shop uses .* db_disk_size=`+num+`B;;;0 .*db_objects=500;;;0 db_collections=1;;;0$`)
	r = testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "database-size", "--database", "shop", "-w", "1000")
	expect(t, r, 1, `^MONGODB WARNING - .*db_disk_size=`+num+`B;1000;;0`)

	r = testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "collection-size", "--database", "shop", "--collection", "orders", "-c", "1000")
	expect(t, r, 2, `^MONGODB CRITICAL - 127\.0\.0\.1:`+port+`: collection shop\.orders uses .*coll_storage_size=`+num+`B;;1000;0 .*coll_objects=500;;;0$`)

	r = testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "index-size", "--database", "shop", "--collection", "orders")
	expect(t, r, 0, `^MONGODB OK - .*indexes of shop\.orders use .*index_size=`+num+`B;;;0 indexes=2;;;0$`)

	r = testenv.RunCheck(t, bin, nil, "-P", port, "--mode", "collection-size", "--database", "shop", "--collection", "nosuch")
	expect(t, r, 3, `^MONGODB UNKNOWN - collection-size at 127\.0\.0\.1:`+port+`: collection shop\.nosuch does not exist: check --database and --collection$`)
}

func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	unreadable := filepath.Join(t.TempDir(), "nosuch")
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--mode", "nosuch"}, nil, `invalid --mode "nosuch": expected asserts, .*, connect, connections, .*, oplog-window, primary-change, .*, replication-lag, .* or [a-z-]+ \(see`},
		{[]string{"-P", "0"}, nil, `invalid --port "0": expected a TCP port from 1 to 65535`},
		{[]string{"-P", "70000"}, nil, `invalid --port "70000": expected a TCP port from 1 to 65535`},
		// Refused whatever the mode, even one that does not use the option.
		{[]string{"--member", "bogus"}, nil, `invalid --member "bogus": expected self or all`},
		{[]string{"--ignore-id", "abc"}, nil, `invalid --ignore-id "abc": expected a log id`},
		{[]string{"--mode", "connections", "--ignore-id", "22178,-1"}, nil, `invalid --ignore-id "-1": expected a log id`},
		{[]string{"--state-dir", ""}, nil, `invalid --state-dir "": expected a directory`},
		{[]string{"--mode", "opcounters", "--state-dir", ""}, nil, `invalid --state-dir "": expected a directory`},
		{[]string{"--mode", "database-size"}, nil, `--mode database-size needs --database DB`},
		{[]string{"--mode", "collection-size", "--database", "x"}, nil, `--mode collection-size needs --collection NAME`},
		{[]string{"--mode", "startup-warnings", "--ignore-id", "THP"}, nil, `invalid --ignore-id "THP"`},
		{[]string{"-u", "x", "--password-file", unreadable}, nil, `--password-file: .*` + regexp.QuoteMeta(unreadable)},
		{[]string{"-u", "x"}, []string{"MONGODB_PASSWORD="}, `no password for user "x": expected --password-file FILE or the environment variable MONGODB_PASSWORD`},
		{[]string{"--uri", "http://x"}, nil, `invalid --uri: expected a connection string starting with mongodb://`},
		{[]string{"--uri", "mongodb://u:Secr3tInUri@127.0.0.1:1,127.0.0.2:1/?directConnection=true"}, nil, `invalid --uri: .*a direct connection cannot be made if multiple hosts are specified`},
		{[]string{"--uri", "mongodb://u:Secr3t@InUri@127.0.0.1:1/"}, nil, `invalid --uri: `},
		{[]string{"--tls-ca-file", unreadable}, nil, `--tls-ca-file: `},
		{[]string{"-w", "5:1"}, nil, `invalid argument for flag -w, --warning: invalid range "5:1": start is greater than end`},
		{[]string{"--auth-mechanism", "MD5"}, nil, `invalid --auth-mechanism "MD5": expected SCRAM-SHA-256, SCRAM-SHA-1, MONGODB-X509 or PLAIN`},
	} {
		r := testenv.RunCheck(t, bin, tc.env, tc.args...)
		expect(t, r, 3, `^MONGODB UNKNOWN - `+tc.want)
		if strings.Count(r.Stdout, "\n") != 1 || strings.Contains(r.Stdout, "Secr3tInUri") {
			t.Errorf("%v: want one line without secrets, got %q", tc.args, r.Stdout)
		}
		if r.Elapsed > 2*time.Second {
			t.Errorf("%v: bad input took %v", tc.args, r.Elapsed)
		}
	}
}

// TestHelpListsEveryMode: a person at a terminal finds every mode in
// --help, each with its line and default thresholds.
func TestHelpListsEveryMode(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	r := testenv.RunCheck(t, bin, nil, "--help")
	_, list, ok := strings.Cut(r.Stdout, "\nModes (--mode), with their default thresholds:\n")
	if !ok {
		t.Fatalf("--help has no list of modes:\n%s", r.Stdout)
	}
	var o mongodb.Options
	for _, m := range o.Modes() {
		entry := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(m.Name) + ` +\S`)
		if !entry.MatchString(list) {
			t.Errorf("--help does not list mode %s:\n%s", m.Name, list)
		}
		if d := m.Defaults(); d != "" && !strings.Contains(strings.Join(strings.Fields(list), " "), strings.Join(strings.Fields(m.Doc), " ")+" (default "+d+")") {
			t.Errorf("--help does not give mode %s its defaults (default %s):\n%s", m.Name, d, list)
		}
	}
}

func TestHelpMentionsPasswordVisibility(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	r := testenv.RunCheck(t, bin, nil, "--help")
	if help := strings.Join(strings.Fields(r.Stdout), " "); r.Code != 3 || !strings.Contains(help, "VISIBLE IN THE PROCESS LIST") {
		t.Errorf("help (exit %d) does not warn about --password:\n%s", r.Code, r.Stdout)
	}
}
