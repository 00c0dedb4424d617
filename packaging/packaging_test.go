// Tests of packaging/: the generated definitions match the binaries, the
// .deb installs and its binaries run, the .rpm holds the expected files,
// and Nagios 4, Icinga 2 and NRPE accept the definitions and run the
// checks with the same result as running them by hand.
package packaging_test

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

var (
	pkgOnce sync.Once
	pkgDir  string
	pkgErr  error
	pkgLog  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pkgDir != "" {
		os.RemoveAll(pkgDir)
	}
	os.Exit(code)
}

// packages builds the .deb and .rpm once with `make package`, exactly as
// a user does, and returns their paths.
func packages(t *testing.T) (deb, rpm string) {
	t.Helper()
	testenv.Require(t, "make")
	pkgOnce.Do(func() {
		pkgDir, pkgErr = os.MkdirTemp("", "opschecks-dist-")
		if pkgErr != nil {
			return
		}
		cmd := exec.Command("make", "package", "DIST="+pkgDir)
		cmd.Dir = testenv.ModuleRoot(t)
		out, err := cmd.CombinedOutput()
		pkgLog = string(out)
		pkgErr = err
	})
	if pkgErr != nil {
		t.Fatalf("make package: %v\n%s", pkgErr, pkgLog)
	}
	debs, _ := filepath.Glob(filepath.Join(pkgDir, "opschecks_*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(pkgDir, "opschecks-*.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("make package wrote %v and %v, want one .deb and one .rpm\n%s", debs, rpms, pkgLog)
	}
	return debs[0], rpms[0]
}

// version is what the Makefile sets into the binaries and packages.
func version(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "VERSION"))
	if err != nil {
		t.Fatalf("reading VERSION: %v", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
}

// generatedDirs are the directories under packaging/ that the generator
// owns entirely.
var generatedDirs = []string{"nagios", "nrpe", "icinga2", "sudoers", "man"}

func TestDefinitionsUpToDate(t *testing.T) {
	root := testenv.ModuleRoot(t)
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./packaging/gen", "-out", out)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./packaging/gen: %v\n%s", err, b)
	}
	gen := map[string]bool{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		gen[rel] = true
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(root, "packaging", rel))
		if err != nil {
			t.Errorf("packaging/%s is missing; run make definitions and commit it", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("packaging/%s differs from what the generator writes from the binaries' options (first difference: %s); run make definitions and commit it", rel, firstDiff(string(got), string(want)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range generatedDirs {
		files, _ := filepath.Glob(filepath.Join(root, "packaging", d, "*"))
		for _, f := range files {
			rel, _ := filepath.Rel(filepath.Join(root, "packaging"), f)
			if !gen[rel] {
				t.Errorf("packaging/%s is not generated any more (its check is gone?); run make definitions", rel)
			}
		}
	}
	for _, n := range checkNames(t) {
		if !gen[filepath.Join("man", n+".1")] {
			t.Errorf("no man page generated for %s", n)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, x, y)
		}
	}
	return "none"
}

// Every option of every binary is in the Icinga 2 CheckCommand, the Nagios
// command's option list and the man page; every binary has its Nagios
// command, example service and NRPE command.
func TestDefinitionsCoverEveryOption(t *testing.T) {
	root := testenv.ModuleRoot(t)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, "packaging", rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	icinga := read("icinga2/opschecks-commands.conf")
	nagios := read("nagios/opschecks-commands.cfg")
	services := read("nagios/opschecks-services.cfg")
	nrpe := read("nrpe/opschecks.cfg")
	for _, n := range checkNames(t) {
		doc := docOf(t, n)
		cmd := "opschecks_" + strings.TrimPrefix(n, "check_")
		block := section(icinga, `object CheckCommand "`+cmd+`" {`, "\n}\n")
		if block == "" {
			t.Errorf("%s: no Icinga 2 CheckCommand %q", n, cmd)
		}
		if !strings.Contains(block, `PluginDir + "/`+n+`"`) {
			t.Errorf("%s: CheckCommand %s does not run PluginDir/%s", n, cmd, n)
		}
		nb := section(nagios, "# "+n+": ", "\n}\n")
		if !strings.Contains(nb, "command_name    "+cmd+"\n") || !strings.Contains(nb, "$USER1$/"+n+" ") {
			t.Errorf("%s: no Nagios command %s running $USER1$/%s", n, cmd, n)
		}
		if !regexp.MustCompile(`check_command +` + cmd + `(!.*)?\n`).MatchString(services) {
			t.Errorf("%s: no example Nagios service using %s", n, cmd)
		}
		if !regexp.MustCompile(`(?m)^command\[` + cmd + `\]=/usr/lib/nagios/plugins/` + n + `( |$)`).MatchString(nrpe) {
			t.Errorf("%s: no fixed NRPE command %s", n, cmd)
		}
		if !strings.Contains(nrpe, "#command["+cmd+"_args]=/usr/lib/nagios/plugins/"+n+" $ARG1$\n") {
			t.Errorf("%s: no commented $ARG1$ variant of NRPE command %s", n, cmd)
		}
		man := read("man/" + n + ".1")
		for _, o := range doc.Options {
			if o.Long == "help" || o.Long == "version" || o.Long == "validate-options" {
				continue
			}
			v := cmd + "_" + strings.ReplaceAll(o.Long, "-", "_")
			key := `"--` + o.Long + `" = {`
			if regexp.MustCompile(`\n\t\t[A-Z_]+ = "\$` + v + `\$"`).MatchString(block) {
				continue // passed in the environment (a secret)
			}
			if !strings.Contains(block, key) {
				t.Errorf("%s: option --%s missing from CheckCommand %s", n, o.Long, cmd)
				continue
			}
			arg := section(block, key, "}")
			attr := "value"
			if o.Bool {
				attr = "set_if"
			}
			if !strings.Contains(arg, attr+` = "$`+v+`$"`) {
				t.Errorf("%s: argument --%s of %s should have %s = \"$%s$\":\n%s", n, o.Long, cmd, attr, v, arg)
			}
			if !strings.Contains(arg, "description = ") {
				t.Errorf("%s: argument --%s of %s has no description", n, o.Long, cmd)
			}
			if !strings.Contains(nb, "--"+o.Long) {
				t.Errorf("%s: option --%s missing from the Nagios command's option list", n, o.Long)
			}
			if !strings.Contains(man, `\-\-`+strings.ReplaceAll(o.Long, "-", `\-`)) && !strings.Contains(man, `\-\-`+o.Long) {
				t.Errorf("%s: option --%s missing from the man page", n, o.Long)
			}
		}
	}
}

// section returns s from the first start to the next end after it.
func section(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j+len(end)]
}

func TestSudoersSnippet(t *testing.T) {
	visudo := testenv.Binary(t, "visudo")
	root := testenv.ModuleRoot(t)
	p := filepath.Join(root, "packaging", "sudoers", "opschecks")
	out, err := exec.Command(visudo, "-c", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("visudo -c -f %s: %v\n%s", p, err, out)
	}
	b, _ := os.ReadFile(p)
	// Every command the rule allows is one of our binaries by absolute path.
	alias := section(string(b), "Cmnd_Alias OPSCHECKS_PRIV = ", "\nDefaults")
	if alias == "" {
		t.Fatal("no Cmnd_Alias OPSCHECKS_PRIV in the sudoers snippet")
	}
	names := map[string]bool{}
	for _, n := range checkNames(t) {
		names[n] = true
	}
	cmds := strings.Split(strings.NewReplacer("Cmnd_Alias OPSCHECKS_PRIV = ", "", "\\\n", "", "\nDefaults", "").Replace(alias), ",")
	for _, c := range cmds {
		c = strings.TrimSpace(c)
		dir, base := filepath.Split(c)
		if (dir != "/usr/lib/nagios/plugins/" && dir != "/usr/lib64/nagios/plugins/") || !names[base] {
			t.Errorf("sudoers allows %q, which is not one of our binaries", c)
		}
	}
	if !strings.Contains(string(b), "OPSCHECKS_USERS ALL = (root) NOPASSWD: OPSCHECKS_PRIV\n") {
		t.Error("sudoers rule is not limited to OPSCHECKS_PRIV")
	}
}

func TestDebInstall(t *testing.T) {
	testenv.Require(t, "root", "dpkg")
	deb, _ := packages(t)
	ver := version(t)
	if out, err := exec.Command("dpkg-deb", "-f", deb, "Version").Output(); err != nil || strings.TrimSpace(string(out)) != ver+"-1" {
		t.Errorf("deb version %q (%v), want %s-1", out, err, ver)
	}
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
	purged := false
	purge := func() {
		if !purged {
			purged = true
			if out, err := exec.Command("dpkg", "--purge", "opschecks").CombinedOutput(); err != nil {
				t.Errorf("dpkg --purge opschecks: %v\n%s", err, out)
			}
		}
	}
	t.Cleanup(purge)

	root := testenv.ModuleRoot(t)
	const plugins = "/usr/lib/nagios/plugins/"
	out, err := exec.Command("dpkg", "-L", "opschecks").Output()
	if err != nil {
		t.Fatalf("dpkg -L opschecks: %v", err)
	}
	listed := "\n" + string(out)
	labels := map[string]string{}
	for _, n := range checkNames(t) {
		bin := plugins + n
		st, err := os.Stat(bin)
		if err != nil {
			t.Errorf("%s not installed: %v", bin, err)
			continue
		}
		if st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", bin, st.Mode().Perm())
		}
		assertStatic(t, bin)
		r := testenv.RunCheck(t, bin, nil, "--version")
		if r.Code != 3 || !strings.HasPrefix(r.Stdout, n+" "+ver+" (commit ") || r.Stderr != "" {
			t.Errorf("%s --version: exit %d, stdout %q, stderr %q; want exit 3 and %q", bin, r.Code, r.Stdout, r.Stderr, n+" "+ver+" (commit ...)")
		}
		labels[n] = docOf(t, bin).Label
		if !strings.Contains(listed, "\n/usr/share/man/man1/"+n+".1.gz\n") {
			t.Errorf("dpkg -L opschecks does not list the man page of %s", n)
		} else if _, err := os.Stat("/usr/share/man/man1/" + n + ".1.gz"); err != nil && !dpkgExcluded("/usr/share/man/man1/"+n+".1.gz") {
			t.Errorf("man page of %s not installed: %v", n, err)
		}
		if out, err := exec.Command("man", "-w", n).Output(); err == nil && !strings.Contains(string(out), "/usr/share/man/man1/"+n+".1.gz") {
			t.Errorf("man -w %s finds %q", n, out)
		}
	}
	for inst, src := range map[string]string{
		"/etc/nagios-plugins/config/opschecks.cfg":             "nagios/opschecks-commands.cfg",
		"/etc/nagios/nrpe.d/opschecks.cfg":                     "nrpe/opschecks.cfg",
		"/usr/share/opschecks/icinga2/opschecks-commands.conf": "icinga2/opschecks-commands.conf",
		"/usr/share/opschecks/icinga2/opschecks-services.conf": "icinga2/opschecks-services.conf",
		"/usr/share/opschecks/nagios/opschecks-services.cfg":   "nagios/opschecks-services.cfg",
		"/usr/share/opschecks/sudoers/opschecks":               "sudoers/opschecks",
		"/usr/share/doc/opschecks/README.md":                   "../README.md",
	} {
		if dpkgExcluded(inst) {
			continue
		}
		got, err := os.ReadFile(inst)
		want, _ := os.ReadFile(filepath.Join(root, "packaging", src))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v; want the content of packaging/%s", inst, err, src)
		}
	}
	if _, err := os.Stat("/usr/share/doc/opschecks/copyright"); err != nil && !dpkgExcluded("/usr/share/doc/opschecks/copyright") {
		t.Errorf("no copyright file: %v", err)
	}
	nagios, err := user.Lookup("nagios")
	if err != nil {
		t.Fatalf("the package should have created the nagios user: %v", err)
	}
	if st, err := os.Stat("/var/lib/opschecks"); err != nil {
		t.Errorf("state directory: %v", err)
	} else if s := st.Sys().(*syscall.Stat_t); strconv.Itoa(int(s.Uid)) != nagios.Uid || st.Mode().Perm() != 0o750 {
		t.Errorf("/var/lib/opschecks owned by uid %d mode %v, want nagios (%s) 0750", s.Uid, st.Mode().Perm(), nagios.Uid)
	}

	// One real check per binary from its installed path: the fixed NRPE
	// command lines the package installed.
	cmds := nrpeCommands(t, "/etc/nagios/nrpe.d/opschecks.cfg")
	for _, n := range checkNames(t) {
		line, ok := cmds["opschecks_"+strings.TrimPrefix(n, "check_")]
		if !ok {
			t.Errorf("no NRPE command for %s", n)
			continue
		}
		argv, err := splitWords(line)
		if err != nil || argv[0] != plugins+n {
			t.Errorf("NRPE command line %q: %v; want it to run %s", line, err, plugins+n)
			continue
		}
		r := runAs(t, nil, argv)
		t.Logf("%s: %v", line, r)
		if r.Code > 2 {
			t.Errorf("%s: exit %d; the example arguments must give a real answer on any host: %v", line, r.Code, r)
		}
		if want := labels[n] + " " + stateNames[r.Code] + " - "; !strings.HasPrefix(r.Output, want) {
			t.Errorf("%s: output %q does not start with %q", line, r.Output, want)
		}
	}

	t.Run("sudoers", func(t *testing.T) { sudoRule(t, ver) })

	purge()
	for _, p := range []string{plugins + checkNames(t)[0], "/etc/nagios/nrpe.d/opschecks.cfg", "/usr/share/opschecks"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still there after dpkg --purge", p)
		}
	}
}

