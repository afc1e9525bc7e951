package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/sandbox/iampolicy"
)

// KMS (JSON 1.1, target prefix "TrentService."): symmetric keys with their
// key policies, aliases, key states (Enabled, Disabled, PendingDeletion)
// and grants, and Encrypt, Decrypt and GenerateDataKey. Keys live per
// account and region in Account.KMSKeys; a key whose deletion date has
// passed on the sandbox clock disappears lazily, as secrets do. Secrets
// Manager encrypts with these keys (secretsmanager_kms.go).

func kmsActions() map[string]handler {
	return map[string]handler{
		"CreateKey":           kmsCreateKey,
		"DescribeKey":         kmsDescribeKey,
		"ListKeys":            kmsListKeys,
		"GetKeyPolicy":        kmsGetKeyPolicy,
		"PutKeyPolicy":        kmsPutKeyPolicy,
		"CreateAlias":         kmsCreateAlias,
		"ListAliases":         kmsListAliases,
		"DeleteAlias":         kmsDeleteAlias,
		"EnableKey":           kmsEnableKey,
		"DisableKey":          kmsDisableKey,
		"ScheduleKeyDeletion": kmsScheduleKeyDeletion,
		"CancelKeyDeletion":   kmsCancelKeyDeletion,
		"CreateGrant":         kmsCreateGrant,
		"ListGrants":          kmsListGrants,
		"RetireGrant":         kmsRetireGrant,
		"RevokeGrant":         kmsRevokeGrant,
		"Encrypt":             kmsEncrypt,
		"Decrypt":             kmsDecrypt,
		"GenerateDataKey":     kmsGenerateDataKey,
	}
}

// Key states.
const (
	kmsEnabled         = "Enabled"
	kmsDisabled        = "Disabled"
	kmsPendingDeletion = "PendingDeletion"
)

// kmsManagedAliasPrefix is reserved for AWS managed keys.
const kmsManagedAliasPrefix = "alias/aws/"

// KMSKey is a symmetric encryption KMS key.
type KMSKey struct {
	ID          string `json:"id"`
	ARN         string `json:"arn"`
	Description string `json:"description,omitempty"`
	// Manager is CUSTOMER, or AWS for an AWS managed key such as aws/secretsmanager.
	Manager      string     `json:"manager"`
	State        string     `json:"state"`
	CreationDate time.Time  `json:"creation_date"`
	DeletionDate *time.Time `json:"deletion_date,omitempty"`
	// Policy is the key policy document, as given or KMS's default.
	Policy string      `json:"policy"`
	Grants []*KMSGrant `json:"grants,omitempty"`
	Tags   []Tag       `json:"tags,omitempty"`
}

// material is the AES-256 key Encrypt and Decrypt use with k: derived from
// the key's ARN, so that a saved and reloaded state still decrypts. The
// sandbox protects nothing; the encryption is there so that ciphertexts
// name their key and fail to open under another.
func (k *KMSKey) material() []byte {
	sum := sha256.Sum256([]byte("keyrot-sandbox-kms\x00" + k.ARN))
	return sum[:]
}

// KMSGrant is a grant on a key.
type KMSGrant struct {
	ID                string            `json:"id"`
	Token             string            `json:"-"`
	Name              string            `json:"name,omitempty"`
	GranteePrincipal  string            `json:"grantee_principal"`
	RetiringPrincipal string            `json:"retiring_principal,omitempty"`
	IssuingAccount    string            `json:"issuing_account"`
	Operations        []string          `json:"operations"`
	ContextSubset     map[string]string `json:"encryption_context_subset,omitempty"`
	ContextEquals     map[string]string `json:"encryption_context_equals,omitempty"`
	CreationDate      time.Time         `json:"creation_date"`
}

// KMSAlias is an alias that points at a key of the same account and region.
type KMSAlias struct {
	Name        string    `json:"name"`
	TargetKeyID string    `json:"target_key_id"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

func kmsErr(code, format string, args ...any) error { return errf(400, code, format, args...) }

// kmsDefaultPolicy is the key policy KMS gives a key created without one:
// the account (through IAM policies) may do everything with it.
func kmsDefaultPolicy(account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

// kmsManagedPolicy is the key policy of an AWS managed key for a service
// (aws/secretsmanager): principals of the account may use it through that
// service only; the account may read the key and revoke its grants. AWS
// managed key policies cannot be changed, so the key cannot be used across
// accounts.
func kmsManagedPolicy(account, region, service string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "auto-` + service + `-2",
  "Statement" : [ {
    "Sid" : "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey*" ],
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "` + account + `",
        "kms:ViaService" : "` + service + `.` + region + `.amazonaws.com"
      }
    }
  }, {
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  } ]
}`
}

// kmsRegion returns an account's keys and aliases in a region, purging the
// keys whose deletion date has passed (and the aliases that pointed at them).
func kmsRegion(now time.Time, a *Account, region string) (map[string]*KMSKey, map[string]*KMSAlias) {
	if a.KMSKeys == nil {
		a.KMSKeys = map[string]map[string]*KMSKey{}
	}
	if a.KMSAliases == nil {
		a.KMSAliases = map[string]map[string]*KMSAlias{}
	}
	keys, aliases := a.KMSKeys[region], a.KMSAliases[region]
	if keys == nil {
		keys = map[string]*KMSKey{}
		a.KMSKeys[region] = keys
	}
	if aliases == nil {
		aliases = map[string]*KMSAlias{}
		a.KMSAliases[region] = aliases
	}
	for id, k := range keys {
		if k.DeletionDate != nil && !now.Before(*k.DeletionDate) {
			delete(keys, id)
		}
	}
	for name, al := range aliases {
		if keys[al.TargetKeyID] == nil {
			delete(aliases, name)
		}
	}
	return keys, aliases
}

