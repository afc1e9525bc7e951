package sandbox

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Users, tags, groups, login profiles and MFA devices.

type iamUserResult struct {
	User xmlUser `xml:"User"`
}

func iamCreateUser(r *request) (any, error) {
	name, err := r.requireName("UserName", 64)
	if err != nil {
		return nil, err
	}
	path, err := r.pathParam()
	if err != nil {
		return nil, err
	}
	tags, err := r.tagsParam()
	if err != nil {
		return nil, err
	}
	if err := r.requireAdmin(r.userARN(path, name)); err != nil {
		return nil, err
	}
	if r.acct.user(name) != nil {
		return nil, errf(409, "EntityAlreadyExists", "User with name %s already exists.", name)
	}
	if len(r.acct.Users) >= usersQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for UsersPerAccount: %d", usersQuota)
	}
	if len(tags) > tagsPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for TagsPerUser: %d", tagsPerUserQuota)
	}
	u := &User{
		Name: name, ID: newUniqueID("AIDA"), Path: path, ARN: r.userARN(path, name),
		CreateDate: r.now, Tags: tags,
	}
	r.acct.Users[strings.ToLower(name)] = u
	return iamUserResult{User: userXML(u, true)}, nil
}

func iamGetUser(r *request) (any, error) {
	if r.param("UserName") == "" {
		switch r.caller.Kind {
		case "admin":
			// The sandbox admin is modelled as an IAM user outside the
			// account's user list.
			return iamUserResult{User: xmlUser{
				Path: "/", UserName: r.caller.UserName, UserID: r.caller.UserID, Arn: r.caller.ARN,
				CreateDate: xmlTime(r.acct.Created),
			}}, nil
		case "root":
			// IAM returns the root user without a name or path.
			return iamUserResult{User: xmlUser{
				UserID: r.acct.ID, Arn: r.caller.ARN, CreateDate: xmlTime(r.acct.Created),
				PasswordLastUsed: optTime(r.acct.Root.PasswordLastUsed),
			}}, nil
		}
	}
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	return iamUserResult{User: userXML(t.user, true)}, nil
}