func TestRPMContents(t *testing.T) {
	testenv.Require(t, "rpm")
	_, rpm := packages(t)
	root := testenv.ModuleRoot(t)
	out, err := exec.Command("rpm", "-qlp", rpm).Output()
	if err != nil {
		t.Fatalf("rpm -qlp %s: %v", rpm, err)
	}
	got := strings.Fields(string(out))
	want := []string{
		"/etc/nrpe.d/opschecks.cfg",
		"/usr/share/doc/opschecks/README.md",
		"/usr/share/doc/opschecks/copyright",
		"/usr/share/opschecks/icinga2/opschecks-commands.conf",
		"/usr/share/opschecks/icinga2/opschecks-services.conf",
		"/usr/share/opschecks/nagios/opschecks-commands.cfg",
		"/usr/share/opschecks/nagios/opschecks-services.cfg",
		"/usr/share/opschecks/nrpe/opschecks.cfg",
		"/usr/share/opschecks/sudoers/opschecks",
		"/var/lib/opschecks",
	}
	for _, n := range checkNames(t) {
		want = append(want, "/usr/lib64/nagios/plugins/"+n, "/usr/share/man/man1/"+n+".1.gz")
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rpm -qlp lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	q := func(args ...string) string {
		out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, rpm)...)...).Output()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v", args, err)
		}
		return string(out)
	}
	if v, ver := q("--queryformat", "%{VERSION}"), version(t); v != ver {
		t.Errorf("rpm version %q, want %q", v, ver)
	}
	if s := q("--scripts"); !strings.Contains(s, "chown nagios:nagios /var/lib/opschecks") {
		t.Errorf("rpm postinstall does not hand /var/lib/opschecks to nagios:\n%s", s)
	}
	// The NRPE snippet of the rpm points at the rpm's plugin directory.
	if s := q("--configfiles"); !strings.Contains(s, "/etc/nrpe.d/opschecks.cfg") {
		t.Errorf("/etc/nrpe.d/opschecks.cfg is not a config file of the rpm:\n%s", s)
	}
	b, _ := os.ReadFile(filepath.Join(root, "packaging", "nrpe", "opschecks-rpm.cfg"))
	for _, n := range checkNames(t) {
		if !strings.Contains(string(b), "=/usr/lib64/nagios/plugins/"+n) {
			t.Errorf("rpm NRPE snippet does not run /usr/lib64/nagios/plugins/%s", n)
		}
	}

	// Install the payload into a scratch root (no scripts: they would act
	// on this host) and run every binary from where the rpm put it.
	t.Run("install", func(t *testing.T) { rpmInstall(t, rpm) })
}