// newKMSKey makes a key in an account and region and stores it.
func newKMSKey(now time.Time, a *Account, region, manager, description, policy string) *KMSKey {
	h := randFrom("0123456789abcdef", 32)
	id := h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
	k := &KMSKey{
		ID: id, ARN: "arn:aws:kms:" + region + ":" + a.ID + ":key/" + id,
		Description: description, Manager: manager, State: kmsEnabled, CreationDate: now, Policy: policy,
	}
	keys, _ := kmsRegion(now, a, region)
	keys[id] = k
	return k
}

// kmsManagedKey returns the AWS managed key for a service (aws/secretsmanager)
// in an account and region, creating it on first use as AWS does.
func kmsManagedKey(now time.Time, a *Account, region, service string) *KMSKey {
	keys, aliases := kmsRegion(now, a, region)
	name := kmsManagedAliasPrefix + service
	if al := aliases[name]; al != nil {
		return keys[al.TargetKeyID]
	}
	desc := "Default key that protects my " + kmsServiceTitle(service) + " data when no other key is defined"
	k := newKMSKey(now, a, region, "AWS", desc, kmsManagedPolicy(a.ID, region, service))
	aliases[name] = &KMSAlias{Name: name, TargetKeyID: k.ID, Created: now, Updated: now}
	return k
}

func kmsServiceTitle(service string) string {
	if service == "secretsmanager" {
		return "Secrets Manager"
	}
	return service
}

// kmsFind resolves a key identifier as KMS does: a key ID, key ARN, alias
// name or alias ARN. Key and alias ARNs may name another account's key when
// crossAccount is true (the operations AWS allows across accounts);
// otherwise they must name the caller's account.
func kmsFind(r *request, id string, crossAccount bool) (*KMSKey, *Account, error) {
	return kmsFindFrom(r, r.acct, id, crossAccount)
}

