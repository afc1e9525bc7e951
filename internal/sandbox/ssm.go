package sandbox

import (
	"encoding/base64"
	"errors"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Systems Manager Parameter Store (JSON 1.1, target prefix "AmazonSSM."):
// PutParameter, GetParameter, GetParameters and DeleteParameter, the
// operations and shapes of botocore's ssm/2014-11-06 service model, with
// the Standard tier only. A SecureString value is encrypted with the KMS
// key its KeyId names, or the account's AWS managed key aws/ssm, through
// the sandbox's KMS (kms.go) with the encryption context
// {"PARAMETER_ARN": ARN}, as the KMS Developer Guide ("How AWS Systems
// Manager Parameter Store uses AWS KMS") describes for standard parameters:
// kms:Encrypt when the value is written, kms:Decrypt when it is read with
// WithDecryption. KMS's refusals come back as Parameter Store reports them:
// a missing, disabled or pending-deletion key is InvalidKeyId and a key
// policy or identity policy that does not allow the caller is
// AccessDeniedException, each with KMS's own message and "(Service:
// AWSKMS; ...)" appended.

func ssmActions() map[string]handler {
	return map[string]handler{
		"PutParameter":    ssmPutParameter,
		"GetParameter":    ssmGetParameter,
		"GetParameters":   ssmGetParameters,
		"DeleteParameter": ssmDeleteParameter,
	}
}

// SSMParameter is one Parameter Store parameter (its latest version).
type SSMParameter struct {
	Name        string `json:"name"`
	ARN         string `json:"arn"`
	Type        string `json:"type"` // String, StringList, SecureString
	Description string `json:"description,omitempty"`
	// Value is a String or StringList parameter's value.
	Value string `json:"value,omitempty"`
	// Ciphertext is a SecureString parameter's value, a KMS ciphertext
	// blob of the key KeyARN.
	Ciphertext []byte `json:"ciphertext,omitempty"`
	// KeyID is the KeyId as given (alias/aws/ssm by default), KeyARN the
	// key it resolved to.
	KeyID        string    `json:"key_id,omitempty"`
	KeyARN       string    `json:"key_arn,omitempty"`
	Version      int64     `json:"version"`
	LastModified time.Time `json:"last_modified"`
	Tags         []Tag     `json:"tags,omitempty"`
}

const (
	ssmManagedKeyAlias = "alias/aws/ssm"
	// ssmMaxStandardValue is the Standard tier's limit on a value.
	ssmMaxStandardValue = 4096
	// ssmMaxDepth is the deepest hierarchy Parameter Store accepts.
	ssmMaxDepth = 15
)

func ssmErr(code, format string, args ...any) error { return errf(400, code, format, args...) }

var ssmSegmentRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// ssmInvalidName is Parameter Store's answer to a malformed name.
const ssmInvalidName = `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`

// ssmCheckName validates a parameter name as Parameter Store does: letters,
// digits and . - _ in each part, a hierarchy begins with a slash and has at
// most 15 levels, and no name begins with aws or ssm.
func ssmCheckName(name string) error {
	if name == "" || len(name) > 1011 {
		return ssmErr("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length between 1 and 1011")
	}
	if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return ssmErr("ValidationException", "Parameter name must be a fully qualified name.")
	}
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	if len(parts) > ssmMaxDepth {
		return ssmErr("HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels.")
	}
	for _, p := range parts {
		if !ssmSegmentRE.MatchString(p) {
			return ssmErr("ValidationException", "%s", ssmInvalidName)
		}
	}
	low := strings.ToLower(parts[0])
	if strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
		if strings.HasPrefix(strings.ToLower(name), "/aws/") {
			return errf(400, "AccessDeniedException", "No access to reserved parameter name: %s.", name)
		}
		return ssmErr("ValidationException", "%s", ssmInvalidName)
	}
	return nil
}

// ssmParameterARN is a parameter's ARN: a hierarchical name keeps its
// slashes, a top-level one gets one (parameter/NAME).
func ssmParameterARN(region, account, name string) string {
	return "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// ssmRegion returns an account's parameters in a region.
func ssmRegion(a *Account, region string) map[string]*SSMParameter {
	if a.SSMParameters == nil {
		a.SSMParameters = map[string]map[string]*SSMParameter{}
	}
	m := a.SSMParameters[region]
	if m == nil {
		m = map[string]*SSMParameter{}
		a.SSMParameters[region] = m
	}
	return m
}

// ssmResolveName turns a Name input (a name or the parameter's ARN) into
// the stored name; ok is false when it names another account or region.
func ssmResolveName(r *request, id string) (string, bool) {
	if !strings.HasPrefix(id, "arn:") {
		return id, true
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) != 6 || parts[2] != "ssm" || parts[3] != r.region || parts[4] != r.acct.ID || !strings.HasPrefix(parts[5], "parameter/") {
		return "", false
	}
	rest := strings.TrimPrefix(parts[5], "parameter/")
	params := ssmRegion(r.acct, r.region)
	if params[rest] == nil && params["/"+rest] != nil {
		return "/" + rest, true
	}
	return rest, true
}

// ssmKMSError is how Parameter Store reports a refusal by KMS: the KMS
// error's message with the service, status and code appended, under
// InvalidKeyId, or AccessDeniedException when KMS denied the caller.
func ssmKMSError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	code := "InvalidKeyId"
	if ae.Code == "AccessDeniedException" {
		code = "AccessDeniedException"
	}
	return ssmErr(code, "%s (Service: AWSKMS; Status Code: 400; Error Code: %s; Request ID: %s; Proxy: null)", ae.Message, ae.Code, newRequestID())
}