func rpmInstall(t *testing.T, rpm string) {
	testenv.Require(t, "root")
	root := testenv.ModuleRoot(t)
	rr := t.TempDir()
	if out, err := exec.Command("rpm", "--root", rr, "--dbpath", filepath.Join(rr, "rpmdb"), "-i", "--nodeps", "--noscripts", rpm).CombinedOutput(); err != nil {
		t.Fatalf("rpm -i into %s: %v\n%s", rr, err, out)
	}
	if out, err := exec.Command("rpm", "--root", rr, "--dbpath", filepath.Join(rr, "rpmdb"), "-V", "opschecks").CombinedOutput(); err != nil {
		t.Errorf("rpm -V opschecks: %v\n%s", err, out)
	}
	ver := version(t)
	for _, n := range checkNames(t) {
		assertStatic(t, filepath.Join(rr, "usr/lib64/nagios/plugins", n))
		r := testenv.RunCheck(t, filepath.Join(rr, "usr/lib64/nagios/plugins", n), nil, "--version")
		if r.Code != 3 || !strings.HasPrefix(r.Stdout, n+" "+ver+" ") {
			t.Errorf("%s --version from the rpm: exit %d %q", n, r.Code, r.Stdout)
		}
	}
	got2, _ := os.ReadFile(filepath.Join(rr, "etc/nrpe.d/opschecks.cfg"))
	want2, _ := os.ReadFile(filepath.Join(root, "packaging", "nrpe", "opschecks-rpm.cfg"))
	if !bytes.Equal(got2, want2) {
		t.Error("the rpm's /etc/nrpe.d/opschecks.cfg is not packaging/nrpe/opschecks-rpm.cfg")
	}
}

