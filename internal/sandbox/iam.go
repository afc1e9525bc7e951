package sandbox

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// IAM (Query protocol, XML responses). The handlers follow the IAM API
// Reference: parameter constraints, error codes and HTTP statuses,
// Marker/MaxItems pagination, and the self-service subset a user without
// administrator rights may call on its own credentials.

func iamActions() map[string]handler {
	m := map[string]handler{
		"CreateUser":                     iamCreateUser,
		"GetUser":                        iamGetUser,
		"ListUsers":                      iamListUsers,
		"DeleteUser":                     iamDeleteUser,
		"TagUser":                        iamTagUser,
		"UntagUser":                      iamUntagUser,
		"ListUserTags":                   iamListUserTags,
		"CreateGroup":                    iamCreateGroup,
		"GetGroup":                       iamGetGroup,
		"ListGroups":                     iamListGroups,
		"AddUserToGroup":                 iamAddUserToGroup,
		"RemoveUserFromGroup":            iamRemoveUserFromGroup,
		"ListGroupsForUser":              iamListGroupsForUser,
		"CreateAccessKey":                iamCreateAccessKey,
		"ListAccessKeys":                 iamListAccessKeys,
		"UpdateAccessKey":                iamUpdateAccessKey,
		"DeleteAccessKey":                iamDeleteAccessKey,
		"GetAccessKeyLastUsed":           iamGetAccessKeyLastUsed,
		"GenerateCredentialReport":       iamGenerateCredentialReport,
		"GetCredentialReport":            iamGetCredentialReport,
		"CreateLoginProfile":             iamCreateLoginProfile,
		"GetLoginProfile":                iamGetLoginProfile,
		"DeleteLoginProfile":             iamDeleteLoginProfile,
		"ListMFADevices":                 iamListMFADevices,
		"EnableMFADevice":                iamEnableMFADevice,
		"DeactivateMFADevice":            iamDeactivateMFADevice,
		"GetAccountSummary":              iamGetAccountSummary,
		"GetAccountAuthorizationDetails": iamGetAccountAuthorizationDetails,
	}
	for name, h := range iamKindActions() {
		m[name] = h
	}
	for name, h := range iamPolicyActions() {
		m[name] = h
	}
	for name, h := range iamServerCertActions() {
		m[name] = h
	}
	return m
}

// IAM quotas, as GetAccountSummary reports them (AWS defaults).
const (
	accessKeysPerUserQuota = 2
	groupsPerUserQuota     = 10
	usersQuota             = 5000
	groupsQuota            = 300
	tagsPerUserQuota       = 50
	mfaDevicesPerUserQuota = 8
)

// Pagination bounds for IAM list operations.
const (
	iamDefaultMaxItems = 100
	iamMaxItemsLimit   = 1000
)

// Parameter patterns from the IAM API Reference.
var (
	reName      = regexp.MustCompile(`^[\w+=,.@-]+$`)
	rePath      = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	rePathPfx   = regexp.MustCompile(`^/[\x21-\x7F]*$`)
	reKeyID     = regexp.MustCompile(`^\w+$`)
	reSerial    = regexp.MustCompile(`^[\w+=/:,.@-]+$`)
	reDigits    = regexp.MustCompile(`^\d+$`)
	reTagKey    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	rePasswords = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
)

