package sandbox

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestScenarioFixtures checks each bad fixture's exact errors, given in
// its leading "# want:" lines, and that good fixtures load.
func TestScenarioFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
			}
			_, err = LoadScenario(f)
			if len(want) == 0 {
				if err != nil {
					t.Fatalf("good fixture: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", want)
			}
			if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadScenarioUnknownName(t *testing.T) {
	_, err := LoadScenario("nope")
	if err == nil || !strings.Contains(err.Error(), `unknown scenario "nope" (built-in: demo, empty`) {
		t.Fatalf("got %v", err)
	}
}

func TestRoleSpec(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       map[string][]string // account name -> role names
	}{
		{"default", "", map[string][]string{"a": {"OrganizationAccountAccessRole"}}},
		{"true", "role: true", map[string][]string{"a": {"OrganizationAccountAccessRole"}}},
		{"false", "role: false", map[string][]string{"a": nil}},
		{"custom", "role: AuditRole", map[string][]string{"a": {"AuditRole"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "organization:\n  management: {name: m}\naccounts:\n  - name: a\n    " + tt.yaml + "\n"
			sc, err := ParseScenario("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			st, err := sc.compile(time.Now(), "111111111111", newIDGen())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, a := range st.Accounts {
				if a.ID == st.ManagementAccountID {
					if len(a.Roles) != 0 {
						t.Errorf("management account has roles %v", a.Roles)
					}
					continue
				}
				var names []string
				for n, r := range a.Roles {
					names = append(names, n)
					if r.ARN != "arn:aws:iam::"+a.ID+":role/"+n || r.TrustedAccounts[0] != "111111111111" {
						t.Errorf("role %+v", r)
					}
				}
				got[a.Name] = names
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyScenarioAges checks that ages are taken from the sandbox clock
// at apply time and that every planted fact lands in the state.
func TestApplyScenarioAges(t *testing.T) {
	src := `
organization:
  management:
    id: "123456789012"
    name: mgmt
    root: {mfa: true, password_last_used: 10d, keys: [{age: 400d, last_used: 100d}]}
ous: [{name: W, ous: [{name: P}]}]
accounts:
  - id: "210000000000"
    name: prod
    ou: W/P
    status: suspended
    tags: {env: prod}
    groups: [{name: devs, path: /eng/}]
    users:
      - name: alice
        path: /people/
        tags: {owner: a@example.com, "keyrot:exempt": legal hold}
        groups: [devs]
        admin: true
        console: {password_last_used: 2d}
        mfa: true
        keys:
          - {id: AKIAAAAAAAAAAAAAAAAA, secret: "0123456789012345678901234567890123456789", age: 95d, last_used: 3d, service: s3, region: eu-west-1}
          - {age: 5d, status: inactive}
`
	sc, err := ParseScenario("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	at := time.Date(2030, 1, 31, 12, 0, 0, 0, time.UTC)
	s.Clock().Set(at)
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	now := s.Clock().Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	if now.Sub(at) > time.Minute {
		t.Fatalf("clock moved: %v", now)
	}
	st := s.st
	if st.ManagementAccountID != "123456789012" {
		t.Fatalf("management %s", st.ManagementAccountID)
	}
	m := st.Accounts["123456789012"]
	if !m.Root.MFA || !m.Root.PasswordLastUsed.Equal(ago(10*day)) || len(m.Root.Keys) != 1 || !m.Root.Keys[0].CreateDate.Equal(ago(400*day)) {
		t.Errorf("root %+v", m.Root)
	}
	a := st.Accounts["210000000000"]
	ou := st.OUs[a.ParentID]
	if ou == nil || ou.Name != "P" || st.OUs[ou.ParentID].Name != "W" || st.OUs[ou.ParentID].ParentID != st.RootID {
		t.Fatalf("OU chain wrong: %+v", ou)
	}
	if a.Status != "SUSPENDED" || a.Tags["env"] != "prod" {
		t.Errorf("account %+v", a)
	}
	u := a.user("ALICE")
	if u == nil {
		t.Fatal("no alice")
	}
	wantUser := &User{
		Name: "alice", ID: u.ID, Path: "/people/", ARN: "arn:aws:iam::210000000000:user/people/alice",
		CreateDate: ago(95 * day),
		Tags:       []Tag{{"keyrot:exempt", "legal hold"}, {"owner", "a@example.com"}},
		Groups:     []string{"devs"},
		Login:      &LoginProfile{CreateDate: ago(95 * day)},
		MFADevices: []*MFADevice{{SerialNumber: "arn:aws:iam::210000000000:mfa/alice", EnableDate: ago(95 * day)}},
		Admin:      true,
		Policies:   Attachments{Attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}},
	}
	pw, lu := ago(2*day), ago(3*day)
	wantUser.PasswordLastUsed = &pw
	wantUser.Keys = []*AccessKey{
		{ID: "AKIAAAAAAAAAAAAAAAAA", Secret: "0123456789012345678901234567890123456789", Status: "Active", CreateDate: ago(95 * day), LastUsed: &lu, LastUsedService: "s3", LastUsedRegion: "eu-west-1"},
		{ID: u.Keys[1].ID, Secret: u.Keys[1].Secret, Status: "Inactive", CreateDate: ago(5 * day)},
	}
	if diff := cmp.Diff(wantUser, u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if len(u.Keys[1].Secret) != 40 || !keyIDRe.MatchString(u.Keys[1].ID) {
		t.Errorf("generated key %q %q", u.Keys[1].ID, u.Keys[1].Secret)
	}
	if g := a.Groups["devs"]; g == nil || g.ARN != "arn:aws:iam::210000000000:group/eng/devs" {
		t.Errorf("group %+v", g)
	}
	if !a.Created.Before(u.CreateDate) || !a.Joined.Equal(ago(defaultJoined)) {
		t.Errorf("account created %v joined %v", a.Created, a.Joined)
	}
}

func TestApplyScenarioResets(t *testing.T) {
	s := New(Options{ManagementAccountID: "999999999999"})
	s.mu.Lock()
	s.countLocked("999999999999", "iam", "ListUsers")
	s.sessions["ASIAX"] = &session{}
	s.st.Emails = append(s.st.Emails, Email{Subject: "x"})
	s.mu.Unlock()
	sc, err := LoadScenario("empty")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	if s.ManagementAccountID() != "999999999999" {
		t.Errorf("management ID %s, want the server's", s.ManagementAccountID())
	}
	if len(s.CallCounts()) != 0 || len(s.sessions) != 0 || len(s.st.Emails) != 0 {
		t.Errorf("not reset: counts %v sessions %d emails %d", s.CallCounts(), len(s.sessions), len(s.st.Emails))
	}
}

func TestApplyScenarioRejectsAdminKey(t *testing.T) {
	s := New(Options{AdminKeyID: "AKIAAAAAAAAAAAAAAAAB", AdminSecret: strings.Repeat("x", 40)})
	sc := &Scenario{Organization: ScenarioOrg{Management: ScenarioAccount{Name: "m", Users: []ScenarioUser{{Name: "u", Keys: []ScenarioKey{{ID: "AKIAAAAAAAAAAAAAAAAB", Age: "1d"}}}}}}}
	if err := s.ApplyScenario(sc); err == nil || !strings.Contains(err.Error(), "sandbox admin's key") {
		t.Fatalf("got %v", err)
	}
}

// TestDemoScenario checks that the demo organization plants what
// docs/sandbox.md promises.
func TestDemoScenario(t *testing.T) {
	sc, err := LoadScenario("demo")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{})
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	st := s.st
	now := s.Clock().Now()
	var (
		users, twoActive, neverUsed, setupNeverUsed, unused90, exempt, owners, service int
		consoleMFA, consoleNoMFA, rootKeys, suspended, noRole, compliant               int
		minAge, maxAge                                                                 = 1 << 30, 0
	)
	for _, a := range st.Accounts {
		if a.Status == "SUSPENDED" {
			suspended++
		}
		if a.ID != st.ManagementAccountID && a.Roles["OrganizationAccountAccessRole"] == nil {
			noRole++
		}
		rootKeys += len(a.Root.Keys)
		clean := len(a.Root.Keys) == 0 && a.Root.MFA
		for _, u := range a.Users {
			users++
			active := 0
			for _, k := range u.Keys {
				age := int(now.Sub(k.CreateDate) / day)
				minAge, maxAge = min(minAge, age), max(maxAge, age)
				if k.Status == "Active" {
					active++
				}
				if k.LastUsed == nil {
					neverUsed++
					if k.CreateDate.Equal(u.CreateDate) {
						setupNeverUsed++
					}
				} else if now.Sub(*k.LastUsed) > 90*day {
					unused90++
				}
				if age > 90 {
					clean = false
				}
			}
			if active == 2 {
				twoActive++
			}
			for _, tg := range u.Tags {
				switch tg.Key {
				case "keyrot:exempt":
					if tg.Value == "" {
						t.Errorf("%s: exemption without a reason", u.Name)
					}
					exempt++
				case "owner", "email":
					owners++
				}
			}
			if strings.HasPrefix(u.Path, "/service/") {
				service++
			}
			if u.Login != nil {
				if len(u.MFADevices) > 0 {
					consoleMFA++
				} else {
					consoleNoMFA++
					clean = false
				}
			}
		}
		if clean {
			compliant++
		}
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"at least 4 accounts", len(st.Accounts) >= 4},
		{"at least 40 users", users >= 40},
		{"keys from 5 to 400 days", minAge == 5 && maxAge == 400},
		{"users with two active keys", twoActive >= 2},
		{"never-used keys", neverUsed >= 3},
		{"never-used keys from user set-up", setupNeverUsed >= 2},
		{"keys unused for 90 days", unused90 >= 3},
		{"an exempt user", exempt == 1},
		{"owner tags", owners >= 10},
		{"service users", service >= 10},
		{"console users with MFA", consoleMFA >= 3},
		{"console users without MFA", consoleNoMFA >= 3},
		{"a root key", rootKeys == 1},
		{"a suspended account", suspended == 1},
		{"an account without the role", noRole == 1},
		{"compliant accounts", compliant >= 2},
		{"OUs", len(st.OUs) >= 4},
		{"a trust anchor whose CA expires within 45 days and a disabled one whose CA expired", demoTrustAnchors(t, st.Accounts["345678901234"], now)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("demo lacks %s", c.name)
		}
	}
	t.Logf("demo: %d accounts, %d users, key ages %d-%d days", len(st.Accounts), users, minAge, maxAge)
}

func TestLineOf(t *testing.T) {
	sc, err := ParseScenario("x.yaml", []byte("organization:\n  management:\n    name: m\n    users:\n      - name: a\n        keys:\n          - age: 1d\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want int
	}{
		{"organization.management.users[0].keys[0].age", 7},
		{"organization.management.users[0].keys[0].status", 7},
		{"organization.management.users[0].name", 5},
		{"organization.management.users[3]", 4},
		{"ous", 1},
	}
	for _, tt := range tests {
		if got := sc.lines.Nearest(tt.path); got != tt.want {
			t.Errorf("line of %s = %d, want %d", tt.path, got, tt.want)
		}
	}
}

func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("testdata/scenarios/*.yaml")
	files = append(files, "scenarios/demo.yaml", "scenarios/empty.yaml")
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if _, err := sc.compile(time.Now(), "111111111111", newIDGen()); err != nil {
			t.Fatalf("parsed scenario does not compile: %v", err)
		}
	})
}

// demoTrustAnchors reports whether prod holds, in us-east-1, an enabled
// trust anchor whose CA certificate expires within 45 days and a disabled
// one whose CA certificate has expired.
func demoTrustAnchors(t *testing.T, a *Account, now time.Time) bool {
	t.Helper()
	if a == nil {
		return false
	}
	expiring, disabledExpired := false, false
	for _, ta := range a.TrustAnchors["us-east-1"] {
		b, _ := pem.Decode([]byte(ta.Bundle))
		if b == nil {
			t.Errorf("trust anchor %s: no PEM certificate", ta.Name)
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Errorf("trust anchor %s: %v", ta.Name, err)
			continue
		}
		left := c.NotAfter.Sub(now)
		expiring = expiring || (ta.Enabled && left > 0 && left < 45*day)
		disabledExpired = disabledExpired || (!ta.Enabled && left < 0)
	}
	return expiring && disabledExpired
}
