package sandbox

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Access keys.

type xmlAccessKey struct {
	UserName        string `xml:"UserName,omitempty"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type xmlAccessKeyMetadata struct {
	UserName    string `xml:"UserName,omitempty"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type iamCreateAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

type iamListAccessKeysResult struct {
	AccessKeyMetadata []xmlAccessKeyMetadata `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool                   `xml:"IsTruncated"`
	Marker            string                 `xml:"Marker,omitempty"`
}

// errAdminKey refuses changes to the sandbox admin's key through IAM.
func (r *request) errAdminKey() error {
	return errf(403, "AccessDenied", "User: %s is not authorized to perform: iam:%s on resource: %s (the sandbox admin key is managed by the sandbox, not IAM; name a user)", r.caller.ARN, r.action, r.caller.ARN)
}

// keysOf returns the key list a self-service key operation acts on.
func (r *request) keysOf(t selfTarget) *[]*AccessKey {
	if t.root {
		return &r.acct.Root.Keys
	}
	return &t.user.Keys
}

func (t selfTarget) name() string {
	if t.user != nil {
		return t.user.Name
	}
	return ""
}

func iamCreateAccessKey(r *request) (any, error) {
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	if t.admin {
		return nil, r.errAdminKey()
	}
	keys := r.keysOf(t)
	if len(*keys) >= accessKeysPerUserQuota {
		return nil, errf(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", accessKeysPerUserQuota)
	}
	k := &AccessKey{ID: newAccessKeyID("AKIA"), Secret: newSecretAccessKey(), Status: "Active", CreateDate: r.now}
	if d := r.srv.NewKeyDelay(); d > 0 {
		k.UsableAt = time.Now().Add(d)
	}
	*keys = append(*keys, k)
	return iamCreateAccessKeyResult{AccessKey: xmlAccessKey{
		UserName: t.name(), AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: k.Secret, CreateDate: xmlTime(k.CreateDate),
	}}, nil
}

func iamListAccessKeys(r *request) (any, error) {
	t, err := r.selfUser()
	if err != nil {
		return nil, err
	}
	var md []xmlAccessKeyMetadata
	if t.admin {
		md = append(md, xmlAccessKeyMetadata{UserName: r.caller.UserName, AccessKeyID: r.srv.adminKey, Status: "Active", CreateDate: xmlTime(r.acct.Created)})
	} else {
		for _, k := range *r.keysOf(t) {
			md = append(md, xmlAccessKeyMetadata{UserName: t.name(), AccessKeyID: k.ID, Status: k.Status, CreateDate: xmlTime(k.CreateDate)})
		}
	}
	start, end, next, err := r.pageParams(len(md))
	if err != nil {
		return nil, err
	}
	return iamListAccessKeysResult{AccessKeyMetadata: append([]xmlAccessKeyMetadata{}, md[start:end]...), IsTruncated: next != "", Marker: next}, nil
}

// keyIDParam reads and validates AccessKeyId.
func (r *request) keyIDParam() (string, error) {
	id, err := r.requireParam("AccessKeyId")
	if err != nil {
		return "", err
	}
	if len(id) < 16 {
		return "", validationError(id, "accessKeyId", "Member must have length greater than or equal to 16")
	}
	if len(id) > 128 {
		return "", validationError(id, "accessKeyId", "Member must have length less than or equal to 128")
	}
	if !reKeyID.MatchString(id) {
		return "", validationError(id, "accessKeyId", `Member must satisfy regular expression pattern: [\w]+`)
	}
	return id, nil
}

func noSuchKey(id string) error {
	return errf(404, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
}

// targetKey resolves UserName and AccessKeyId of UpdateAccessKey and
// DeleteAccessKey; the key must belong to the (implicit) user.
func (r *request) targetKey() (*[]*AccessKey, int, error) {
	id, err := r.keyIDParam()
	if err != nil {
		return nil, 0, err
	}
	t, err := r.selfUser()
	if err != nil {
		return nil, 0, err
	}
	if t.admin {
		return nil, 0, r.errAdminKey()
	}
	keys := r.keysOf(t)
	i := slices.IndexFunc(*keys, func(k *AccessKey) bool { return k.ID == id })
	if i < 0 {
		return nil, 0, noSuchKey(id)
	}
	return keys, i, nil
}

func iamUpdateAccessKey(r *request) (any, error) {
	status, err := r.requireParam("Status")
	if err != nil {
		return nil, err
	}
	switch status {
	case "Active", "Inactive":
	case "Expired":
		return nil, errf(400, "InvalidInput", "Access key status can only be set to Active or Inactive.")
	default:
		return nil, validationError(status, "status", "Member must satisfy enum value set: [Active, Inactive, Expired]")
	}
	keys, i, err := r.targetKey()
	if err != nil {
		return nil, err
	}
	(*keys)[i].Status = status
	return nil, nil
}

func iamDeleteAccessKey(r *request) (any, error) {
	keys, i, err := r.targetKey()
	if err != nil {
		return nil, err
	}
	*keys = slices.Delete(*keys, i, i+1)
	return nil, nil
}

type xmlAccessKeyLastUsed struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	ServiceName  string `xml:"ServiceName"`
	Region       string `xml:"Region"`
}

type iamGetAccessKeyLastUsedResult struct {
	UserName          string               `xml:"UserName,omitempty"`
	AccessKeyLastUsed xmlAccessKeyLastUsed `xml:"AccessKeyLastUsed"`
}

// lastUsedXML renders a key's last use; ServiceName and Region are "N/A"
// for a key that was never used, and LastUsedDate is absent.
func lastUsedXML(k *AccessKey) xmlAccessKeyLastUsed {
	if k == nil || k.LastUsed == nil {
		return xmlAccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	}
	return xmlAccessKeyLastUsed{LastUsedDate: xmlTime(*k.LastUsed), ServiceName: k.LastUsedService, Region: k.LastUsedRegion}
}

// findKey finds an access key of any user (or the root user) of the account.
func (a *Account) findKey(id string) (*User, *AccessKey) {
	for _, k := range a.Root.Keys {
		if k.ID == id {
			return nil, k
		}
	}
	for _, u := range a.Users {
		for _, k := range u.Keys {
			if k.ID == id {
				return u, k
			}
		}
	}
	return nil, nil
}

func iamGetAccessKeyLastUsed(r *request) (any, error) {
	id, err := r.keyIDParam()
	if err != nil {
		return nil, err
	}
	if r.caller.Kind == "admin" && id == r.srv.adminKey {
		// The admin key's use is not tracked.
		return iamGetAccessKeyLastUsedResult{UserName: r.caller.UserName, AccessKeyLastUsed: lastUsedXML(nil)}, nil
	}
	u, k := r.acct.findKey(id)
	if !r.isAdmin() {
		// A user may only ask about its own keys; IAM does not reveal
		// whether other keys exist.
		if u == nil || !strings.EqualFold(u.Name, r.caller.UserName) {
			return nil, r.accessDenied("access key " + id)
		}
	}
	if k == nil {
		return nil, noSuchKey(id)
	}
	out := iamGetAccessKeyLastUsedResult{AccessKeyLastUsed: lastUsedXML(k)}
	if u != nil {
		out.UserName = u.Name
	}
	return out, nil
}

// sortByLower sorts items by a case-insensitive name, as IAM lists entities.
func sortByLower[T any](items []T, name func(T) string) {
	sort.Slice(items, func(i, j int) bool { return strings.ToLower(name(items[i])) < strings.ToLower(name(items[j])) })
}

// lastUseSpan is IAM's granularity for a key's last use: "When an access
// key is used more than once in a 15-minute span, only the first use is
// recorded" (IAM User Guide, credential reports: access_key_1_last_used_date,
// _region and _service; GetAccessKeyLastUsed reads the same record).
const lastUseSpan = 15 * time.Minute

// recordKeyUse records a use of k at now, unless it falls within the span
// of the use recorded last: then the earlier use, its service and region
// stand.
func recordKeyUse(k *AccessKey, now time.Time, service, region string) {
	if k.LastUsed != nil && !now.Before(*k.LastUsed) && now.Sub(*k.LastUsed) < lastUseSpan {
		return
	}
	k.LastUsed = &now
	k.LastUsedService = service
	k.LastUsedRegion = region
}
