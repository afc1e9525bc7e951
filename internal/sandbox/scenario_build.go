package sandbox

import (
	"crypto/ecdsa"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

const (
	day = 24 * time.Hour
	// defaultJoined is how long ago accounts joined when a scenario does not say.
	defaultJoined = 730 * day
	// defaultUserAge is a user's age when nothing in the scenario implies one.
	defaultUserAge = 30 * day
	// maxKeysPerUser is IAM's quota of access keys per user (and root).
	maxKeysPerUser = 2
)

var (
	accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	orgIDRe     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	iamNameRe   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	roleNameRe  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	iamPathRe   = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
	keyIDRe     = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
)

// Validate checks the scenario and returns a *ScenarioError listing every
// problem, with lines when the scenario was read from YAML.
func (sc *Scenario) Validate() error {
	_, err := sc.compile(time.Now().UTC().Truncate(time.Second), "", newIDGen())
	return err
}

// ApplyScenario replaces the sandbox's whole state with the scenario's
// organization, with ages taken from the sandbox clock now. It also drops
// STS sessions, call counts, credential reports and captured messages. The
// management account keeps the server's ID unless the scenario sets one.
func (s *Server) ApplyScenario(sc *Scenario) error {
	if sc == nil {
		return errors.New("no scenario")
	}
	st, err := sc.compile(s.clock.Now(), s.ManagementAccountID(), newIDGen())
	if err != nil {
		return err
	}
	if _, u, k := findKeyIn(st, s.adminKey); k != nil {
		owner := "root"
		if u != nil {
			owner = u.Name
		}
		return fmt.Errorf("access key %s of %s is the sandbox admin's key", k.ID, owner)
	}
	s.mu.Lock()
	s.st = st
	s.sessions = map[string]*session{}
	s.counts = map[string]map[string]int{}
	s.faulted = nil
	s.spans = nil
	s.mu.Unlock()
	return nil
}

func findKeyIn(st *State, id string) (*Account, *User, *AccessKey) {
	for _, a := range st.Accounts {
		for _, k := range a.Root.Keys {
			if k.ID == id {
				return a, nil, k
			}
		}
		for _, u := range a.Users {
			for _, k := range u.Keys {
				if k.ID == id {
					return a, u, k
				}
			}
		}
	}
	return nil, nil, nil
}

// builder turns a Scenario into a State, collecting problems.
type builder struct {
	sc     *Scenario
	now    time.Time
	ids    *idGen
	st     *State
	probs  []Problem
	keyIDs map[string]bool
	ouIDs  map[string]string // OU path -> ID
	emails map[string]string // lower-case email -> path
	names  map[string]string // account name -> path
	// certKey signs generated signing certificates (scenario_kinds.go).
	certKey *ecdsa.PrivateKey
}

func (b *builder) problem(path, format string, args ...any) {
	b.probs = append(b.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// compile builds the State the scenario describes at time now. mgmtID is
// the management account ID to use when the scenario gives none.
func (sc *Scenario) compile(now time.Time, mgmtID string, ids *idGen) (*State, error) {
	b := &builder{
		sc: sc, now: now, ids: ids,
		keyIDs: map[string]bool{}, ouIDs: map[string]string{}, emails: map[string]string{}, names: map[string]string{},
	}
	org := sc.Organization
	st := &State{
		OrgID:           org.ID,
		RootID:          "r-" + ids.from(lowerAlnum, 4),
		Accounts:        map[string]*Account{},
		OUs:             map[string]*OU{},
		DefaultRoleName: org.RoleName,
	}
	b.st = st
	if st.OrgID == "" {
		st.OrgID = "o-" + ids.from(lowerAlnum, 10)
	} else if !orgIDRe.MatchString(st.OrgID) {
		b.problem("organization.id", "invalid organization ID %q (want o- and 10 to 32 lower-case letters or digits)", st.OrgID)
	}
	if st.DefaultRoleName == "" {
		st.DefaultRoleName = "OrganizationAccountAccessRole"
	} else if !roleNameRe.MatchString(st.DefaultRoleName) {
		b.problem("organization.role_name", "invalid role name %q", st.DefaultRoleName)
	}
	b.ous(sc.OUs, "ous", "", st.RootID)

	m := org.Management
	if m.ID == "" {
		m.ID = mgmtID
	}
	if m.ID == "" {
		m.ID = ids.accountID()
	}
	if m.Name == "" {
		m.Name = "management"
	}
	if m.OU != "" {
		b.problem("organization.management.ou", "the management account is always under the root")
	}
	if m.Status != "" && !strings.EqualFold(m.Status, "ACTIVE") {
		b.problem("organization.management.status", "the management account is always ACTIVE")
	}
	if m.Role.IsZero() {
		m.Role = RoleSpec{None: true}
	}
	st.ManagementAccountID = m.ID
	b.account("organization.management", m)
	for i, a := range sc.Accounts {
		b.account("accounts["+strconv.Itoa(i)+"]", a)
	}
	b.scps("organization.scps", org.SCPs)
	if org.RoleTrust.JSON != "" {
		b.docProblem("organization.role_trust", org.RoleTrust, kindTrust)
	}
	if len(b.probs) > 0 {
		seen := map[Problem]bool{}
		probs := b.probs[:0]
		for _, p := range b.probs {
			if p.Line == 0 {
				p.Line = sc.lines.Nearest(p.Path)
			}
			if !seen[p] { // a shared declaration, such as the member role's policies, is checked once per account
				seen[p] = true
				probs = append(probs, p)
			}
		}
		b.probs = probs
		sort.SliceStable(b.probs, func(i, j int) bool { return b.probs[i].Line < b.probs[j].Line })
		return nil, &ScenarioError{File: sc.file, Problems: b.probs}
	}
	return st, nil
}

func (b *builder) ous(ous []ScenarioOU, path, prefix, parentID string) {
	seen := map[string]bool{}
	for i, o := range ous {
		p := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case o.Name == "" || len(o.Name) > 128:
			b.problem(p+".name", "an OU needs a name of 1 to 128 characters")
			continue
		case strings.Contains(o.Name, "/"):
			b.problem(p+".name", "OU name %q must not contain /", o.Name)
			continue
		case seen[strings.ToLower(o.Name)]:
			b.problem(p+".name", "duplicate OU name %q under the same parent", o.Name)
			continue
		}
		seen[strings.ToLower(o.Name)] = true
		full := o.Name
		if prefix != "" {
			full = prefix + "/" + o.Name
		}
		id := "ou-" + strings.TrimPrefix(b.st.RootID, "r-") + "-" + b.ids.from(lowerAlnum, 8)
		b.st.OUs[id] = &OU{ID: id, Name: o.Name, ParentID: parentID}
		b.ouIDs[full] = id
		b.ous(o.OUs, p+".ous", full, id)
	}
}

// age parses an age such as "95d"; ok is false when v is empty or invalid.
func (b *builder) age(path, v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	d, err := yamlconf.ParseDuration(v)
	if err != nil {
		b.problem(path, "%v", err)
		return 0, false
	}
	return d, true
}

func fmtAge(d time.Duration) string {
	if d%day == 0 {
		return strconv.Itoa(int(d/day)) + "d"
	}
	return d.String()
}

func (b *builder) account(path string, spec ScenarioAccount) {
	now := b.now
	id := spec.ID
	switch {
	case id == "":
		for id == "" || b.st.Accounts[id] != nil {
			id = b.ids.accountID()
		}
	case !accountIDRe.MatchString(id):
		b.problem(path+".id", "invalid account ID %q (want 12 digits)", id)
		return
	case b.st.Accounts[id] != nil:
		b.problem(path+".id", "duplicate account ID %s", id)
		return
	}
	if spec.Name == "" || len(spec.Name) > 50 {
		b.problem(path+".name", "an account needs a name of 1 to 50 characters")
	} else if prev, dup := b.names[strings.ToLower(spec.Name)]; dup {
		b.problem(path+".name", "duplicate account name %q (also at %s)", spec.Name, prev)
	} else {
		b.names[strings.ToLower(spec.Name)] = path
	}
	email := spec.Email
	if email == "" {
		email = "aws+" + strings.ToLower(strings.ReplaceAll(spec.Name, " ", "-")) + "@example.com"
	}
	if !strings.Contains(email, "@") || len(email) < 6 || len(email) > 64 {
		b.problem(path+".email", "invalid email %q", email)
	} else if prev, dup := b.emails[strings.ToLower(email)]; dup {
		b.problem(path+".email", "duplicate account email %q (also at %s)", email, prev)
	} else {
		b.emails[strings.ToLower(email)] = path
	}
	parent := b.st.RootID
	if spec.OU != "" {
		ou := strings.Trim(spec.OU, "/")
		pid, ok := b.ouIDs[ou]
		if !ok {
			b.problem(path+".ou", "unknown OU %q (known: %s)", spec.OU, strings.Join(sortedKeys(b.ouIDs), ", "))
		}
		parent = pid
	}
	status := strings.ToUpper(spec.Status)
	switch status {
	case "":
		status = "ACTIVE"
	case "ACTIVE", "SUSPENDED", "PENDING_CLOSURE":
	default:
		b.problem(path+".status", "invalid status %q (want ACTIVE, SUSPENDED or PENDING_CLOSURE)", spec.Status)
	}
	a := newAccount(id, spec.Name, email, parent, now)
	a.Status = status
	if len(spec.Tags) > 0 {
		a.Tags = map[string]string{}
		for k, v := range spec.Tags {
			a.Tags[k] = v
		}
	}

	// Everything in the account must be younger than the account.
	oldest := time.Duration(0)

	for i, g := range spec.Groups {
		gp := path + ".groups[" + strconv.Itoa(i) + "]"
		if !iamNameRe.MatchString(g.Name) || len(g.Name) > 128 {
			b.problem(gp+".name", "invalid group name %q", g.Name)
			continue
		}
		if a.Groups[strings.ToLower(g.Name)] != nil {
			b.problem(gp+".name", "duplicate group name %q", g.Name)
			continue
		}
		gpath := b.iamPath(gp+".path", g.Path)
		a.Groups[strings.ToLower(g.Name)] = &Group{
			Name: g.Name, ID: b.ids.uniqueID("AGPA"), Path: gpath,
			ARN: "arn:aws:iam::" + id + ":group" + gpath + g.Name,
		}
	}

	for i, us := range spec.Users {
		up := path + ".users[" + strconv.Itoa(i) + "]"
		u, age := b.user(up, id, a, us)
		if u == nil {
			continue
		}
		if a.Users[strings.ToLower(u.Name)] != nil {
			b.problem(up+".name", "duplicate user name %q (IAM user names are unique regardless of case)", u.Name)
			continue
		}
		a.Users[strings.ToLower(u.Name)] = u
		oldest = max(oldest, age)
	}

	b.kmsKeys(path+".kms_keys", a, spec.KMSKeys)
	b.dynamoTables(path+".dynamodb_tables", a, spec.DynamoDBTables)
	b.sesIdentities(path+".ses_identities", a, spec.SESIdentities)
	a.PasswordPolicy = b.passwordPolicy(path+".password_policy", spec.PasswordPolicy)
	b.accountKinds(path, a, spec)

	rp := path + ".root"
	if d, ok := b.age(rp+".password_last_used", spec.Root.PasswordLastUsed); ok {
		t := now.Add(-d)
		a.Root.PasswordLastUsed = &t
		oldest = max(oldest, d)
	}
	a.Root.MFA = spec.Root.MFA
	a.Root.Keys, oldest = b.keys(rp+".keys", spec.Root.Keys, 0, oldest)

	joined := defaultJoined
	if d, ok := b.age(path+".joined", spec.Joined); ok {
		joined = d
	} else {
		joined = max(joined, oldest+day)
	}
	a.Joined = now.Add(-joined)
	a.Created = now.Add(-max(joined, oldest+day))
	for _, g := range a.Groups {
		g.CreateDate = a.Created
	}

	b.managedPolicies(path+".policies", spec.Policies, a)
	for i, gs := range spec.Groups {
		if g := a.Groups[strings.ToLower(gs.Name)]; g != nil && !gs.Policies.isZero() {
			g.Policies = b.policies(path+".groups["+strconv.Itoa(i)+"].policies", gs.Policies, a)
		}
	}
	for i, us := range spec.Users {
		u := a.user(us.Name)
		if u == nil {
			continue
		}
		u.Policies = b.policies(path+".users["+strconv.Itoa(i)+"].policies", us.Policies, a)
		if us.Admin {
			u.Policies.attach(awsManagedPolicyARN("AdministratorAccess"))
		}
	}
	if !spec.Role.None {
		rn := spec.Role.Name
		if rn == "" {
			rn = b.st.DefaultRoleName
		} else if !roleNameRe.MatchString(rn) {
			b.problem(path+".role", "invalid role name %q", rn)
		}
		a.Roles[rn] = &Role{
			Name: rn, ID: b.ids.uniqueID("AROA"), Path: "/", ARN: "arn:aws:iam::" + id + ":role/" + rn,
			CreateDate: a.Joined, TrustedAccounts: []string{b.st.ManagementAccountID},
			ExternalID: b.sc.Organization.ExternalID, TrustPolicy: b.sc.Organization.RoleTrust.JSON,
			Policies: b.memberRolePolicies(a),
		}
	}
	b.roles(path+".roles", spec.Roles, a)
	b.lambdaFunctions(path+".lambda_functions", a, spec.LambdaFunctions)
	b.st.Accounts[id] = a
}

func (b *builder) iamPath(path, v string) string {
	if v == "" {
		return "/"
	}
	if !iamPathRe.MatchString(v) || len(v) > 512 {
		b.problem(path, "invalid path %q (want / or /a/b/)", v)
	}
	return v
}

// user builds one user and returns it with its age.
func (b *builder) user(path, accountID string, a *Account, spec ScenarioUser) (*User, time.Duration) {
	now := b.now
	if !iamNameRe.MatchString(spec.Name) {
		b.problem(path+".name", "invalid user name %q (1 to 64 of letters, digits and +=,.@_-)", spec.Name)
		return nil, 0
	}
	upath := b.iamPath(path+".path", spec.Path)
	u := &User{
		Name: spec.Name, ID: b.ids.uniqueID("AIDA"), Path: upath,
		ARN: "arn:aws:iam::" + accountID + ":user" + upath + spec.Name, Admin: spec.Admin,
	}
	// The user's age: given, or that of its oldest credential.
	created, explicit := b.age(path+".created", spec.Created)

	var consoleAge, pwUsed time.Duration
	var pwUsedOK bool
	if c := spec.Console; c != nil {
		consoleAge, _ = b.age(path+".console.created", c.Created)
		pwUsed, pwUsedOK = b.age(path+".console.password_last_used", c.PasswordLastUsed)
	}
	keys, oldestKey := b.keys(path+".keys", spec.Keys, created, 0)
	oldestKey = max(oldestKey, b.userKinds(path, accountID, u, spec))
	if explicit {
		if consoleAge > created {
			b.problem(path+".console.created", "the password (%s old) is older than its user (created %s ago)", fmtAge(consoleAge), fmtAge(created))
		}
	} else {
		created = max(oldestKey, consoleAge, pwUsed)
		if created == 0 {
			created = defaultUserAge
		}
	}
	if pwUsedOK && pwUsed > created {
		b.problem(path+".console.password_last_used", "last used %s ago, before the user was created %s ago", fmtAge(pwUsed), fmtAge(created))
	}
	u.CreateDate = now.Add(-created)
	u.Keys = keys
	if c := spec.Console; c != nil {
		pc := u.CreateDate
		if consoleAge > 0 {
			pc = now.Add(-consoleAge)
		}
		u.Login = &LoginProfile{CreateDate: pc, PasswordResetRequired: c.ResetRequired}
		if pwUsedOK {
			t := now.Add(-pwUsed)
			u.PasswordLastUsed = &t
		}
	}
	if spec.MFA {
		u.MFADevices = []*MFADevice{{SerialNumber: "arn:aws:iam::" + accountID + ":mfa/" + spec.Name, EnableDate: u.CreateDate}}
	}
	if len(spec.Tags) > 50 {
		b.problem(path+".tags", "at most 50 tags per user, got %d", len(spec.Tags))
	}
	for _, k := range sortedKeys(spec.Tags) {
		v := spec.Tags[k]
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			b.problem(path+".tags", "invalid tag %q (keys 1 to 128 characters, not aws:; values at most 256)", k)
		}
		u.Tags = append(u.Tags, Tag{Key: k, Value: v})
	}
	for i, g := range spec.Groups {
		grp := a.Groups[strings.ToLower(g)]
		if grp == nil {
			b.problem(path+".groups["+strconv.Itoa(i)+"]", "unknown group %q (declare it in the account's groups)", g)
			continue
		}
		u.Groups = append(u.Groups, grp.Name)
	}
	return u, created
}

// keys builds access keys. ownerAge, when non-zero, is the owner's age: no
// key may be older. It returns the keys and the max of oldest and their ages.
func (b *builder) keys(path string, specs []ScenarioKey, ownerAge, oldest time.Duration) ([]*AccessKey, time.Duration) {
	if len(specs) > maxKeysPerUser {
		b.problem(path+"["+strconv.Itoa(maxKeysPerUser)+"]", "at most %d access keys per user (IAM quota), got %d", maxKeysPerUser, len(specs))
	}
	var out []*AccessKey
	for i, ks := range specs {
		kp := path + "[" + strconv.Itoa(i) + "]"
		age, ok := b.age(kp+".age", ks.Age)
		if !ok {
			if ks.Age == "" {
				b.problem(kp+".age", "required (write e.g. 90d)")
			}
			continue
		}
		if ownerAge > 0 && age > ownerAge {
			b.problem(kp+".age", "the key (%s old) is older than its user (created %s ago)", fmtAge(age), fmtAge(ownerAge))
		}
		oldest = max(oldest, age)
		k := &AccessKey{ID: ks.ID, Secret: ks.Secret, Status: "Active", CreateDate: b.now.Add(-age)}
		switch {
		case ks.ID == "":
			k.ID = b.ids.accessKeyID()
		case !keyIDRe.MatchString(ks.ID):
			b.problem(kp+".id", "invalid access key ID %q (want AKIA and 16 of A-Z, 2-7)", ks.ID)
		case b.keyIDs[ks.ID]:
			b.problem(kp+".id", "duplicate access key ID %s", ks.ID)
		}
		b.keyIDs[k.ID] = true
		if k.Secret == "" {
			k.Secret = b.ids.from(secretChars, 40)
		} else if len(k.Secret) != 40 {
			b.problem(kp+".secret", "a secret access key has 40 characters, got %d", len(k.Secret))
		}
		switch {
		case ks.Status == "" || strings.EqualFold(ks.Status, "Active"):
		case strings.EqualFold(ks.Status, "Inactive"):
			k.Status = "Inactive"
		default:
			b.problem(kp+".status", "invalid status %q (want Active or Inactive)", ks.Status)
		}
		if ks.LastUsed != "" && !strings.EqualFold(ks.LastUsed, "never") {
			if lu, ok := b.age(kp+".last_used", ks.LastUsed); ok {
				if lu > age {
					b.problem(kp+".last_used", "last used %s ago, before the key was created %s ago", fmtAge(lu), fmtAge(age))
				}
				t := b.now.Add(-lu)
				k.LastUsed = &t
				k.LastUsedService = ks.Service
				if k.LastUsedService == "" {
					k.LastUsedService = "sts"
				}
				k.LastUsedRegion = ks.Region
				if k.LastUsedRegion == "" {
					k.LastUsedRegion = "us-east-1"
				}
			}
		} else if ks.Service != "" || ks.Region != "" {
			b.problem(kp+".service", "service and region describe the last use; this key was never used")
		}
		out = append(out, k)
	}
	return out, oldest
}

// idGen makes IDs and secrets for a scenario quickly: a ChaCha8 stream
// seeded from crypto/rand (itself a CSPRNG), so large scenarios build fast.
type idGen struct{ r *rand.Rand }

func newIDGen() *idGen {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &idGen{r: rand.New(rand.NewChaCha8(seed))}
}

func (g *idGen) from(alphabet string, n int) string {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(buf)
}

func (g *idGen) accountID() string          { return g.from("123456789", 1) + g.from(digits, 11) }
func (g *idGen) accessKeyID() string        { return "AKIA" + g.from(upperBase32, 16) }
func (g *idGen) uniqueID(pfx string) string { return pfx + g.from(upperBase32, 17) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