// kmsFindFrom resolves a key identifier relative to the account home: a
// key ID or alias name names a key of home, in the request's region.
func kmsFindFrom(r *request, home *Account, id string, crossAccount bool) (*KMSKey, *Account, error) {
	if id == "" {
		return nil, nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	if len(id) > 2048 {
		return nil, nil, kmsErr("ValidationException", "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	owner, region, rest := home, r.region, id
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || !(strings.HasPrefix(parts[5], "key/") || strings.HasPrefix(parts[5], "alias/")) {
			return nil, nil, kmsErr("InvalidArnException", "ARN %s is not a valid KMS key or alias ARN", id)
		}
		region, rest = parts[3], parts[5]
		if parts[4] != home.ID {
			owner = r.st.Accounts[parts[4]]
			if owner == nil || !crossAccount {
				return nil, nil, kmsNotFound(id)
			}
		}
		if region != r.region {
			return nil, nil, kmsNotFound(id)
		}
		rest = strings.TrimPrefix(rest, "key/")
	}
	keys, aliases := kmsRegion(r.now, owner, region)
	if strings.HasPrefix(rest, "alias/") {
		al := aliases[rest]
		if al == nil {
			if rest == kmsManagedAliasPrefix+"secretsmanager" && owner == home {
				// An AWS managed key's alias names it before it exists: KMS
				// creates the key when a service first uses it (here, when
				// anyone names it).
				return kmsManagedKey(r.now, owner, region, "secretsmanager"), owner, nil
			}
			return nil, nil, kmsErr("NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.", region, owner.ID, rest)
		}
		return keys[al.TargetKeyID], owner, nil
	}
	if k := keys[rest]; k != nil {
		return k, owner, nil
	}
	if !strings.HasPrefix(id, "arn:") && !kmsLooksLikeKeyID(rest) {
		return nil, nil, kmsErr("NotFoundException", "Invalid keyId '%s'", rest)
	}
	return nil, nil, kmsNotFound("arn:aws:kms:" + region + ":" + owner.ID + ":key/" + rest)
}

func kmsNotFound(arn string) error {
	return kmsErr("NotFoundException", "Key '%s' does not exist", arn)
}

// kmsLooksLikeKeyID reports whether s is shaped like a key ID (a UUID, or
// an mrk- multi-Region key ID).
func kmsLooksLikeKeyID(s string) bool {
	s = strings.TrimPrefix(s, "mrk-")
	if len(s) == 32 {
		return strings.Trim(s, "0123456789abcdef") == ""
	}
	return len(s) == 36 && strings.Count(s, "-") == 4
}

// kmsUsable checks that a key's state allows a cryptographic operation:
// DisabledException for a disabled key, KMSInvalidStateException for one
// pending deletion.
func kmsUsable(k *KMSKey) error {
	switch k.State {
	case kmsDisabled:
		return kmsErr("DisabledException", "%s is disabled.", k.ARN)
	case kmsPendingDeletion:
		return kmsErr("KMSInvalidStateException", "%s is pending deletion.", k.ARN)
	}
	return nil
}

// kmsNotPendingDeletion checks that a key is not pending deletion, for the
// management operations that refuse such a key.
func kmsNotPendingDeletion(k *KMSKey) error {
	if k.State == kmsPendingDeletion {
		return kmsErr("KMSInvalidStateException", "%s is pending deletion.", k.ARN)
	}
	return nil
}

// authorizeKMS is the decision point for a KMS action on a key: whether
// the caller may perform action (such as "kms:Decrypt") on key, given the
// key policy (key.Policy), the key's grants, the caller's identity policies
// and the organization's SCPs; viaService is the service that calls KMS on
// the caller's behalf ("secretsmanager.us-east-1.amazonaws.com", the
// kms:ViaService condition key) or "" for a direct call. A key's policy is
// its resource policy: KMS needs it to allow, itself or by delegating to the
// account's IAM policies (iampolicy follows that rule for key ARNs). The
// key's grants are consulted as KMS documents ("Grants in AWS KMS"): a
// grant to the caller (or to the role of its session) for the operation
// allows it when no policy denies it. Called with s.mu held.
func (s *Server) authorizeKMS(r *request, key *KMSKey, action, viaService string) error {
	return s.authorizeKMSContext(r, key, action, viaService, nil)
}

// authorizeKMSContext is authorizeKMS for a cryptographic operation with
// its encryption context, which a grant's constraints are checked against.
func (s *Server) authorizeKMSContext(r *request, key *KMSKey, action, viaService string, encCtx map[string]string) error {
	if s.permissive && !s.authz.on {
		return nil
	}
	t := authzTarget{action: action, resource: "*"}
	t.set("kms:CallerAccount", r.caller.AccountID)
	if viaService != "" {
		t.set("kms:ViaService", viaService)
	}
	if key != nil {
		t.resource = key.ARN
		t.resourceAccount = smKeyAccount(key)
		t.policy = key.Policy
		t.policyKind = kindResource
		op := strings.TrimPrefix(action, "kms:")
		t.grant = func(c iampolicy.Caller) string { return key.grantFor(c, op, encCtx) }
	}
	return s.decideLocked(r, t)
}

// grantFor returns the ID of a grant of k that lets caller perform op
// (a grant operation such as "Decrypt") with the encryption context
// encCtx, or "". A grant names its grantee by ARN; one naming a role
// covers the role's sessions. Its constraints must hold: every pair of
// EncryptionContextSubset in encCtx, or encCtx equal to
// EncryptionContextEquals.
func (k *KMSKey) grantFor(c iampolicy.Caller, op string, encCtx map[string]string) string {
	for _, g := range k.Grants {
		if g.GranteePrincipal != c.ARN && (c.RoleARN == "" || g.GranteePrincipal != c.RoleARN) {
			continue
		}
		if !slices.Contains(g.Operations, op) {
			continue
		}
		if g.ContextEquals != nil && !maps.Equal(g.ContextEquals, encCtx) {
			continue
		}
		subset := true
		for key, v := range g.ContextSubset {
			if got, ok := encCtx[key]; !ok || got != v {
				subset = false
			}
		}
		if subset {
			return g.ID
		}
	}
	return ""
}

// --- key metadata ---

type kmsKeyMetadata struct {
	AWSAccountId          string   `json:"AWSAccountId"`
	KeyId                 string   `json:"KeyId"`
	Arn                   string   `json:"Arn"`
	CreationDate          epoch    `json:"CreationDate"`
	Enabled               bool     `json:"Enabled"`
	Description           string   `json:"Description"`
	KeyUsage              string   `json:"KeyUsage"`
	KeyState              string   `json:"KeyState"`
	DeletionDate          *epoch   `json:"DeletionDate,omitempty"`
	PendingDeletionWindow *int     `json:"PendingDeletionWindowInDays,omitempty"`
	Origin                string   `json:"Origin"`
	KeyManager            string   `json:"KeyManager"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	KeySpec               string   `json:"KeySpec"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms"`
	MultiRegion           bool     `json:"MultiRegion"`
}

func kmsMetadata(k *KMSKey, owner string) kmsKeyMetadata {
	return kmsKeyMetadata{
		AWSAccountId: owner, KeyId: k.ID, Arn: k.ARN, CreationDate: epoch(k.CreationDate),
		Enabled: k.State == kmsEnabled, Description: k.Description, KeyUsage: "ENCRYPT_DECRYPT",
		KeyState: k.State, DeletionDate: smEpochPtr(k.DeletionDate), Origin: "AWS_KMS", KeyManager: k.Manager,
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", KeySpec: "SYMMETRIC_DEFAULT",
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"},
	}
}

type kmsKeyMetadataOutput struct {
	KeyMetadata kmsKeyMetadata `json:"KeyMetadata"`
}

type kmsTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type kmsCreateKeyInput struct {
	Policy                         string
	Description                    string
	KeyUsage                       string
	KeySpec                        string
	CustomerMasterKeySpec          string
	Origin                         string
	Tags                           []kmsTag
	BypassPolicyLockoutSafetyCheck bool
	MultiRegion                    bool
}

func kmsCreateKey(r *request) (any, error) {
	var in kmsCreateKeyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	// The sandbox implements symmetric encryption keys only, the kind
	// Secrets Manager uses.
	if in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT" {
		return nil, kmsErr("UnsupportedOperationException", "the sandbox implements ENCRYPT_DECRYPT keys only, not %s", in.KeyUsage)
	}
	for _, spec := range []string{in.KeySpec, in.CustomerMasterKeySpec} {
		if spec != "" && spec != "SYMMETRIC_DEFAULT" {
			return nil, kmsErr("UnsupportedOperationException", "the sandbox implements SYMMETRIC_DEFAULT keys only, not %s", spec)
		}
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return nil, kmsErr("UnsupportedOperationException", "the sandbox implements AWS_KMS key material only, not %s", in.Origin)
	}
	if len(in.Description) > 8192 {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192")
	}
	policy := in.Policy
	if policy == "" {
		policy = kmsDefaultPolicy(r.acct.ID)
	} else if err := kmsCheckPolicy(policy); err != nil {
		return nil, err
	}
	var tags []Tag
	for _, t := range in.Tags {
		if strings.HasPrefix(t.TagKey, "aws:") {
			return nil, kmsErr("TagException", "Tags beginning with aws: are reserved")
		}
		tags = append(tags, Tag{Key: t.TagKey, Value: t.TagValue})
	}
	// The decision point for kms:CreateKey is the caller's identity
	// policies (there is no key yet to hold a key policy).
	if err := r.srv.authorizeKMS(r, nil, "kms:CreateKey", ""); err != nil {
		return nil, err
	}
	k := newKMSKey(r.now, r.acct, r.region, "CUSTOMER", in.Description, policy)
	k.Tags = tags
	return kmsKeyMetadataOutput{KeyMetadata: kmsMetadata(k, r.acct.ID)}, nil
}

// kmsCheckPolicy checks a key policy document as KMS does at the door: JSON
// with a Statement, at most 32 KB.
func kmsCheckPolicy(policy string) error {
	if len(policy) > 32768 {
		return kmsErr("LimitExceededException", "Policy exceeds the maximum size of 32768 bytes")
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil || len(doc.Statement) == 0 {
		return kmsErr("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
	}
	return nil
}

type kmsKeyIDInput struct {
	KeyId       string
	GrantTokens []string
}

func kmsDescribeKey(r *request) (any, error) {
	var in kmsKeyIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, owner, err := kmsFind(r, in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := r.srv.authorizeKMS(r, k, "kms:DescribeKey", ""); err != nil {
		return nil, err
	}
	return kmsKeyMetadataOutput{KeyMetadata: kmsMetadata(k, owner.ID)}, nil
}

type kmsListInput struct {
	KeyId            string
	Limit            *int
	Marker           string
	GrantId          string
	GranteePrincipal string
}

// kmsPage slices n items by KMS's Marker and Limit (between 1 and max).
func kmsPage(n int, marker string, limit *int, def, max int) (start, end int, next string, err error) {
	l := def
	if limit != nil {
		l = *limit
		if l < 1 || l > max {
			return 0, 0, "", kmsErr("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", l, max)
		}
	}
	if marker != "" {
		b, derr := base64.RawURLEncoding.DecodeString(marker)
		i, perr := strconv.Atoi(strings.TrimPrefix(string(b), "kms:"))
		if derr != nil || perr != nil || !strings.HasPrefix(string(b), "kms:") || i < 0 || i > n {
			return 0, 0, "", kmsErr("InvalidMarkerException", "Invalid marker")
		}
		start = i
	}
	end = start + l
	if end >= n {
		return start, n, "", nil
	}
	return start, end, base64.RawURLEncoding.EncodeToString([]byte("kms:" + strconv.Itoa(end))), nil
}

type kmsKeyListEntry struct {
	KeyId  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

type kmsListKeysOutput struct {
	Keys       []kmsKeyListEntry `json:"Keys"`
	NextMarker string            `json:"NextMarker,omitempty"`
	Truncated  bool              `json:"Truncated"`
}

func kmsListKeys(r *request) (any, error) {
	var in kmsListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := r.srv.authorizeKMS(r, nil, "kms:ListKeys", ""); err != nil {
		return nil, err
	}
	keys, _ := kmsRegion(r.now, r.acct, r.region)
	list := make([]*KMSKey, 0, len(keys))
	for _, k := range keys {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	start, end, next, err := kmsPage(len(list), in.Marker, in.Limit, 1000, 1000)
	if err != nil {
		return nil, err
	}
	out := kmsListKeysOutput{Keys: []kmsKeyListEntry{}, NextMarker: next, Truncated: next != ""}
	for _, k := range list[start:end] {
		out.Keys = append(out.Keys, kmsKeyListEntry{KeyId: k.ID, KeyArn: k.ARN})
	}
	return out, nil
}

// --- key policies ---

type kmsPolicyInput struct {
	KeyId                          string
	PolicyName                     *string
	Policy                         string
	BypassPolicyLockoutSafetyCheck bool
}

func kmsPolicyName(name *string) error {
	if name != nil && *name != "default" {
		return kmsErr("NotFoundException", "No such policy exists")
	}
	return nil
}

func kmsGetKeyPolicy(r *request) (any, error) {
	var in kmsPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, _, err := kmsFind(r, in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := kmsPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	if err := r.srv.authorizeKMS(r, k, "kms:GetKeyPolicy", ""); err != nil {
		return nil, err
	}
	return struct {
		Policy     string `json:"Policy"`
		PolicyName string `json:"PolicyName"`
	}{k.Policy, "default"}, nil
}

func kmsPutKeyPolicy(r *request) (any, error) {
	var in kmsPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, _, err := kmsFind(r, in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := kmsPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	if in.Policy == "" {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null")
	}
	if err := kmsCheckPolicy(in.Policy); err != nil {
		return nil, err
	}
	if err := kmsManageKey(r, k, "kms:PutKeyPolicy"); err != nil {
		return nil, err
	}
	k.Policy = in.Policy
	return nil, nil
}

// kmsManageKey is the check before an action that changes a customer
// managed key: the key is not pending deletion, and the decision point for
// the action is the key policy in force (an AWS managed key's allows the
// action to nobody).
func kmsManageKey(r *request, k *KMSKey, action string) error {
	if err := kmsNotPendingDeletion(k); err != nil {
		return err
	}
	if err := r.srv.authorizeKMS(r, k, action, ""); err != nil {
		return err
	}
	if k.Manager == "AWS" {
		return kmsAccessDenied(r, action, k)
	}
	return nil
}

// kmsAccessDenied is KMS's answer to an action the key policy does not allow.
func kmsAccessDenied(r *request, action string, k *KMSKey) error {
	return errf(400, "AccessDeniedException", "User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action", r.caller.ARN, action, k.ARN, action)
}

// --- aliases ---

type kmsAliasInput struct {
	AliasName   string
	TargetKeyId string
}

// kmsCheckAliasName checks an alias name: alias/ then 1 to 250 characters
// of [a-zA-Z0-9/_-], not under the reserved alias/aws/.
func kmsCheckAliasName(name string) error {
	if !strings.HasPrefix(name, "alias/") || len(name) == len("alias/") || len(name) > 256 ||
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") != "" {
		return kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$", name)
	}
	if strings.HasPrefix(name, kmsManagedAliasPrefix) {
		return kmsErr("NotAuthorizedException", "Cannot create or delete alias with prefix %q; it is reserved for AWS managed keys", kmsManagedAliasPrefix)
	}
	return nil
}

func kmsCreateAlias(r *request) (any, error) {
	var in kmsAliasInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.TargetKeyId, "alias/") || strings.Contains(in.TargetKeyId, ":alias/") {
		return nil, kmsErr("ValidationException", "Aliases must refer to keys. Not aliases")
	}
	k, _, err := kmsFind(r, in.TargetKeyId, false)
	if err != nil {
		return nil, err
	}
	if err := kmsNotPendingDeletion(k); err != nil {
		return nil, err
	}
	if k.Manager == "AWS" {
		return nil, kmsAccessDenied(r, "kms:CreateAlias", k)
	}
	// The decision point for kms:CreateAlias: the caller needs it on the
	// alias (identity policy) and on the key (key policy).
	if err := r.srv.authorizeKMS(r, k, "kms:CreateAlias", ""); err != nil {
		return nil, err
	}
	_, aliases := kmsRegion(r.now, r.acct, r.region)
	if aliases[in.AliasName] != nil {
		return nil, kmsErr("AlreadyExistsException", "An alias with the name arn:aws:kms:%s:%s:%s already exists", r.region, r.acct.ID, in.AliasName)
	}
	aliases[in.AliasName] = &KMSAlias{Name: in.AliasName, TargetKeyID: k.ID, Created: r.now, Updated: r.now}
	return nil, nil
}

type kmsAliasEntry struct {
	AliasName       string `json:"AliasName"`
	AliasArn        string `json:"AliasArn"`
	TargetKeyId     string `json:"TargetKeyId,omitempty"`
	CreationDate    *epoch `json:"CreationDate,omitempty"`
	LastUpdatedDate *epoch `json:"LastUpdatedDate,omitempty"`
}

type kmsListAliasesOutput struct {
	Aliases    []kmsAliasEntry `json:"Aliases"`
	NextMarker string          `json:"NextMarker,omitempty"`
	Truncated  bool            `json:"Truncated"`
}

func kmsListAliases(r *request) (any, error) {
	var in kmsListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	var target *KMSKey
	if in.KeyId != "" {
		if strings.HasPrefix(in.KeyId, "alias/") || strings.Contains(in.KeyId, ":alias/") {
			return nil, kmsErr("InvalidArnException", "Invalid keyId %s", in.KeyId)
		}
		k, _, err := kmsFind(r, in.KeyId, false)
		if err != nil {
			return nil, err
		}
		target = k
	}
	if err := r.srv.authorizeKMS(r, nil, "kms:ListAliases", ""); err != nil {
		return nil, err
	}
	_, aliases := kmsRegion(r.now, r.acct, r.region)
	var list []kmsAliasEntry
	for _, al := range aliases {
		if target != nil && al.TargetKeyID != target.ID {
			continue
		}
		c, u := epoch(al.Created), epoch(al.Updated)
		list = append(list, kmsAliasEntry{
			AliasName: al.Name, AliasArn: "arn:aws:kms:" + r.region + ":" + r.acct.ID + ":" + al.Name,
			TargetKeyId: al.TargetKeyID, CreationDate: &c, LastUpdatedDate: &u,
		})
	}
	// KMS lists the AWS managed aliases before their keys exist, without
	// a target.
	if name := kmsManagedAliasPrefix + "secretsmanager"; target == nil && aliases[name] == nil {
		list = append(list, kmsAliasEntry{AliasName: name, AliasArn: "arn:aws:kms:" + r.region + ":" + r.acct.ID + ":" + name})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].AliasName < list[j].AliasName })
	start, end, next, err := kmsPage(len(list), in.Marker, in.Limit, 50, 100)
	if err != nil {
		return nil, err
	}
	out := kmsListAliasesOutput{Aliases: append([]kmsAliasEntry{}, list[start:end]...), NextMarker: next, Truncated: next != ""}
	return out, nil
}

func kmsDeleteAlias(r *request) (any, error) {
	var in kmsAliasInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	keys, aliases := kmsRegion(r.now, r.acct, r.region)
	al := aliases[in.AliasName]
	if al == nil {
		return nil, kmsErr("NotFoundException", "Alias arn:aws:kms:%s:%s:%s is not found.", r.region, r.acct.ID, in.AliasName)
	}
	// The decision point for kms:DeleteAlias: on the alias and its key.
	if err := r.srv.authorizeKMS(r, keys[al.TargetKeyID], "kms:DeleteAlias", ""); err != nil {
		return nil, err
	}
	delete(aliases, in.AliasName)
	return nil, nil
}

// --- key state ---

func kmsSetEnabled(r *request, enabled bool) (any, error) {
	var in kmsKeyIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, _, err := kmsFind(r, in.KeyId, false)
	if err != nil {
		return nil, err
	}
	action := "kms:DisableKey"
	if enabled {
		action = "kms:EnableKey"
	}
	if err := kmsManageKey(r, k, action); err != nil {
		return nil, err
	}
	k.State = kmsDisabled
	if enabled {
		k.State = kmsEnabled
	}
	return nil, nil
}

func kmsEnableKey(r *request) (any, error)  { return kmsSetEnabled(r, true) }
func kmsDisableKey(r *request) (any, error) { return kmsSetEnabled(r, false) }

type kmsScheduleInput struct {
	KeyId               string
	PendingWindowInDays *int
}

func kmsScheduleKeyDeletion(r *request) (any, error) {
	var in kmsScheduleInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	days := 30
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
		if days < 7 || days > 30 {
			return nil, kmsErr("ValidationException", "1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30", days)
		}
	}
	k, _, err := kmsFind(r, in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if err := kmsManageKey(r, k, "kms:ScheduleKeyDeletion"); err != nil {
		return nil, err
	}
	when := r.now.Add(time.Duration(days) * 24 * time.Hour)
	k.State, k.DeletionDate = kmsPendingDeletion, &when
	return struct {
		KeyId               string `json:"KeyId"`
		DeletionDate        epoch  `json:"DeletionDate"`
		KeyState            string `json:"KeyState"`
		PendingWindowInDays int    `json:"PendingWindowInDays"`
	}{k.ARN, epoch(when), k.State, days}, nil
}

func kmsCancelKeyDeletion(r *request) (any, error) {
	var in kmsKeyIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, _, err := kmsFind(r, in.KeyId, false)
	if err != nil {
		return nil, err
	}
	if k.State != kmsPendingDeletion {
		return nil, kmsErr("KMSInvalidStateException", "%s is not pending deletion.", k.ARN)
	}
	if err := r.srv.authorizeKMS(r, k, "kms:CancelKeyDeletion", ""); err != nil {
		return nil, err
	}
	// A key whose deletion is cancelled comes back disabled, as in KMS.
	k.State, k.DeletionDate = kmsDisabled, nil
	return struct {
		KeyId string `json:"KeyId"`
	}{k.ARN}, nil
}

// --- grants ---

var kmsGrantOperations = map[string]bool{
	"Decrypt": true, "Encrypt": true, "GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"ReEncryptFrom": true, "ReEncryptTo": true, "Sign": true, "Verify": true, "GetPublicKey": true,
	"CreateGrant": true, "RetireGrant": true, "DescribeKey": true, "GenerateDataKeyPair": true,
	"GenerateDataKeyPairWithoutPlaintext": true, "GenerateMac": true, "VerifyMac": true, "DeriveSharedSecret": true,
}

type kmsGrantConstraints struct {
	EncryptionContextSubset map[string]string `json:"EncryptionContextSubset,omitempty"`
	EncryptionContextEquals map[string]string `json:"EncryptionContextEquals,omitempty"`
}

type kmsCreateGrantInput struct {
	KeyId             string
	GranteePrincipal  string
	RetiringPrincipal string
	Operations        []string
	Constraints       *kmsGrantConstraints
	GrantTokens       []string
	Name              string
}

// kmsMaxGrants is KMS's quota of grants per key.
const kmsMaxGrants = 50000

func kmsCreateGrant(r *request) (any, error) {
	var in kmsCreateGrantInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.GranteePrincipal == "" {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Operations) == 0 {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
	}
	for _, op := range in.Operations {
		if !kmsGrantOperations[op] {
			return nil, kmsErr("ValidationException", "1 validation error detected: Value '[%s]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo, Sign, Verify, GetPublicKey, CreateGrant, RetireGrant, DescribeKey, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateMac, VerifyMac, DeriveSharedSecret]]", strings.Join(in.Operations, ", "))
		}
	}
	k, _, err := kmsFind(r, in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := kmsNotPendingDeletion(k); err != nil {
		return nil, err
	}
	// The decision point for kms:CreateGrant: the key policy (or a grant
	// with the CreateGrant operation) and, across accounts, the caller's
	// identity policies.
	if err := r.srv.authorizeKMS(r, k, "kms:CreateGrant", ""); err != nil {
		return nil, err
	}
	if len(k.Grants) >= kmsMaxGrants {
		return nil, kmsErr("LimitExceededException", "The request was rejected because a quota was exceeded: grants per key")
	}
	// A grant with the same name, grantee, retiring principal, operations
	// and constraints is the same grant: CreateGrant is idempotent.
	for _, g := range k.Grants {
		if in.Name != "" && g.Name == in.Name && g.GranteePrincipal == in.GranteePrincipal && g.RetiringPrincipal == in.RetiringPrincipal && strings.Join(g.Operations, ",") == strings.Join(in.Operations, ",") {
			return kmsGrantOutput{GrantToken: g.Token, GrantId: g.ID}, nil
		}
	}
	g := &KMSGrant{
		ID: randFrom("0123456789abcdef", 64), Token: randFrom(secretChars, 120),
		Name: in.Name, GranteePrincipal: in.GranteePrincipal, RetiringPrincipal: in.RetiringPrincipal,
		IssuingAccount: "arn:aws:iam::" + r.caller.AccountID + ":root", Operations: append([]string{}, in.Operations...),
		CreationDate: r.now,
	}
	if c := in.Constraints; c != nil {
		g.ContextSubset, g.ContextEquals = c.EncryptionContextSubset, c.EncryptionContextEquals
	}
	k.Grants = append(k.Grants, g)
	return kmsGrantOutput{GrantToken: g.Token, GrantId: g.ID}, nil
}

type kmsGrantOutput struct {
	GrantToken string `json:"GrantToken"`
	GrantId    string `json:"GrantId"`
}

type kmsGrantEntry struct {
	KeyId             string               `json:"KeyId"`
	GrantId           string               `json:"GrantId"`
	Name              string               `json:"Name,omitempty"`
	CreationDate      epoch                `json:"CreationDate"`
	GranteePrincipal  string               `json:"GranteePrincipal"`
	RetiringPrincipal string               `json:"RetiringPrincipal,omitempty"`
	IssuingAccount    string               `json:"IssuingAccount"`
	Operations        []string             `json:"Operations"`
	Constraints       *kmsGrantConstraints `json:"Constraints,omitempty"`
}

func kmsListGrants(r *request) (any, error) {
	var in kmsListInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	k, _, err := kmsFind(r, in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := r.srv.authorizeKMS(r, k, "kms:ListGrants", ""); err != nil {
		return nil, err
	}
	var list []kmsGrantEntry
	for _, g := range k.Grants {
		if (in.GrantId != "" && g.ID != in.GrantId) || (in.GranteePrincipal != "" && g.GranteePrincipal != in.GranteePrincipal) {
			continue
		}
		e := kmsGrantEntry{
			KeyId: k.ARN, GrantId: g.ID, Name: g.Name, CreationDate: epoch(g.CreationDate),
			GranteePrincipal: g.GranteePrincipal, RetiringPrincipal: g.RetiringPrincipal,
			IssuingAccount: g.IssuingAccount, Operations: g.Operations,
		}
		if g.ContextSubset != nil || g.ContextEquals != nil {
			e.Constraints = &kmsGrantConstraints{EncryptionContextSubset: g.ContextSubset, EncryptionContextEquals: g.ContextEquals}
		}
		list = append(list, e)
	}
	start, end, next, err := kmsPage(len(list), in.Marker, in.Limit, 50, 100)
	if err != nil {
		return nil, err
	}
	return struct {
		Grants     []kmsGrantEntry `json:"Grants"`
		NextMarker string          `json:"NextMarker,omitempty"`
		Truncated  bool            `json:"Truncated"`
	}{append([]kmsGrantEntry{}, list[start:end]...), next, next != ""}, nil
}

type kmsRetireInput struct {
	GrantToken string
	KeyId      string
	GrantId    string
}

// kmsRemoveGrant deletes a grant from its key.
func kmsRemoveGrant(k *KMSKey, g *KMSGrant) {
	kept := k.Grants[:0]
	for _, x := range k.Grants {
		if x != g {
			kept = append(kept, x)
		}
	}
	k.Grants = kept
}

// kmsRetireGrant retires a grant by its token, or by key and grant ID. The
// retiring principal, the grantee when the grant allows RetireGrant, and
// the account that created the grant may retire it; who the caller is, is
// the authorization hook's decision.
func kmsRetireGrant(r *request) (any, error) {
	var in kmsRetireInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	var (
		key   *KMSKey
		grant *KMSGrant
	)
	switch {
	case in.GrantToken != "":
		for _, a := range r.st.Accounts {
			for _, keys := range a.KMSKeys {
				for _, k := range keys {
					for _, g := range k.Grants {
						if g.Token == in.GrantToken {
							key, grant = k, g
						}
					}
				}
			}
		}
		if grant == nil {
			return nil, kmsErr("InvalidGrantTokenException", "Invalid grant token")
		}
	case in.KeyId != "" && in.GrantId != "":
		k, _, err := kmsFind(r, in.KeyId, true)
		if err != nil {
			return nil, err
		}
		key = k
		for _, g := range k.Grants {
			if g.ID == in.GrantId {
				grant = g
			}
		}
		if grant == nil {
			return nil, kmsErr("NotFoundException", "Grant ID %s not found", in.GrantId)
		}
	default:
		return nil, kmsErr("ValidationException", "Grant token OR (grant ID, key ID) must be specified")
	}
	// The decision point for kms:RetireGrant: the grant's retiring
	// principal or grantee (with RetireGrant), not a policy.
	if err := r.srv.authorizeKMS(r, key, "kms:RetireGrant", ""); err != nil {
		return nil, err
	}
	kmsRemoveGrant(key, grant)
	return nil, nil
}

func kmsRevokeGrant(r *request) (any, error) {
	var in kmsRetireInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.GrantId == "" {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'grantId' failed to satisfy constraint: Member must not be null")
	}
	k, _, err := kmsFind(r, in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := r.srv.authorizeKMS(r, k, "kms:RevokeGrant", ""); err != nil {
		return nil, err
	}
	for _, g := range k.Grants {
		if g.ID == in.GrantId {
			kmsRemoveGrant(k, g)
			return nil, nil
		}
	}
	return nil, kmsErr("NotFoundException", "Grant ID %s not found", in.GrantId)
}

// --- cryptographic operations ---

// kmsCiphertextMagic starts every ciphertext blob the sandbox makes.
const kmsCiphertextMagic = "SBK1"

// kmsContextAAD canonicalises an encryption context (keys sorted) into the
// additional authenticated data of the encryption.
func kmsContextAAD(ctx map[string]string) []byte {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b, _ := json.Marshal(keys)
	for _, k := range keys {
		v, _ := json.Marshal(ctx[k])
		b = append(b, v...)
	}
	return b
}

// kmsSeal encrypts plaintext under a key with AES-256-GCM; the blob names
// the key, as KMS's ciphertexts do, so Decrypt needs no KeyId.
func kmsSeal(k *KMSKey, plaintext []byte, ctx map[string]string) []byte {
	block, _ := aes.NewCipher(k.material())
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out := append([]byte(kmsCiphertextMagic), byte(len(k.ARN)))
	out = append(out, k.ARN...)
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, plaintext, kmsContextAAD(ctx))
}

// kmsOpenHeader reads the key ARN from a ciphertext blob.
func kmsOpenHeader(blob []byte) (arn string, rest []byte, ok bool) {
	if len(blob) < 5 || string(blob[:4]) != kmsCiphertextMagic {
		return "", nil, false
	}
	n := int(blob[4])
	if len(blob) < 5+n {
		return "", nil, false
	}
	return string(blob[5 : 5+n]), blob[5+n:], true
}

func kmsOpen(k *KMSKey, rest []byte, ctx map[string]string) ([]byte, bool) {
	block, _ := aes.NewCipher(k.material())
	gcm, _ := cipher.NewGCM(block)
	if len(rest) < gcm.NonceSize() {
		return nil, false
	}
	pt, err := gcm.Open(nil, rest[:gcm.NonceSize()], rest[gcm.NonceSize():], kmsContextAAD(ctx))
	return pt, err == nil
}

type kmsEncryptInput struct {
	KeyId               string
	Plaintext           []byte
	EncryptionContext   map[string]string
	GrantTokens         []string
	EncryptionAlgorithm string
	CiphertextBlob      []byte
	KeySpec             string
	NumberOfBytes       *int
}

type kmsEncryptOutput struct {
	CiphertextBlob      []byte `json:"CiphertextBlob,omitempty"`
	Plaintext           []byte `json:"Plaintext,omitempty"`
	KeyId               string `json:"KeyId"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm,omitempty"`
}

// kmsUseKey finds a key for a cryptographic operation, checks its state
// and asks the authorization hook.
func kmsUseKey(r *request, id, action string, encCtx map[string]string) (*KMSKey, error) {
	k, _, err := kmsFind(r, id, true)
	if err != nil {
		return nil, err
	}
	if err := kmsUsable(k); err != nil {
		return nil, err
	}
	// The decision point for a direct cryptographic call: the key policy
	// and grants, with kms:ViaService empty (an AWS managed key's policy
	// allows its use only through its service).
	if err := r.srv.authorizeKMSContext(r, k, action, "", encCtx); err != nil {
		return nil, err
	}
	return k, nil
}

func kmsCheckAlgorithm(alg string) error {
	if alg != "" && alg != "SYMMETRIC_DEFAULT" {
		return kmsErr("InvalidKeyUsageException", "The encryption algorithm %s is not compatible with the key spec SYMMETRIC_DEFAULT", alg)
	}
	return nil
}

func kmsEncrypt(r *request) (any, error) {
	var in kmsEncryptInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.Plaintext) == 0 || len(in.Plaintext) > 4096 {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	if err := kmsCheckAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := kmsUseKey(r, in.KeyId, "kms:Encrypt", in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return kmsEncryptOutput{CiphertextBlob: kmsSeal(k, in.Plaintext, in.EncryptionContext), KeyId: k.ARN, EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

func kmsDecrypt(r *request) (any, error) {
	var in kmsEncryptInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.CiphertextBlob) == 0 || len(in.CiphertextBlob) > 6144 {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	if err := kmsCheckAlgorithm(in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	arn, rest, ok := kmsOpenHeader(in.CiphertextBlob)
	if !ok {
		return nil, kmsErr("InvalidCiphertextException", "")
	}
	k, err := kmsUseKey(r, arn, "kms:Decrypt", in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.KeyId != "" {
		named, _, err := kmsFind(r, in.KeyId, true)
		if err != nil {
			return nil, err
		}
		if named != k {
			return nil, kmsErr("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.")
		}
	}
	pt, ok := kmsOpen(k, rest, in.EncryptionContext)
	if !ok {
		return nil, kmsErr("InvalidCiphertextException", "")
	}
	return kmsEncryptOutput{Plaintext: pt, KeyId: k.ARN, EncryptionAlgorithm: "SYMMETRIC_DEFAULT"}, nil
}

func kmsGenerateDataKey(r *request) (any, error) {
	var in kmsEncryptInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	n := 0
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return nil, kmsErr("ValidationException", "Please specify either number of bytes or key spec.")
	case in.KeySpec == "AES_256":
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", in.KeySpec)
	case in.NumberOfBytes != nil:
		n = *in.NumberOfBytes
		if n < 1 || n > 1024 {
			return nil, kmsErr("ValidationException", "1 validation error detected: Value '%d' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024", n)
		}
	default:
		return nil, kmsErr("ValidationException", "Please specify either number of bytes or key spec.")
	}
	k, err := kmsUseKey(r, in.KeyId, "kms:GenerateDataKey", in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, n)
	if _, err := rand.Read(pt); err != nil {
		return nil, err
	}
	return kmsEncryptOutput{CiphertextBlob: kmsSeal(k, pt, in.EncryptionContext), Plaintext: pt, KeyId: k.ARN}, nil
}