// validationError is AWS's message for one failed constraint.
func validationError(value, field, constraint string) error {
	return errf(400, "ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

// checkName validates a user or group name (1..max, [\w+=,.@-]+).
func checkName(v, field string, max int) error {
	if len(v) > max {
		return validationError(v, field, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
	if !reName.MatchString(v) {
		return validationError(v, field, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// requireName reads a required name parameter and validates it.
func (r *request) requireName(param string, max int) (string, error) {
	v, err := r.requireParam(param)
	if err != nil {
		return "", err
	}
	return v, checkName(v, lowerFirst(param), max)
}

// pathParam reads an optional Path parameter, defaulting to "/".
func (r *request) pathParam() (string, error) {
	p := r.param("Path")
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 {
		return "", validationError(p, "path", "Member must have length less than or equal to 512")
	}
	if !rePath.MatchString(p) {
		return "", validationError(p, "path", `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return p, nil
}

// pathPrefixParam reads an optional PathPrefix parameter, defaulting to "/".
func (r *request) pathPrefixParam() (string, error) {
	p := r.param("PathPrefix")
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 || !rePathPfx.MatchString(p) {
		return "", validationError(p, "pathPrefix", `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	return p, nil
}

// pageParams reads Marker and MaxItems and slices n items.
func (r *request) pageParams(n int) (start, end int, next string, err error) {
	max, err := r.intParam("MaxItems")
	if err != nil {
		return 0, 0, "", err
	}
	if r.param("MaxItems") != "" && max == 0 {
		return 0, 0, "", validationError("0", "maxItems", "Member must have value greater than or equal to 1")
	}
	if m := r.param("Marker"); m != "" && len(m) > 320 {
		return 0, 0, "", validationError(m, "marker", "Member must have length less than or equal to 320")
	}
	return page(n, r.param("Marker"), max, iamDefaultMaxItems, iamMaxItemsLimit)
}

// userARN returns the ARN of a user with the given path and name.
func (r *request) userARN(path, name string) string {
	return "arn:aws:iam::" + r.acct.ID + ":user" + path + name
}

// noSuchUser is IAM's error for a missing user.
func noSuchUser(name string) error {
	return errf(404, "NoSuchEntity", "The user with name %s cannot be found.", name)
}

// requireAdmin refuses callers that may not manage other identities.
func (r *request) requireAdmin(resource string) error {
	if r.isAdmin() {
		return nil
	}
	return r.accessDenied(resource)
}

// adminUser fetches the user named by a required UserName parameter for an
// operation only administrators may call.
func (r *request) adminUser() (*User, error) {
	name, err := r.requireName("UserName", 64)
	if err != nil {
		return nil, err
	}
	if err := r.requireAdmin(r.userARN("/", name)); err != nil {
		return nil, err
	}
	u := r.acct.user(name)
	if u == nil {
		return nil, noSuchUser(name)
	}
	return u, nil
}

// selfTarget is whom a self-service operation (one a user may call on
// itself) acts on.
type selfTarget struct {
	user *User // nil when the caller acts on its own non-IAM-user identity
	// root or admin is set when UserName was omitted by the root user or
	// the sandbox admin.
	root, admin bool
}

// selfUser resolves the optional UserName of a self-service operation. As
// in IAM, an omitted UserName means the caller; only administrators may
// name another user.
func (r *request) selfUser() (selfTarget, error) {
	name := r.param("UserName")
	if name == "" {
		switch r.caller.Kind {
		case "root":
			return selfTarget{root: true}, nil
		case "admin":
			return selfTarget{admin: true}, nil
		case "session":
			return selfTarget{}, errf(400, "ValidationError", "Must specify userName when calling with non-User credentials")
		}
		name = r.caller.UserName
	}
	if err := checkName(name, "userName", 128); err != nil {
		return selfTarget{}, err
	}
	if !r.isAdmin() && !strings.EqualFold(name, r.caller.UserName) {
		return selfTarget{}, r.accessDenied(r.userARN("/", name))
	}
	u := r.acct.user(name)
	if u == nil {
		return selfTarget{}, noSuchUser(name)
	}
	return selfTarget{user: u}, nil
}

// XML shapes of IAM responses.

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlUser struct {
	Path             string      `xml:"Path,omitempty"`
	UserName         string      `xml:"UserName,omitempty"`
	UserID           string      `xml:"UserId"`
	Arn              string      `xml:"Arn"`
	CreateDate       string      `xml:"CreateDate"`
	PasswordLastUsed string      `xml:"PasswordLastUsed,omitempty"`
	Tags             *xmlTagList `xml:"Tags"`
}

// xmlTagList is an optional <Tags> list. It is a pointer field because
// encoding/xml writes the parent of an empty `xml:"Tags>member,omitempty"`
// slice anyway (<Tags></Tags>), which the SDK reads as an empty list, while
// IAM omits Tags when a user has none (API reference, CreateUser and
// GetUser examples; ListUsers returns no tags at all).
type xmlTagList struct {
	Members []xmlTag `xml:"member"`
}

// optionalTags returns tags as an optional list, nil when there are none.
func optionalTags(tags []Tag) *xmlTagList {
	if len(tags) == 0 {
		return nil
	}
	return &xmlTagList{Members: tagsXML(tags)}
}

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func tagsXML(tags []Tag) []xmlTag {
	out := make([]xmlTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, xmlTag{Key: t.Key, Value: t.Value})
	}
	return out
}

// userXML renders a user; withTags adds its tags (GetUser and CreateUser
// return them; ListUsers does not).
func userXML(u *User, withTags bool) xmlUser {
	x := xmlUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: xmlTime(u.CreateDate)}
	if u.PasswordLastUsed != nil {
		x.PasswordLastUsed = xmlTime(*u.PasswordLastUsed)
	}
	if withTags {
		x.Tags = optionalTags(u.Tags)
	}
	return x
}

func groupXML(g *Group) xmlGroup {
	return xmlGroup{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN, CreateDate: xmlTime(g.CreateDate)}
}

// optTime formats an optional time, "" when nil.
func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return xmlTime(*t)
}