// ssmViaService is the kms:ViaService value of Parameter Store's calls.
func ssmViaService(r *request) string { return "ssm." + r.region + ".amazonaws.com" }

// ssmKey resolves the key a SecureString is encrypted with and checks that
// the caller may use it for action through Parameter Store.
func ssmKey(r *request, keyID, action string) (*KMSKey, error) {
	var key *KMSKey
	if keyID == "" || keyID == ssmManagedKeyAlias {
		key = kmsManagedKey(r.now, r.acct, r.region, "ssm")
	} else {
		k, _, err := kmsFindFrom(r, r.acct, keyID, true)
		if err != nil {
			return nil, ssmKMSError(err)
		}
		key = k
	}
	if err := kmsUsable(key); err != nil {
		return nil, ssmKMSError(err)
	}
	if err := r.srv.authorizeKMS(r, key, action, ssmViaService(r)); err != nil {
		return nil, ssmKMSError(err)
	}
	return key, nil
}

type ssmTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type ssmPutInput struct {
	Name        string
	Description *string
	Value       *string
	Type        string
	KeyId       *string
	Overwrite   bool
	Tags        []ssmTag
	Tier        string
	DataType    string
}

type ssmPutOutput struct {
	Version int64  `json:"Version"`
	Tier    string `json:"Tier"`
}