// The man pages render without a roff warning and say what the check is.
func TestManPagesRender(t *testing.T) {
	manBin := testenv.Binary(t, "man")
	root := testenv.ModuleRoot(t)
	for _, n := range checkNames(t) {
		p := filepath.Join(root, "packaging", "man", n+".1")
		cmd := exec.Command(manBin, "--warnings", "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0", "PAGER=cat")
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil || se.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", p, err, se.String())
			continue
		}
		// man may overstrike bold text when not on a terminal: strip it.
		text := regexp.MustCompile(".\b").ReplaceAllString(so.String(), "")
		for _, want := range []string{`NAME\n +` + n + ` +- +\S`, "OPTIONS", "--timeout", "EXIT STATUS", "EXAMPLES"} {
			if !regexp.MustCompile(want).MatchString(text) {
				t.Errorf("man page of %s lacks %q:\n%s", n, want, text)
			}
		}
	}
}

// sudoRule enables the installed sudoers snippet for a moment and checks
// that the nagios user may run exactly the privileged binaries as root
// without a password, and nothing else; then the privilege policy
// through it (sudo_test.go): what the caller names is refused or used
// with its rights, and what the rule is for works.
func sudoRule(t *testing.T, ver string) {
	sudo := testenv.Binary(t, "sudo")
	if _, err := os.Stat("/etc/sudoers.d"); err != nil {
		testenv.Missing(t, "no /etc/sudoers.d: %v", err)
	}
	b, err := os.ReadFile("/usr/share/opschecks/sudoers/opschecks")
	if err != nil {
		t.Fatal(err)
	}
	// sudo ignores names with a dot; this one sorts last.
	rule := "/etc/sudoers.d/zz_opschecks_test"
	if err := os.WriteFile(rule, b, 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(rule) })
	nagios, err := user.Lookup("nagios")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nagios.Uid)
	gid, _ := strconv.Atoi(nagios.Gid)
	asNagios := func(args ...string) (string, int) {
		cmd := exec.Command(sudo, append([]string{"-n"}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = "/"
		r := testenv.RunCmd(t, cmd)
		return r.Stdout, r.Code
	}
	allowed := regexp.MustCompile(`/usr/lib/nagios/plugins/(check_[a-z0-9_]+)`).FindAllStringSubmatch(string(b), -1)
	if len(allowed) == 0 {
		t.Fatal("the sudoers snippet allows no binary")
	}
	for _, m := range allowed {
		out, code := asNagios(m[0], "--version")
		if code != 3 || !strings.HasPrefix(out, m[1]+" "+ver+" ") {
			t.Errorf("nagios: sudo -n %s --version: exit %d %q; want exit 3 and the version", m[0], code, out)
		}
	}
	if out, code := asNagios("/usr/bin/id", "-u"); code == 0 {
		t.Errorf("nagios may run /usr/bin/id as root through our rule: %q", out)
	}
	for _, n := range checkNames(t) {
		if !strings.Contains(string(b), "/usr/lib/nagios/plugins/"+n+",") && !strings.Contains(string(b), "/usr/lib/nagios/plugins/"+n+"\n") {
			if out, code := asNagios("/usr/lib/nagios/plugins/"+n, "--version"); code == 3 {
				t.Errorf("nagios may run %s as root although the snippet does not list it: %q", n, out)
			}
		}
	}
	s := sudoer{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, sudo: sudo}
	t.Run("attacks", func(t *testing.T) { sudoAttacks(t, s) })
	t.Run("uses", func(t *testing.T) { sudoUses(t, s) })
}

// assertStatic fails when bin asks for a dynamic loader: the packages
// ship static binaries, which run on any distribution release.
func assertStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Errorf("%s: %v", bin, err)
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (it has an ELF interpreter); the packages ship static binaries", bin)
		}
	}
}