type iamListUsersResult struct {
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

func iamListUsers(r *request) (any, error) {
	prefix, err := r.pathPrefixParam()
	if err != nil {
		return nil, err
	}
	if err := r.requireAdmin("arn:aws:iam::" + r.acct.ID + ":user/"); err != nil {
		return nil, err
	}
	var us []*User
	for _, u := range r.acct.sortedUsers() {
		if strings.HasPrefix(u.Path, prefix) {
			us = append(us, u)
		}
	}
	start, end, next, err := r.pageParams(len(us))
	if err != nil {
		return nil, err
	}
	out := iamListUsersResult{Users: []xmlUser{}, IsTruncated: next != "", Marker: next}
	for _, u := range us[start:end] {
		out.Users = append(out.Users, userXML(u, false))
	}
	return out, nil
}

func iamDeleteUser(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	switch {
	case len(u.Keys) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
	case u.Login != nil:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete login profile first.")
	case len(u.MFADevices) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete MFA device first.")
	case len(u.SigningCerts) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete signing certificates first.")
	case len(u.SSHKeys) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete SSH public keys first.")
	case len(u.ServiceCredentials) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must delete service specific credentials first.")
	case len(u.Groups) > 0:
		return nil, errf(409, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
	}
	delete(r.acct.Users, strings.ToLower(u.Name))
	return nil, nil
}

// tagsParam reads Tags.member.N.Key/Value, validating each tag and
// rejecting duplicate keys as IAM does.
func (r *request) tagsParam() ([]Tag, error) {
	var tags []Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		pfx := "Tags.member." + strconv.Itoa(i)
		k, hasKey := r.form[pfx+".Key"]
		v, hasVal := r.form[pfx+".Value"]
		if !hasKey && !hasVal {
			break
		}
		if !hasKey || k[0] == "" {
			return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'tags.%d.member.key' failed to satisfy constraint: Member must not be null", i)
		}
		if !hasVal {
			return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'tags.%d.member.value' failed to satisfy constraint: Member must not be null", i)
		}
		if err := checkTag(k[0], v[0], i); err != nil {
			return nil, err
		}
		if strings.HasPrefix(strings.ToLower(k[0]), "aws:") {
			// AWS reserves the aws: prefix for its own tags.
			return nil, errf(400, "InvalidInput", "User tags cannot begin with the reserved prefix 'aws:': %s", k[0])
		}
		lk := strings.ToLower(k[0])
		if seen[lk] {
			return nil, errf(400, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lk] = true
		tags = append(tags, Tag{Key: k[0], Value: v[0]})
	}
	return tags, nil
}

func checkTag(k, v string, i int) error {
	field := "tags." + strconv.Itoa(i) + ".member."
	if utf8.RuneCountInString(k) > 128 {
		return validationError(k, field+"key", "Member must have length less than or equal to 128")
	}
	if !reTagKey.MatchString(k) {
		return validationError(k, field+"key", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
	}
	if utf8.RuneCountInString(v) > 256 {
		return validationError(v, field+"value", "Member must have length less than or equal to 256")
	}
	if !reTagValue.MatchString(v) {
		return validationError(v, field+"value", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
	}
	return nil
}

func iamTagUser(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	tags, err := r.tagsParam()
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	merged := append([]Tag(nil), u.Tags...)
	for _, t := range tags {
		replaced := false
		for i := range merged {
			if strings.EqualFold(merged[i].Key, t.Key) {
				merged[i] = t
				replaced = true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > tagsPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for TagsPerUser: %d", tagsPerUserQuota)
	}
	u.Tags = merged
	return nil, nil
}

func iamUntagUser(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	keys := r.memberList("TagKeys", "")
	if len(keys) == 0 {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	drop := map[string]bool{}
	for i, k := range keys {
		if k == "" || utf8.RuneCountInString(k) > 128 || !reTagKey.MatchString(k) {
			return nil, validationError(k, "tagKeys."+strconv.Itoa(i+1)+".member", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		drop[strings.ToLower(k)] = true
	}
	kept := u.Tags[:0:0]
	for _, t := range u.Tags {
		if !drop[strings.ToLower(t.Key)] {
			kept = append(kept, t)
		}
	}
	u.Tags = kept
	return nil, nil
}

type iamListUserTagsResult struct {
	Tags        []xmlTag `xml:"Tags>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

func iamListUserTags(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	start, end, next, err := r.pageParams(len(u.Tags))
	if err != nil {
		return nil, err
	}
	return iamListUserTagsResult{Tags: tagsXML(u.Tags[start:end]), IsTruncated: next != "", Marker: next}, nil
}

// Groups.

func (a *Account) group(name string) *Group { return a.Groups[strings.ToLower(name)] }

func noSuchGroup(name string) error {
	return errf(404, "NoSuchEntity", "The group with name %s cannot be found.", name)
}

type iamGroupResult struct {
	Group xmlGroup `xml:"Group"`
}

func iamCreateGroup(r *request) (any, error) {
	name, err := r.requireName("GroupName", 128)
	if err != nil {
		return nil, err
	}
	path, err := r.pathParam()
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + r.acct.ID + ":group" + path + name
	if err := r.requireAdmin(arn); err != nil {
		return nil, err
	}
	if r.acct.group(name) != nil {
		return nil, errf(409, "EntityAlreadyExists", "Group with name %s already exists.", name)
	}
	if len(r.acct.Groups) >= groupsQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for GroupsPerAccount: %d", groupsQuota)
	}
	g := &Group{Name: name, ID: newUniqueID("AGPA"), Path: path, ARN: arn, CreateDate: r.now}
	r.acct.Groups[strings.ToLower(name)] = g
	return iamGroupResult{Group: groupXML(g)}, nil
}

// adminGroup fetches the group named by GroupName for an administrator.
func (r *request) adminGroup() (*Group, error) {
	name, err := r.requireName("GroupName", 128)
	if err != nil {
		return nil, err
	}
	if err := r.requireAdmin("arn:aws:iam::" + r.acct.ID + ":group/" + name); err != nil {
		return nil, err
	}
	g := r.acct.group(name)
	if g == nil {
		return nil, noSuchGroup(name)
	}
	return g, nil
}

func inGroup(u *User, g *Group) bool {
	for _, n := range u.Groups {
		if strings.EqualFold(n, g.Name) {
			return true
		}
	}
	return false
}

type iamGetGroupResult struct {
	Group       xmlGroup  `xml:"Group"`
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

func iamGetGroup(r *request) (any, error) {
	g, err := r.adminGroup()
	if err != nil {
		return nil, err
	}
	var us []*User
	for _, u := range r.acct.sortedUsers() {
		if inGroup(u, g) {
			us = append(us, u)
		}
	}
	start, end, next, err := r.pageParams(len(us))
	if err != nil {
		return nil, err
	}
	out := iamGetGroupResult{Group: groupXML(g), Users: []xmlUser{}, IsTruncated: next != "", Marker: next}
	for _, u := range us[start:end] {
		out.Users = append(out.Users, userXML(u, false))
	}
	return out, nil
}

type iamListGroupsResult struct {
	Groups      []xmlGroup `xml:"Groups>member"`
	IsTruncated bool       `xml:"IsTruncated"`
	Marker      string     `xml:"Marker,omitempty"`
}

// sortedGroups returns the account's groups (or only the given ones) by name.
func (a *Account) sortedGroups(filter func(*Group) bool) []*Group {
	var gs []*Group
	for _, g := range a.Groups {
		if filter == nil || filter(g) {
			gs = append(gs, g)
		}
	}
	sortByLower(gs, func(g *Group) string { return g.Name })
	return gs
}

func iamListGroups(r *request) (any, error) {
	prefix, err := r.pathPrefixParam()
	if err != nil {
		return nil, err
	}
	if err := r.requireAdmin("arn:aws:iam::" + r.acct.ID + ":group/"); err != nil {
		return nil, err
	}
	gs := r.acct.sortedGroups(func(g *Group) bool { return strings.HasPrefix(g.Path, prefix) })
	return pagedGroups(r, gs)
}

func pagedGroups(r *request, gs []*Group) (any, error) {
	start, end, next, err := r.pageParams(len(gs))
	if err != nil {
		return nil, err
	}
	out := iamListGroupsResult{Groups: []xmlGroup{}, IsTruncated: next != "", Marker: next}
	for _, g := range gs[start:end] {
		out.Groups = append(out.Groups, groupXML(g))
	}
	return out, nil
}

func iamAddUserToGroup(r *request) (any, error) {
	g, err := r.adminGroup()
	if err != nil {
		return nil, err
	}
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	if inGroup(u, g) {
		return nil, nil // IAM treats a repeated add as success
	}
	if len(u.Groups) >= groupsPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for GroupsPerUser: %d", groupsPerUserQuota)
	}
	u.Groups = append(u.Groups, g.Name)
	return nil, nil
}

func iamRemoveUserFromGroup(r *request) (any, error) {
	g, err := r.adminGroup()
	if err != nil {
		return nil, err
	}
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	if !inGroup(u, g) {
		return nil, errf(404, "NoSuchEntity", "User %s is not in group %s.", u.Name, g.Name)
	}
	kept := u.Groups[:0:0]
	for _, n := range u.Groups {
		if !strings.EqualFold(n, g.Name) {
			kept = append(kept, n)
		}
	}
	u.Groups = kept
	return nil, nil
}

func iamListGroupsForUser(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	gs := r.acct.sortedGroups(func(g *Group) bool { return inGroup(u, g) })
	return pagedGroups(r, gs)
}

// Login profiles.

type xmlLoginProfile struct {
	UserName              string `xml:"UserName"`
	CreateDate            string `xml:"CreateDate"`
	PasswordResetRequired bool   `xml:"PasswordResetRequired"`
}

type iamLoginProfileResult struct {
	LoginProfile xmlLoginProfile `xml:"LoginProfile"`
}

func iamCreateLoginProfile(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	pw, err := r.requireParam("Password")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(pw) > 128 || !rePasswords.MatchString(pw) {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length less than or equal to 128")
	}
	reset, err := r.boolParam("PasswordResetRequired")
	if err != nil {
		return nil, err
	}
	if u.Login != nil {
		return nil, errf(409, "EntityAlreadyExists", "Login Profile for user %s already exists.", u.Name)
	}
	if err := passwordPolicyViolation(r.acct.PasswordPolicy, pw); err != nil {
		return nil, err
	}
	u.Login = &LoginProfile{CreateDate: r.now, PasswordResetRequired: reset, PasswordHash: passwordHash(pw)}
	return iamLoginProfileResult{LoginProfile: xmlLoginProfile{UserName: u.Name, CreateDate: xmlTime(r.now), PasswordResetRequired: reset}}, nil
}

// boolParam parses an optional boolean Query parameter.
func (r *request) boolParam(name string) (bool, error) {
	switch v := r.param(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, validationError(v, lowerFirst(name), "Member must be a boolean")
	}
}

func iamGetLoginProfile(r *request) (any, error) {
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	if t.user == nil {
		// The root user's password is not an IAM login profile.
		return nil, errf(404, "NoSuchEntity", "Login Profile for User %s cannot be found.", r.caller.UserName)
	}
	if t.user.Login == nil {
		return nil, errf(404, "NoSuchEntity", "Login Profile for User %s cannot be found.", t.user.Name)
	}
	lp := t.user.Login
	return iamLoginProfileResult{LoginProfile: xmlLoginProfile{UserName: t.user.Name, CreateDate: xmlTime(lp.CreateDate), PasswordResetRequired: lp.PasswordResetRequired}}, nil
}

func iamDeleteLoginProfile(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	if u.Login == nil {
		return nil, errf(404, "NoSuchEntity", "Login Profile for User %s cannot be found.", u.Name)
	}
	u.Login = nil
	return nil, nil
}

// MFA devices.

type xmlMFADevice struct {
	UserName     string `xml:"UserName"`
	SerialNumber string `xml:"SerialNumber"`
	EnableDate   string `xml:"EnableDate"`
}

type iamListMFADevicesResult struct {
	MFADevices  []xmlMFADevice `xml:"MFADevices>member"`
	IsTruncated bool           `xml:"IsTruncated"`
	Marker      string         `xml:"Marker,omitempty"`
}

func iamListMFADevices(r *request) (any, error) {
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	var devs []xmlMFADevice
	switch {
	case t.user != nil:
		for _, d := range t.user.MFADevices {
			devs = append(devs, xmlMFADevice{UserName: t.user.Name, SerialNumber: d.SerialNumber, EnableDate: xmlTime(d.EnableDate)})
		}
	case t.root && r.acct.Root.MFA:
		devs = append(devs, xmlMFADevice{UserName: r.acct.ID, SerialNumber: "arn:aws:iam::" + r.acct.ID + ":mfa/root-account-mfa-device", EnableDate: xmlTime(r.acct.Created)})
	}
	start, end, next, err := r.pageParams(len(devs))
	if err != nil {
		return nil, err
	}
	return iamListMFADevicesResult{MFADevices: append([]xmlMFADevice{}, devs[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

// mfaParams reads and validates SerialNumber.
func (r *request) serialParam() (string, error) {
	s, err := r.requireParam("SerialNumber")
	if err != nil {
		return "", err
	}
	if len(s) < 9 {
		return "", validationError(s, "serialNumber", "Member must have length greater than or equal to 9")
	}
	if len(s) > 256 {
		return "", validationError(s, "serialNumber", "Member must have length less than or equal to 256")
	}
	if !reSerial.MatchString(s) {
		return "", validationError(s, "serialNumber", `Member must satisfy regular expression pattern: [\w+=/:,.@-]+`)
	}
	return s, nil
}

// iamEnableMFADevice attaches an MFA device. The sandbox has no
// CreateVirtualMFADevice: it accepts any virtual device ARN of the account
// (arn:aws:iam::ACCOUNT:mfa/NAME) or a hardware serial, and any two
// well-formed codes that differ (consecutive TOTP codes never repeat).
func iamEnableMFADevice(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	serial, err := r.serialParam()
	if err != nil {
		return nil, err
	}
	var codes [2]string
	for i, p := range []string{"AuthenticationCode1", "AuthenticationCode2"} {
		c, err := r.requireParam(p)
		if err != nil {
			return nil, err
		}
		if len(c) != 6 {
			return nil, validationError(c, lowerFirst(p), "Member must have length less than or equal to 6 and greater than or equal to 6")
		}
		if !reDigits.MatchString(c) {
			return nil, validationError(c, lowerFirst(p), `Member must satisfy regular expression pattern: [\d]+`)
		}
		codes[i] = c
	}
	if strings.HasPrefix(serial, "arn:") && !strings.HasPrefix(serial, "arn:aws:iam::"+r.acct.ID+":mfa/") {
		return nil, errf(404, "NoSuchEntity", "VirtualMFADevice with serial number %s doesn't exist.", serial)
	}
	for _, o := range r.acct.Users {
		for _, d := range o.MFADevices {
			if d.SerialNumber == serial {
				return nil, errf(409, "EntityAlreadyExists", "MFA Device is already in use.")
			}
		}
	}
	if codes[0] == codes[1] {
		return nil, errf(403, "InvalidAuthenticationCode", "Authentication code for device is not valid.")
	}
	if len(u.MFADevices) >= mfaDevicesPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for MFADevicesPerUser: %d", mfaDevicesPerUserQuota)
	}
	u.MFADevices = append(u.MFADevices, &MFADevice{SerialNumber: serial, EnableDate: r.now})
	return nil, nil
}

func iamDeactivateMFADevice(r *request) (any, error) {
	u, err := r.adminUser()
	if err != nil {
		return nil, err
	}
	serial, err := r.serialParam()
	if err != nil {
		return nil, err
	}
	for i, d := range u.MFADevices {
		if d.SerialNumber == serial {
			u.MFADevices = append(u.MFADevices[:i:i], u.MFADevices[i+1:]...)
			return nil, nil
		}
	}
	return nil, errf(404, "NoSuchEntity", "MFA Device with serial number %s does not exist.", serial)
}