func ssmPutParameter(r *request) (any, error) {
	var in ssmPutInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := ssmCheckName(in.Name); err != nil {
		return nil, err
	}
	if in.Value == nil {
		return nil, ssmErr("ValidationException", "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	if *in.Value == "" {
		return nil, ssmErr("ValidationException", "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.")
	}
	switch in.Tier {
	case "", "Standard":
	case "Advanced", "Intelligent-Tiering":
		return nil, ssmErr("ValidationException", "The sandbox models the Standard tier only (got %s).", in.Tier)
	default:
		return nil, ssmErr("ValidationException", "1 validation error detected: Value '%s' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]", in.Tier)
	}
	if len(*in.Value) > ssmMaxStandardValue {
		return nil, ssmErr("ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html")
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return nil, ssmErr("ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.DataType != "" && in.DataType != "text" {
		return nil, ssmErr("ValidationException", "The following data type is not supported: %s (Data type names are all lowercase.)", in.DataType)
	}
	params := ssmRegion(r.acct, r.region)
	prev := params[in.Name]
	if prev != nil && !in.Overwrite {
		return nil, ssmErr("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	typ := in.Type
	switch {
	case typ == "" && prev == nil:
		return nil, ssmErr("ValidationException", "A parameter type is required when you create a parameter.")
	case typ == "":
		typ = prev.Type
	case typ != "String" && typ != "StringList" && typ != "SecureString":
		return nil, ssmErr("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", typ)
	}
	if in.KeyId != nil && typ != "SecureString" {
		return nil, ssmErr("ValidationException", "KeyId is only valid for parameters of type SecureString.")
	}
	if in.KeyId != nil && (*in.KeyId == "" || len(*in.KeyId) > 256 || strings.Trim(*in.KeyId, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/_-") != "") {
		return nil, ssmErr("ValidationException", "1 validation error detected: Value '%s' at 'keyId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-zA-Z0-9:/_-]+)$", *in.KeyId)
	}
	p := &SSMParameter{Name: in.Name, ARN: ssmParameterARN(r.region, r.acct.ID, in.Name), Type: typ, Version: 1, LastModified: r.now}
	if prev != nil {
		p.Version = prev.Version + 1
		p.Description, p.Tags, p.KeyID = prev.Description, prev.Tags, prev.KeyID
		if prev.Type != "SecureString" {
			p.KeyID = ""
		}
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	for _, t := range in.Tags {
		p.Tags = append(p.Tags, Tag{Key: t.Key, Value: t.Value})
	}
	if typ == "SecureString" {
		if in.KeyId != nil {
			p.KeyID = *in.KeyId
		}
		if p.KeyID == "" {
			p.KeyID = ssmManagedKeyAlias
		}
		key, err := ssmKey(r, p.KeyID, "kms:Encrypt")
		if err != nil {
			return nil, err
		}
		p.KeyARN = key.ARN
		p.Ciphertext = kmsSeal(key, []byte(*in.Value), map[string]string{"PARAMETER_ARN": p.ARN})
	} else {
		p.Value = *in.Value
	}
	params[in.Name] = p
	return ssmPutOutput{Version: p.Version, Tier: "Standard"}, nil
}

type ssmParameterOut struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Value            string `json:"Value"`
	Version          int64  `json:"Version"`
	LastModifiedDate epoch  `json:"LastModifiedDate"`
	ARN              string `json:"ARN"`
	DataType         string `json:"DataType"`
}

// ssmValue returns a parameter as GetParameter shows it: a SecureString's
// value decrypted when decrypt is set (KMS permitting), else its
// ciphertext in base64.
func ssmValue(r *request, p *SSMParameter, decrypt bool) (ssmParameterOut, error) {
	out := ssmParameterOut{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModifiedDate: epoch(p.LastModified), ARN: p.ARN, DataType: "text"}
	if p.Type != "SecureString" {
		return out, nil
	}
	if !decrypt {
		out.Value = base64.StdEncoding.EncodeToString(p.Ciphertext)
		return out, nil
	}
	arn, rest, ok := kmsOpenHeader(p.Ciphertext)
	if !ok {
		return out, errf(500, "InternalServerError", "the stored value of %s is damaged", p.Name)
	}
	key, err := ssmKey(r, arn, "kms:Decrypt")
	if err != nil {
		return out, err
	}
	pt, ok := kmsOpen(key, rest, map[string]string{"PARAMETER_ARN": p.ARN})
	if !ok {
		return out, ssmErr("InvalidKeyId", "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: InvalidCiphertextException; Request ID: %s; Proxy: null)", newRequestID())
	}
	out.Value = string(pt)
	return out, nil
}

type ssmGetInput struct {
	Name           string
	Names          []string
	WithDecryption bool
}

func ssmGetParameter(r *request) (any, error) {
	var in ssmGetInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	name, ok := ssmResolveName(r, in.Name)
	p := ssmRegion(r.acct, r.region)[name]
	if !ok || p == nil || strings.Contains(name, ":") {
		return nil, ssmErr("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	out, err := ssmValue(r, p, in.WithDecryption)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": out}, nil
}

func ssmGetParameters(r *request) (any, error) {
	var in ssmGetInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.Names) < 1 || len(in.Names) > 10 {
		return nil, ssmErr("ValidationException", "1 validation error detected: Value '%v' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10, Member must have length greater than or equal to 1", in.Names)
	}
	// Each name is authorized on its own parameter; one denial refuses the call.
	for _, n := range in.Names {
		if err := r.srv.decideLocked(r, ssmTargetFor(r, "ssm:GetParameters", n)); err != nil {
			return nil, err
		}
	}
	params := ssmRegion(r.acct, r.region)
	found := []ssmParameterOut{}
	invalid := []string{}
	seen := map[string]bool{}
	for _, n := range in.Names {
		if seen[n] {
			continue
		}
		seen[n] = true
		name, ok := ssmResolveName(r, n)
		p := params[name]
		if !ok || p == nil {
			invalid = append(invalid, n)
			continue
		}
		out, err := ssmValue(r, p, in.WithDecryption)
		if err != nil {
			return nil, err
		}
		found = append(found, out)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return map[string]any{"Parameters": found, "InvalidParameters": invalid}, nil
}

func ssmDeleteParameter(r *request) (any, error) {
	var in ssmGetInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	name, ok := ssmResolveName(r, in.Name)
	params := ssmRegion(r.acct, r.region)
	if !ok || params[name] == nil {
		return nil, ssmErr("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	delete(params, name)
	return struct{}{}, nil
}

// ssmTargetFor is the authorization target of action on the parameter
// named id (a name or an ARN): the parameter's ARN, with its tags.
func ssmTargetFor(r *request, action, id string) authzTarget {
	t := authzTarget{action: action, resource: "*"}
	if id == "" {
		return t
	}
	t.resourceAccount = r.acct.ID
	if strings.HasPrefix(id, "arn:") {
		t.resource = id
		if parts := strings.SplitN(id, ":", 6); len(parts) == 6 {
			t.resourceAccount = parts[4]
		}
	} else {
		t.resource = ssmParameterARN(r.region, r.acct.ID, id)
	}
	if name, ok := ssmResolveName(r, id); ok {
		if p := ssmRegion(r.acct, r.region)[name]; p != nil {
			t.resourceTags(p.Tags, "aws")
		}
	}
	return t
}

// ssmTarget maps a Parameter Store request to its IAM action and resource.
func ssmTarget(r *request, t *authzTarget) {
	var in struct{ Name string }
	_ = r.decodeJSON(&in)
	switch r.action {
	case "GetParameters":
		// Decided per parameter in the handler.
		t.free = true
		return
	case "PutParameter", "GetParameter", "DeleteParameter":
		*t = ssmTargetFor(r, t.action, in.Name)
		if r.action == "PutParameter" {
			var tin struct{ Tags []ssmTag }
			_ = r.decodeJSON(&tin)
			var tags []Tag
			for _, tg := range tin.Tags {
				tags = append(tags, Tag{Key: tg.Key, Value: tg.Value})
			}
			t.requestTags(tags)
		}
	}
}