// dpkgExcluded reports whether dpkg is told not to install a path
// (path-exclude in minimal container images drops man pages and docs).
func dpkgExcluded(path string) bool {
	files, _ := filepath.Glob("/etc/dpkg/dpkg.cfg.d/*")
	re := regexp.MustCompile(`(?m)^path-exclude[= ]\s*(\S+)`)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			prefix, _, _ := strings.Cut(m[1], "*")
			if strings.HasPrefix(path, prefix) {
				return true
			}
		}
	}
	return false
}

// TestManFiles: the FILES section of each man page lists exactly what the
// packages install for that check: every path it heads an entry with is
// in the .deb or the .rpm, and every path the packages install is listed,
// except the other checks' binaries and man pages, and the documentation
// under /usr/share/doc and /usr/share/man (SEE ALSO names the README).
func TestManFiles(t *testing.T) {
	testenv.Require(t, "rpm", "dpkg")
	deb, rpm := packages(t)
	installed := map[string]bool{}
	out, err := exec.Command("rpm", "-qlp", rpm).Output()
	if err != nil {
		t.Fatalf("rpm -qlp %s: %v", rpm, err)
	}
	for _, p := range strings.Fields(string(out)) {
		installed[p] = true
	}
	out, err = exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", deb, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := strings.TrimSuffix(strings.TrimPrefix(h.Name, "."), "/")
		if h.Typeflag != tar.TypeDir || p == "/var/lib/opschecks" {
			installed[p] = true
		}
	}
	names := checkNames(t)
	other := func(p, name string) bool {
		for _, n := range names {
			if n != name && (path.Base(p) == n || strings.HasPrefix(path.Base(p), n+".")) {
				return true
			}
		}
		return strings.HasPrefix(p, "/usr/share/doc/") || strings.HasPrefix(p, "/usr/share/man/")
	}
	root := testenv.ModuleRoot(t)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(root, "packaging", "man", name+".1"))
		if err != nil {
			t.Fatal(err)
		}
		_, files, _ := strings.Cut(string(b), "\n.SH FILES\n")
		files, _, _ = strings.Cut(files, "\n.SH ")
		listed := map[string]bool{}
		lines := strings.Split(files, "\n")
		for i := 0; i+1 < len(lines); i++ {
			if lines[i] == ".TP" {
				listed[lines[i+1]] = true
				if !installed[lines[i+1]] {
					t.Errorf("%s.1 FILES lists %s, which neither package installs", name, lines[i+1])
				}
			}
		}
		for p := range installed {
			if !listed[p] && !other(p, name) {
				t.Errorf("%s.1 FILES does not list %s, which the packages install", name, p)
			}
		}
	}
}
