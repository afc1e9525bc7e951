package sandbox_test

// Differential test: the same aws-sdk-go-v2 call sequences run against the
// sandbox and against moto 5, and their observable behaviour (operation,
// error code, HTTP status, selected output fields with volatile values
// replaced by placeholders) is compared. moto is not AWS either, so a
// difference is a lead; each one was settled with AWS's documentation: the
// sandbox was fixed where it was wrong, and where moto is wrong the
// difference is listed, with its reason, in differentialAllowlist.
//
// The sandbox's own observations are also pinned in
// testdata/differential/sandbox.golden.json (go test -run Differential
// -update rewrites it), so a change of the sandbox's wire behaviour shows
// in review even where moto cannot run.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

var updateDifferential = flag.Bool("update", false, "rewrite testdata/differential golden files")

// observation is one call's normalized, observable outcome.
type observation struct {
	Op     string            `json:"op"`
	Code   string            `json:"code,omitempty"`
	Status int               `json:"status"`
	Fields map[string]string `json:"fields,omitempty"`
}

// diffClients are the SDK clients of one backend, plus what a scenario needs
// to set state up that has no API on one side.
type diffClients struct {
	backend string // "sandbox" or "moto"
	iam     *iam.Client
	sts     *sts.Client
	org     *organizations.Client
	sm      *secretsmanager.Client
	sns     *sns.Client
	kms     *kms.Client
	env     *sandboxtest.Env // nil on moto
	norm    *normalizer
	status  *int // HTTP status of the last response
}

// diffScenario is one call sequence.
type diffScenario struct {
	name string
	run  func(ctx context.Context, c *diffClients) []observation
}

// newDiffClients builds clients on cfg and records each response's HTTP
// status for call.
func newDiffClients(backend string, cfg aws.Config, env *sandboxtest.Env) *diffClients {
	status := new(int)
	cfg.APIOptions = append(append([]func(*middleware.Stack) error{}, cfg.APIOptions...), func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("differentialStatus",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if r, ok := out.RawResponse.(*smithyhttp.Response); ok {
					*status = r.StatusCode
				}
				return out, md, err
			}), middleware.After)
	})
	return &diffClients{
		backend: backend,
		iam:     iam.NewFromConfig(cfg),
		sts:     sts.NewFromConfig(cfg),
		org:     organizations.NewFromConfig(cfg),
		sm:      secretsmanager.NewFromConfig(cfg),
		sns:     sns.NewFromConfig(cfg),
		kms:     kms.NewFromConfig(cfg),
		env:     env,
		norm:    newNormalizer(),
		status:  status,
	}
}

// call records one operation: its error code and status, and the output
// fields whose flattened paths match one of paths ("*" matches one path
// segment, a trailing ".#" is a list's or map's length).
func (c *diffClients) call(op string, out any, err error, paths ...string) observation {
	o := observation{Op: op, Status: *c.status}
	*c.status = 0
	if err != nil {
		o.Code = "<no API error: " + err.Error() + ">"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			o.Code = ae.ErrorCode()
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			o.Status = re.HTTPStatusCode()
		}
		return o
	}
	o.Fields = c.fields(out, paths...)
	return o
}

// fields flattens v (through its JSON form) and keeps the paths wanted.
func (c *diffClients) fields(v any, paths ...string) map[string]string {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]string{"<marshal error>": err.Error()}
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return map[string]string{"<unmarshal error>": err.Error()}
	}
	flat := map[string]string{}
	c.flatten("", tree, flat)
	got := map[string]string{}
	for k, v := range flat {
		for _, p := range paths {
			if matchPath(p, k) {
				got[k] = v
			}
		}
	}
	if len(got) == 0 {
		return nil
	}
	return got
}

func (c *diffClients) flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[join("#")] = strconv.Itoa(len(v))
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "ResultMetadata" {
				continue
			}
			c.flatten(join(c.norm.text(k)), v[k], out)
		}
	case []any:
		out[join("#")] = strconv.Itoa(len(v))
		for i, e := range v {
			c.flatten(join(strconv.Itoa(i)), e, out)
		}
	case nil:
		// absent
	case string:
		out[prefix] = c.norm.text(v)
	default:
		out[prefix] = fmt.Sprint(v)
	}
}

func matchPath(pattern, path string) bool {
	ps, ks := strings.Split(pattern, "."), strings.Split(path, ".")
	if len(ps) != len(ks) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != ks[i] {
			return false
		}
		if ps[i] == "*" && ks[i] == "#" {
			return false
		}
	}
	return true
}

// note records a value the scenario computed itself.
func (c *diffClients) note(op string, kv ...string) observation {
	o := observation{Op: op, Fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Fields[kv[i]] = c.norm.text(kv[i+1])
	}
	return o
}

// normalizer replaces volatile values with placeholders numbered by first
// appearance, so that equal values stay equal and different ones different.
type normalizer struct {
	seen map[string]map[string]string
}

func newNormalizer() *normalizer { return &normalizer{seen: map[string]map[string]string{}} }

func (n *normalizer) id(kind, v string) string {
	m := n.seen[kind]
	if m == nil {
		m = map[string]string{}
		n.seen[kind] = m
	}
	if p, ok := m[v]; ok {
		return p
	}
	p := fmt.Sprintf("<%s#%d>", kind, len(m)+1)
	m[v] = p
	return p
}

var volatile = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"time", regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?`)},
	{"uuid", regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)},
	{"key", regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"uid", regexp.MustCompile(`\bA(IDA|GPA|ROA)[A-Z0-9]{13,}\b`)},
	{"account", regexp.MustCompile(`\b\d{12}\b`)},
	{"org", regexp.MustCompile(`\bo-[a-z0-9]{10,32}\b`)},
	{"ou", regexp.MustCompile(`\bou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\b`)},
	{"root", regexp.MustCompile(`\br-[a-z0-9]{4,32}\b`)},
	// A secret ARN ends in a hyphen and six random characters.
	{"suffix", regexp.MustCompile(`(:secret:[A-Za-z0-9/_+=.@-]+-)[A-Za-z0-9]{6}\b`)},
}

// text normalizes every volatile value inside s.
func (n *normalizer) text(s string) string {
	for _, v := range volatile {
		switch v.kind {
		case "time":
			s = v.re.ReplaceAllString(s, "<time>")
		case "suffix":
			s = v.re.ReplaceAllString(s, "${1}<rand6>")
		default:
			s = v.re.ReplaceAllStringFunc(s, func(m string) string { return n.id(v.kind, m) })
		}
	}
	return s
}

// Scenarios.

var diffScenarios = []diffScenario{
	{"iam-user-lifecycle", scenarioIAMUserLifecycle},
	{"iam-access-keys", scenarioIAMAccessKeys},
	{"iam-login-mfa", scenarioIAMLoginMFA},
	{"iam-groups", scenarioIAMGroups},
	{"iam-credential-report", scenarioIAMCredentialReport},
	{"secretsmanager", scenarioSecretsManager},
	{"sts", scenarioSTS},
	{"sns", scenarioSNS},
	{"organizations", scenarioOrganizations},
	{"kms", scenarioKMS},
	{"smaller-differences", scenarioSmallerDifferences},
}

var userFields = []string{"User.UserName", "User.Path", "User.Arn", "User.UserId", "User.CreateDate", "User.Tags.#", "User.Tags.*.*"}

func scenarioIAMUserLifecycle(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("alice@example.com")}}})
	obs = append(obs, c.call("CreateUser", cu, err, userFields...))
	cu, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("CreateUser(duplicate)", cu, err, userFields...))
	cu, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ALICE")})
	obs = append(obs, c.call("CreateUser(case-insensitive duplicate)", cu, err, userFields...))
	cu, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bad name!")})
	obs = append(obs, c.call("CreateUser(invalid name)", cu, err, userFields...))
	cu, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("svc-ci"), Path: aws.String("/service/")})
	obs = append(obs, c.call("CreateUser(path)", cu, err, userFields...))
	gu, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	obs = append(obs, c.call("GetUser(missing)", gu, err, userFields...))
	gu, err = c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("GetUser", gu, err, userFields...))
	tu, err := c.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{
		{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("env"), Value: aws.String("prod")},
	}})
	obs = append(obs, c.call("TagUser", tu, err))
	tu, err = c.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("nobody"), Tags: []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	obs = append(obs, c.call("TagUser(missing user)", tu, err))
	lt, err := c.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("ListUserTags", lt, err, "Tags.#", "Tags.*.*", "IsTruncated"))
	ut, err := c.iam.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"env", "absent"}})
	obs = append(obs, c.call("UntagUser", ut, err))
	lt, err = c.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("ListUserTags(after untag)", lt, err, "Tags.#", "Tags.*.*", "IsTruncated"))
	lu, err := c.iam.ListUsers(ctx, &iam.ListUsersInput{})
	obs = append(obs, c.call("ListUsers", lu, err, "Users.#", "Users.*.UserName", "Users.*.Path", "IsTruncated"))
	lu, err = c.iam.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/service/")})
	obs = append(obs, c.call("ListUsers(path prefix)", lu, err, "Users.#", "Users.*.UserName", "Users.*.Path", "IsTruncated"))
	ck, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("CreateAccessKey", ck, err, "AccessKey.UserName", "AccessKey.AccessKeyId", "AccessKey.Status", "AccessKey.CreateDate"))
	du, err := c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("DeleteUser(with key)", du, err))
	if ck != nil {
		dk, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: ck.AccessKey.AccessKeyId})
		obs = append(obs, c.call("DeleteAccessKey", dk, err))
	}
	du, err = c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("DeleteUser", du, err))
	gu, err = c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("GetUser(deleted)", gu, err, userFields...))
	du, err = c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
	obs = append(obs, c.call("DeleteUser(deleted)", du, err))
	return obs
}

var keyMetaFields = []string{"AccessKeyMetadata.#", "AccessKeyMetadata.*.AccessKeyId", "AccessKeyMetadata.*.Status", "AccessKeyMetadata.*.UserName", "AccessKeyMetadata.*.CreateDate", "IsTruncated"}

func scenarioIAMAccessKeys(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")})
	obs = append(obs, c.call("CreateUser", cu, err, "User.UserName"))
	var ids []*string
	for i := 1; i <= 3; i++ {
		ck, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
		obs = append(obs, c.call(fmt.Sprintf("CreateAccessKey(%d)", i), ck, err, "AccessKey.UserName", "AccessKey.AccessKeyId", "AccessKey.Status", "AccessKey.CreateDate"))
		if err == nil {
			// The secret is never recorded, only its shape: 40 base64 characters.
			obs = append(obs, c.note(fmt.Sprintf("CreateAccessKey(%d) secret", i), "length", strconv.Itoa(len(aws.ToString(ck.AccessKey.SecretAccessKey)))))
			ids = append(ids, ck.AccessKey.AccessKeyId)
		}
	}
	if len(ids) < 2 {
		return obs
	}
	lk, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	obs = append(obs, c.call("ListAccessKeys", lk, err, keyMetaFields...))
	uk, err := c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: ids[0], Status: iamtypes.StatusTypeInactive})
	obs = append(obs, c.call("UpdateAccessKey(Inactive)", uk, err))
	uk, err = c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: aws.String("AKIAIOSFODNN7NOTHERE"), Status: iamtypes.StatusTypeInactive})
	obs = append(obs, c.call("UpdateAccessKey(missing key)", uk, err))
	lk, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	obs = append(obs, c.call("ListAccessKeys(after update)", lk, err, keyMetaFields...))
	uk, err = c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: ids[1], Status: iamtypes.StatusType("Disabled")})
	obs = append(obs, c.call("UpdateAccessKey(bad status)", uk, err))
	lu, err := c.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: ids[1]})
	obs = append(obs, c.call("GetAccessKeyLastUsed(never used)", lu, err, "UserName", "AccessKeyLastUsed.*"))
	cu, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("keyless")})
	obs = append(obs, c.call("CreateUser keyless", cu, err, "User.UserName"))
	lk, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("keyless")})
	obs = append(obs, c.call("ListAccessKeys(no keys)", lk, err, keyMetaFields...))
	lg, err := c.iam.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("keyless")})
	obs = append(obs, c.call("ListGroupsForUser(no groups)", lg, err, "Groups.#", "IsTruncated"))
	lm, err := c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("keyless")})
	obs = append(obs, c.call("ListMFADevices(no devices)", lm, err, "MFADevices.#", "IsTruncated"))
	dk, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: ids[0]})
	obs = append(obs, c.call("DeleteAccessKey", dk, err))
	dk, err = c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: ids[0]})
	obs = append(obs, c.call("DeleteAccessKey(again)", dk, err))
	lk, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	obs = append(obs, c.call("ListAccessKeys(after delete)", lk, err, keyMetaFields...))
	lk, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("nobody")})
	obs = append(obs, c.call("ListAccessKeys(missing user)", lk, err, keyMetaFields...))
	ck, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")})
	obs = append(obs, c.call("CreateAccessKey(missing user)", ck, err, "AccessKey.AccessKeyId"))
	return obs
}

func scenarioIAMLoginMFA(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	for _, u := range []string{"carol", "dave"} {
		cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)})
		obs = append(obs, c.call("CreateUser "+u, cu, err, "User.UserName"))
	}
	lpFields := []string{"LoginProfile.UserName", "LoginProfile.PasswordResetRequired", "LoginProfile.CreateDate"}
	cl, err := c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Correct-Horse-9-Battery"), PasswordResetRequired: true})
	obs = append(obs, c.call("CreateLoginProfile", cl, err, lpFields...))
	cl, err = c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("carol"), Password: aws.String("Correct-Horse-9-Battery")})
	obs = append(obs, c.call("CreateLoginProfile(duplicate)", cl, err, lpFields...))
	gl, err := c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("GetLoginProfile", gl, err, lpFields...))
	gl, err = c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("dave")})
	obs = append(obs, c.call("GetLoginProfile(none)", gl, err, lpFields...))
	mfaFields := []string{"MFADevices.#", "MFADevices.*.UserName", "MFADevices.*.SerialNumber", "MFADevices.*.EnableDate", "IsTruncated"}
	lm, err := c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("ListMFADevices(none)", lm, err, mfaFields...))
	acct := "123456789012"
	if id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		acct = aws.ToString(id.Account)
	}
	serial := "arn:aws:iam::" + acct + ":mfa/carol"
	em, err := c.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("carol"), SerialNumber: aws.String(serial), AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
	obs = append(obs, c.call("EnableMFADevice", em, err))
	lm, err = c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("ListMFADevices", lm, err, mfaFields...))
	lm, err = c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("nobody")})
	obs = append(obs, c.call("ListMFADevices(missing user)", lm, err, mfaFields...))
	dm, err := c.iam.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("carol"), SerialNumber: aws.String(serial)})
	obs = append(obs, c.call("DeactivateMFADevice", dm, err))
	lm, err = c.iam.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("ListMFADevices(after deactivate)", lm, err, mfaFields...))
	dl, err := c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("DeleteLoginProfile", dl, err))
	gl, err = c.iam.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("GetLoginProfile(deleted)", gl, err, lpFields...))
	dl, err = c.iam.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("carol")})
	obs = append(obs, c.call("DeleteLoginProfile(again)", dl, err))
	return obs
}

func scenarioIAMGroups(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	groupFields := []string{"Group.GroupName", "Group.Path", "Group.Arn", "Group.GroupId", "Group.CreateDate"}
	cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("erin")})
	obs = append(obs, c.call("CreateUser", cu, err, "User.UserName"))
	cg, err := c.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})
	obs = append(obs, c.call("CreateGroup", cg, err, groupFields...))
	cg, err = c.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})
	obs = append(obs, c.call("CreateGroup(duplicate)", cg, err, groupFields...))
	cg, err = c.iam.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops"), Path: aws.String("/teams/")})
	obs = append(obs, c.call("CreateGroup(path)", cg, err, groupFields...))
	ag, err := c.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("erin"), GroupName: aws.String("devs")})
	obs = append(obs, c.call("AddUserToGroup", ag, err))
	ag, err = c.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("erin"), GroupName: aws.String("nogroup")})
	obs = append(obs, c.call("AddUserToGroup(missing group)", ag, err))
	ag, err = c.iam.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String("nobody"), GroupName: aws.String("devs")})
	obs = append(obs, c.call("AddUserToGroup(missing user)", ag, err))
	lg, err := c.iam.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("erin")})
	obs = append(obs, c.call("ListGroupsForUser", lg, err, "Groups.#", "Groups.*.GroupName", "Groups.*.Arn", "IsTruncated"))
	gg, err := c.iam.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("devs")})
	obs = append(obs, c.call("GetGroup", gg, err, append(groupFields, "Users.#", "Users.*.UserName", "Users.*.Arn", "IsTruncated")...))
	gg, err = c.iam.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("nogroup")})
	obs = append(obs, c.call("GetGroup(missing)", gg, err, groupFields...))
	lgs, err := c.iam.ListGroups(ctx, &iam.ListGroupsInput{})
	obs = append(obs, c.call("ListGroups", lgs, err, "Groups.#", "Groups.*.GroupName", "Groups.*.Path", "Groups.*.Arn", "IsTruncated"))
	rg, err := c.iam.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: aws.String("erin"), GroupName: aws.String("devs")})
	obs = append(obs, c.call("RemoveUserFromGroup", rg, err))
	lg, err = c.iam.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("erin")})
	obs = append(obs, c.call("ListGroupsForUser(after remove)", lg, err, "Groups.#", "Groups.*.GroupName", "IsTruncated"))
	return obs
}

func scenarioIAMCredentialReport(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	if c.env != nil {
		c.env.Server.SetReportBuildTime(0)
	}
	gr, err := c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	obs = append(obs, c.call("GetCredentialReport(none)", gr, err, "ReportFormat"))
	// frank: no credentials; grace: password and MFA; heidi: two keys, the first inactive.
	for _, u := range []string{"frank", "grace", "heidi"} {
		cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)})
		obs = append(obs, c.call("CreateUser "+u, cu, err, "User.UserName"))
	}
	_, err = c.iam.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("grace"), Password: aws.String("Correct-Horse-9-Battery")})
	obs = append(obs, c.call("CreateLoginProfile grace", nil, err))
	acct := "123456789012"
	if id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		acct = aws.ToString(id.Account)
	}
	_, err = c.iam.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("grace"), SerialNumber: aws.String("arn:aws:iam::" + acct + ":mfa/grace"), AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
	obs = append(obs, c.call("EnableMFADevice grace", nil, err))
	for i := 0; i < 2; i++ {
		ck, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("heidi")})
		obs = append(obs, c.call("CreateAccessKey heidi", ck, err, "AccessKey.Status"))
		if err == nil && i == 0 {
			_, err = c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("heidi"), AccessKeyId: ck.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive})
			obs = append(obs, c.call("UpdateAccessKey heidi Inactive", nil, err))
		}
	}
	gen, err := c.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
	obs = append(obs, c.call("GenerateCredentialReport(first)", gen, err, "State"))
	complete := false
	for i := 0; i < 20 && err == nil && !complete; i++ {
		gen, err = c.iam.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		complete = err == nil && gen.State == iamtypes.ReportStateTypeComplete
		if !complete {
			time.Sleep(50 * time.Millisecond)
		}
	}
	obs = append(obs, c.note("GenerateCredentialReport(poll)", "complete", strconv.FormatBool(complete)))
	gr, err = c.iam.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	obs = append(obs, c.call("GetCredentialReport", gr, err, "ReportFormat", "GeneratedTime"))
	if err != nil {
		return obs
	}
	content := strings.TrimSuffix(string(gr.Content), "\n")
	lines := strings.Split(content, "\n")
	header := strings.Split(lines[0], ",")
	obs = append(obs, c.note("credential report header", "header", lines[0]))
	hasRoot := "false"
	for _, line := range lines[1:] {
		cols := strings.Split(line, ",")
		if len(cols) != len(header) {
			obs = append(obs, c.note("credential report row", "malformed", line))
			continue
		}
		if cols[0] == "<root_account>" {
			hasRoot = "true"
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cols[i]
		}
		var kv []string
		for _, h := range header {
			v := row[h]
			switch h {
			case "user_creation_time", "password_last_changed", "access_key_1_last_rotated", "access_key_2_last_rotated":
				// Times: only whether there is one.
				if v != "N/A" && v != "not_supported" && v != "no_information" {
					if _, err := time.Parse(time.RFC3339, v); err == nil {
						v = "<time>"
					}
				}
			}
			kv = append(kv, h, v)
		}
		obs = append(obs, c.note("credential report row "+cols[0], kv...))
	}
	obs = append(obs, c.note("credential report root row", "present", hasRoot))
	return obs
}

func scenarioSecretsManager(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	const tok1, tok2, tok3 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
	cs, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":1}`), ClientRequestToken: aws.String(tok1)})
	obs = append(obs, c.call("CreateSecret", cs, err, "ARN", "Name", "VersionId"))
	cs, err = c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":1}`), ClientRequestToken: aws.String(tok1)})
	obs = append(obs, c.call("CreateSecret(same token, same value)", cs, err, "ARN", "Name", "VersionId"))
	cs, err = c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":1}`)})
	obs = append(obs, c.call("CreateSecret(duplicate name)", cs, err, "ARN", "Name", "VersionId"))
	cs, err = c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("keyrot/short-token"), SecretString: aws.String("x"), ClientRequestToken: aws.String("too-short")})
	obs = append(obs, c.call("CreateSecret(token too short)", cs, err, "Name", "VersionId"))
	gv, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("GetSecretValue", gv, err, "ARN", "Name", "VersionId", "SecretString", "VersionStages.#", "VersionStages.*", "CreatedDate"))
	pv, err := c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":2}`), ClientRequestToken: aws.String(tok2)})
	obs = append(obs, c.call("PutSecretValue", pv, err, "ARN", "Name", "VersionId", "VersionStages.#", "VersionStages.*"))
	pv, err = c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":2}`), ClientRequestToken: aws.String(tok2)})
	obs = append(obs, c.call("PutSecretValue(same token, same value)", pv, err, "ARN", "Name", "VersionId", "VersionStages.#", "VersionStages.*"))
	pv, err = c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":3}`), ClientRequestToken: aws.String(tok2)})
	obs = append(obs, c.call("PutSecretValue(same token, other value)", pv, err, "ARN", "Name", "VersionId", "VersionStages.#", "VersionStages.*"))
	lv, err := c.sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("ListSecretVersionIds", sortedVersions(c, lv), err, "Name", "Versions.#", "Versions.*.VersionId", "Versions.*.VersionStages.#", "Versions.*.VersionStages.*"))
	ds, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("DescribeSecret", ds, err, "ARN", "Name", "VersionIdsToStages.#", "VersionIdsToStages.*.#", "VersionIdsToStages.*.*", "DeletedDate", "RotationEnabled"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice"), VersionStage: aws.String("AWSPREVIOUS")})
	obs = append(obs, c.call("GetSecretValue(AWSPREVIOUS)", gv, err, "VersionId", "SecretString", "VersionStages.#", "VersionStages.*"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice"), VersionId: aws.String(tok1), VersionStage: aws.String("AWSCURRENT")})
	obs = append(obs, c.call("GetSecretValue(version and other stage)", gv, err, "VersionId"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice"), VersionId: aws.String(tok3)})
	obs = append(obs, c.call("GetSecretValue(missing version)", gv, err, "VersionId"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/nobody")})
	obs = append(obs, c.call("GetSecretValue(missing)", gv, err, "VersionId"))
	ds, err = c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("keyrot/nobody")})
	obs = append(obs, c.call("DescribeSecret(missing)", ds, err, "ARN"))

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	pp, err := c.sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{SecretId: aws.String("keyrot/alice"), ResourcePolicy: aws.String(policy)})
	obs = append(obs, c.call("PutResourcePolicy", pp, err, "ARN", "Name"))
	gp, err := c.sm.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("keyrot/alice")})
	o := c.call("GetResourcePolicy", gp, err, "ARN", "Name")
	if err == nil {
		// The policy is compared as JSON, not byte for byte.
		o.Fields["ResourcePolicy(equal as JSON)"] = strconv.FormatBool(jsonEqual(aws.ToString(gp.ResourcePolicy), policy))
	}
	obs = append(obs, o)
	gp, err = c.sm.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String("keyrot/nobody")})
	obs = append(obs, c.call("GetResourcePolicy(missing secret)", gp, err, "ARN"))

	del, err := c.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("keyrot/alice"), RecoveryWindowInDays: aws.Int64(3)})
	obs = append(obs, c.call("DeleteSecret(window too short)", del, err, "Name"))
	del, err = c.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("keyrot/alice"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	obs = append(obs, c.call("DeleteSecret(window and force)", del, err, "Name"))
	del, err = c.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("keyrot/alice"), RecoveryWindowInDays: aws.Int64(7)})
	obs = append(obs, c.call("DeleteSecret", del, err, "ARN", "Name", "DeletionDate"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("GetSecretValue(deleted)", gv, err, "VersionId"))
	pv, err = c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("keyrot/alice"), SecretString: aws.String(`{"v":4}`)})
	obs = append(obs, c.call("PutSecretValue(deleted)", pv, err, "VersionId"))
	ds, err = c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("DescribeSecret(deleted)", ds, err, "Name", "DeletedDate"))
	rs, err := c.sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("RestoreSecret", rs, err, "ARN", "Name"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("GetSecretValue(restored)", gv, err, "VersionId", "SecretString"))
	del, err = c.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("keyrot/alice"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	obs = append(obs, c.call("DeleteSecret(force)", del, err, "Name", "DeletionDate"))
	gv, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("keyrot/alice")})
	obs = append(obs, c.call("GetSecretValue(force deleted)", gv, err, "VersionId"))
	return obs
}

// sortedVersions orders ListSecretVersionIds by normalized version ID:
// AWS documents no order.
func sortedVersions(c *diffClients, out *secretsmanager.ListSecretVersionIdsOutput) *secretsmanager.ListSecretVersionIdsOutput {
	if out == nil {
		return nil
	}
	cp := *out
	cp.Versions = append(cp.Versions[:0:0], out.Versions...)
	sort.Slice(cp.Versions, func(i, j int) bool {
		return c.norm.text(aws.ToString(cp.Versions[i].VersionId)) < c.norm.text(aws.ToString(cp.Versions[j].VersionId))
	})
	return &cp
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

func scenarioSTS(ctx context.Context, c *diffClients) []observation {
	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	o := c.call("GetCallerIdentity", id, err, "Account", "UserId", "Arn")
	if err == nil {
		// The caller's name differs by construction (moto's is fixed);
		// record the ARN's shape.
		arn := aws.ToString(id.Arn)
		o.Fields["Arn(shape)"] = regexp.MustCompile(`^arn:aws:(iam|sts)::\d{12}:(user|assumed-role|root)(/.*)?$`).ReplaceAllString(arn, "arn:aws:$1::<account>:$2")
		delete(o.Fields, "Arn")
		delete(o.Fields, "UserId")
	}
	return []observation{o}
}

func scenarioSNS(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	ct, err := c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-notices")})
	obs = append(obs, c.call("CreateTopic", ct, err, "TopicArn"))
	ct2, err := c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("keyrot-notices")})
	obs = append(obs, c.call("CreateTopic(again)", ct2, err, "TopicArn"))
	ct3, err := c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name!")})
	obs = append(obs, c.call("CreateTopic(invalid name)", ct3, err, "TopicArn"))
	lt, err := c.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	obs = append(obs, c.call("ListTopics", lt, err, "Topics.#", "Topics.*.TopicArn"))
	if ct != nil {
		pb, err := c.sns.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn, Subject: aws.String("keyrot"), Message: aws.String("key AKIA…WXYZ of alice rotated")})
		obs = append(obs, c.call("Publish", pb, err, "MessageId", "SequenceNumber"))
		pb, err = c.sns.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn, Subject: aws.String(strings.Repeat("s", 101)), Message: aws.String("hello")})
		obs = append(obs, c.call("Publish(subject too long)", pb, err, "MessageId"))
		pb, err = c.sns.Publish(ctx, &sns.PublishInput{TopicArn: ct.TopicArn})
		obs = append(obs, c.call("Publish(no message)", pb, err, "MessageId"))
		missing := strings.Replace(aws.ToString(ct.TopicArn), "keyrot-notices", "no-such-topic", 1)
		pb, err = c.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(missing), Message: aws.String("hello")})
		obs = append(obs, c.call("Publish(missing topic)", pb, err, "MessageId"))
		dt, err := c.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: ct.TopicArn})
		obs = append(obs, c.call("DeleteTopic", dt, err))
		lt, err = c.sns.ListTopics(ctx, &sns.ListTopicsInput{})
		obs = append(obs, c.call("ListTopics(after delete)", lt, err, "Topics.#", "Topics.*.TopicArn"))
	}
	return obs
}

func scenarioKMS(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	meta := []string{"KeyMetadata.KeyState", "KeyMetadata.Enabled", "KeyMetadata.KeyManager", "KeyMetadata.KeySpec", "KeyMetadata.KeyUsage", "KeyMetadata.Description", "KeyMetadata.Origin"}
	ck, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("keyrot central store")})
	obs = append(obs, c.call("CreateKey", ck, err, meta...))
	if err != nil {
		return obs
	}
	id := ck.KeyMetadata.KeyId
	gp, err := c.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: id, PolicyName: aws.String("default")})
	obs = append(obs, c.call("GetKeyPolicy", gp, err, "PolicyName"))
	ca, err := c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: id})
	obs = append(obs, c.call("CreateAlias", ca, err))
	ca, err = c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/keyrot"), TargetKeyId: id})
	obs = append(obs, c.call("CreateAlias(duplicate)", ca, err))
	ca, err = c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/keyrot"), TargetKeyId: id})
	obs = append(obs, c.call("CreateAlias(reserved)", ca, err))
	dk, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/keyrot")})
	obs = append(obs, c.call("DescribeKey(alias)", dk, err, meta...))
	dk, err = c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	obs = append(obs, c.call("DescribeKey(missing alias)", dk, err))
	dk, err = c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")})
	obs = append(obs, c.call("DescribeKey(missing key)", dk, err))
	en, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/keyrot"), Plaintext: []byte("hello"), EncryptionContext: map[string]string{"k": "v"}})
	obs = append(obs, c.call("Encrypt", en, err))
	if err == nil {
		de, err := c.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: en.CiphertextBlob, EncryptionContext: map[string]string{"k": "v"}})
		o := c.call("Decrypt", de, err)
		if err == nil {
			o.Fields = map[string]string{"Plaintext": string(de.Plaintext)}
		}
		obs = append(obs, o)
	}
	dis, err := c.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})
	obs = append(obs, c.call("DisableKey", dis, err))
	en, err = c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("hello")})
	obs = append(obs, c.call("Encrypt(disabled)", en, err))
	ena, err := c.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})
	obs = append(obs, c.call("EnableKey", ena, err))
	sk, err := c.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(6)})
	obs = append(obs, c.call("ScheduleKeyDeletion(6 days)", sk, err))
	sk, err = c.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)})
	obs = append(obs, c.call("ScheduleKeyDeletion", sk, err, "KeyState", "PendingWindowInDays"))
	en, err = c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("hello")})
	obs = append(obs, c.call("Encrypt(pending deletion)", en, err))
	cd, err := c.kms.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})
	obs = append(obs, c.call("CancelKeyDeletion", cd, err))
	dk, err = c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id})
	obs = append(obs, c.call("DescribeKey(cancelled)", dk, err, meta...))
	grantee := "arn:aws:iam::111122223333:role/keyrot"
	cg, err := c.kms.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: id, GranteePrincipal: aws.String(grantee), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt}})
	obs = append(obs, c.call("CreateGrant", cg, err))
	lg, err := c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: id})
	obs = append(obs, c.call("ListGrants", lg, err, "Grants.#", "Grants.*.GranteePrincipal", "Grants.*.Operations.#"))
	if cg != nil {
		rg, err := c.kms.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: id, GrantId: cg.GrantId})
		obs = append(obs, c.call("RevokeGrant", rg, err))
	}
	lg, err = c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: id})
	obs = append(obs, c.call("ListGrants(after revoke)", lg, err, "Grants.#"))
	lk, err := c.kms.ListKeys(ctx, &kms.ListKeysInput{})
	obs = append(obs, c.call("ListKeys", lk, err, "Keys.#"))
	lk, err = c.kms.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(0)})
	obs = append(obs, c.call("ListKeys(limit 0)", lk, err))
	da, err := c.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/keyrot")})
	obs = append(obs, c.call("DeleteAlias", da, err))
	dk, err = c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/keyrot")})
	obs = append(obs, c.call("DescribeKey(deleted alias)", dk, err))
	return obs
}

// scenarioSmallerDifferences covers the smaller behaviours where the
// sandbox was found to differ from AWS.
func scenarioSmallerDifferences(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	cu, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("lee")})
	obs = append(obs, c.call("CreateUser", cu, err))
	tu, err := c.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("lee"), Tags: []iamtypes.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}})
	obs = append(obs, c.call("TagUser(aws: prefix)", tu, err))
	lu, err := c.iam.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(0)})
	obs = append(obs, c.call("ListUsers(MaxItems 0)", lu, err))
	for _, sec := range [][2]string{{"a", "My Description"}, {"c", "Description of my secret"}, {"d", "Descriptive text"}} {
		name, desc := sec[0], sec[1]
		cs, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), Description: aws.String(desc), SecretString: aws.String("v")})
		obs = append(obs, c.call("CreateSecret("+name+")", cs, err))
	}
	for _, v := range []string{"My Description", "descr", "cription"} {
		ls, err := c.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeDescription, Values: []string{v}}}})
		o := c.call("ListSecrets(description "+v+")", ls, err)
		if err == nil {
			var names []string
			for _, sec := range ls.SecretList {
				names = append(names, aws.ToString(sec.Name))
			}
			sort.Strings(names)
			o.Fields = map[string]string{"names": strings.Join(names, ",")}
		}
		obs = append(obs, o)
	}
	ls, err := c.sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(0)})
	obs = append(obs, c.call("ListSecrets(MaxResults 0)", ls, err))
	ds, err := c.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("never-was"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	obs = append(obs, c.call("DeleteSecret(force, missing)", ds, err, "Name"))
	tr, err := c.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("a"), Tags: []smtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	obs = append(obs, c.call("TagResource(aws: prefix)", tr, err))
	la, err := c.org.ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(0)})
	o := c.call("ListAccounts(MaxResults 0)", la, err)
	var ie *orgtypes.InvalidInputException
	if errors.As(err, &ie) {
		o.Fields = map[string]string{"Reason": string(ie.Reason)}
	}
	obs = append(obs, o)
	return obs
}

func scenarioOrganizations(ctx context.Context, c *diffClients) []observation {
	var obs []observation
	// Set up: an organization (moto needs one created; the sandbox always
	// has one) with an OU holding one member account.
	var ouID, memberID string
	if c.env == nil {
		co, err := c.org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
		if err != nil {
			return append(obs, c.call("setup CreateOrganization", co, err))
		}
		roots, err := c.org.ListRoots(ctx, &organizations.ListRootsInput{})
		if err != nil || len(roots.Roots) != 1 {
			return append(obs, c.call("setup ListRoots", roots, err))
		}
		ou, err := c.org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: roots.Roots[0].Id, Name: aws.String("Workloads")})
		if err != nil {
			return append(obs, c.call("setup CreateOrganizationalUnit", ou, err))
		}
		ouID = aws.ToString(ou.OrganizationalUnit.Id)
		ca, err := c.org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("app"), Email: aws.String("app@example.com")})
		if err != nil {
			return append(obs, c.call("setup CreateAccount", ca, err))
		}
		memberID = aws.ToString(ca.CreateAccountStatus.AccountId)
		if _, err := c.org.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(memberID), SourceParentId: roots.Roots[0].Id, DestinationParentId: aws.String(ouID)}); err != nil {
			return append(obs, c.call("setup MoveAccount", nil, err))
		}
	} else {
		ouID, memberID = "ou-ab12-cdefgh34", "210987654321"
		if err := c.env.Server.AddOU(ouID, "Workloads", ""); err != nil {
			return append(obs, c.note("setup AddOU", "error", err.Error()))
		}
		if err := c.env.Server.AddAccount(memberID, "app", "app@example.com", ouID, ""); err != nil {
			return append(obs, c.note("setup AddAccount", "error", err.Error()))
		}
	}
	// Number the management account first, then the member, on both sides.
	if id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		c.norm.text(aws.ToString(id.Account))
	}
	c.norm.text(memberID)

	do, err := c.org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	// MasterAccountEmail is set-up data (each side names its management
	// account differently), and which policy types are enabled is the
	// organization's state, not behaviour: neither is compared.
	obs = append(obs, c.call("DescribeOrganization", do, err, "Organization.Id", "Organization.Arn", "Organization.FeatureSet",
		"Organization.MasterAccountId", "Organization.MasterAccountArn", "Organization.AvailablePolicyTypes.#", "Organization.AvailablePolicyTypes.*.*"))
	lr, err := c.org.ListRoots(ctx, &organizations.ListRootsInput{})
	obs = append(obs, c.call("ListRoots", lr, err, "Roots.#", "Roots.*.Id", "Roots.*.Arn", "Roots.*.Name"))
	la, err := c.org.ListAccounts(ctx, &organizations.ListAccountsInput{})
	accountFields := []string{"Accounts.#", "Accounts.*.Id", "Accounts.*.Arn", "Accounts.*.Status", "Accounts.*.JoinedMethod", "Accounts.*.JoinedTimestamp"}
	obs = append(obs, c.call("ListAccounts", c.sortedAccounts(la), err, accountFields...))
	da, err := c.org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(memberID)})
	obs = append(obs, c.call("DescribeAccount", da, err, "Account.*"))
	da, err = c.org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
	obs = append(obs, c.call("DescribeAccount(missing)", da, err, "Account.Id"))
	da, err = c.org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("12345")})
	obs = append(obs, c.call("DescribeAccount(malformed id)", da, err, "Account.Id"))
	if lr != nil && len(lr.Roots) == 1 {
		rootID := lr.Roots[0].Id
		lc, err := c.org.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: rootID, ChildType: orgtypes.ChildTypeOrganizationalUnit})
		obs = append(obs, c.call("ListChildren(root, OUs)", lc, err, "Children.#", "Children.*.*"))
		lc, err = c.org.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: aws.String(ouID), ChildType: orgtypes.ChildTypeAccount})
		obs = append(obs, c.call("ListChildren(OU, accounts)", lc, err, "Children.#", "Children.*.*"))
		lo, err := c.org.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: rootID})
		obs = append(obs, c.call("ListOrganizationalUnitsForParent", lo, err, "OrganizationalUnits.#", "OrganizationalUnits.*.*"))
	}
	lp, err := c.org.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(memberID)})
	obs = append(obs, c.call("ListParents", lp, err, "Parents.#", "Parents.*.*"))
	dou, err := c.org.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(ouID)})
	obs = append(obs, c.call("DescribeOrganizationalUnit", dou, err, "OrganizationalUnit.*"))
	dou, err = c.org.DescribeOrganizationalUnit(ctx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String("ou-zz99-zzzzzzzz")})
	obs = append(obs, c.call("DescribeOrganizationalUnit(missing)", dou, err, "OrganizationalUnit.Id"))
	laf, err := c.org.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(ouID)})
	obs = append(obs, c.call("ListAccountsForParent(OU)", laf, err, "Accounts.#", "Accounts.*.Id", "Accounts.*.Name", "Accounts.*.Email"))
	return obs
}

// sortedAccounts orders ListAccounts by normalized ID (the management
// account first), so the comparison does not depend on an order AWS does
// not document.
func (c *diffClients) sortedAccounts(out *organizations.ListAccountsOutput) *organizations.ListAccountsOutput {
	if out == nil {
		return nil
	}
	cp := *out
	cp.Accounts = append([]orgtypes.Account{}, out.Accounts...)
	sort.Slice(cp.Accounts, func(i, j int) bool {
		return c.norm.text(aws.ToString(cp.Accounts[i].Id)) < c.norm.text(aws.ToString(cp.Accounts[j].Id))
	})
	return &cp
}

// Running and comparing.

func runSandboxScenario(t *testing.T, sc diffScenario) []observation {
	t.Helper()
	env := sandboxtest.Start(t, "")
	return sc.run(context.Background(), newDiffClients("sandbox", env.Admin(), env))
}

func resetMoto(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: status %d", resp.StatusCode)
	}
}

// allowedDiff is a known difference where the sandbox follows AWS's
// documentation and moto does not: one entry per cause, covering every
// observed difference that cause produces (a wrong status code also
// changes what later calls see). Each difference pins the sandbox's exact
// value, so the sandbox cannot drift while the entry hides the difference;
// moto's value is a regular expression, since moto's own IDs are random.
type allowedDiff struct {
	scenario string
	why      string
	diffs    []allowedField
}

// allowedField is one observed difference an allowedDiff accepts.
type allowedField struct {
	op, field string
	sandbox   string // exact; "<absent>" when the sandbox has no such field
	moto      string // anchored regular expression
}

// differentialAllowlist lists every accepted difference. An entry that no
// longer matches a difference fails the test, so the list cannot go stale.
//
// moto's IAM and group IDs are 20 random lower-case characters.
var differentialAllowlist = []allowedDiff{
	{
		scenario: "iam-user-lifecycle",
		why: "IAM user IDs begin with AIDA (IAM User Guide, reference_identifiers.html, " +
			"\"Understanding unique ID prefixes\"); moto's are random lower-case strings",
		diffs: []allowedField{
			{"CreateUser", "User.UserId", "<uid#1>", motoID},
			{"GetUser", "User.UserId", "<uid#1>", motoID},
			{"CreateUser(path)", "User.UserId", "<uid#2>", motoID},
		},
	},
	{
		scenario: "iam-user-lifecycle",
		why: "DeleteUser of a user that still has access keys fails with DeleteConflict, 409 " +
			"(IAM API reference, DeleteUser: \"you must delete the items (for example, access keys) " +
			"attached to the user manually\"; errors: DeleteConflict 409); moto deletes the user and " +
			"its keys, so the later DeleteAccessKey and DeleteUser find nothing",
		diffs: []allowedField{
			{"DeleteUser(with key)", "<code>", "DeleteConflict", ""},
			{"DeleteUser(with key)", "<status>", "409", "200"},
			{"DeleteAccessKey", "<code>", "", "NoSuchEntity"},
			{"DeleteAccessKey", "<status>", "200", "404"},
			{"DeleteUser", "<code>", "", "NoSuchEntity"},
			{"DeleteUser", "<status>", "200", "404"},
		},
	},
	{
		scenario: "iam-user-lifecycle",
		why: "IAM user names are case-insensitively unique (CreateUser, UserName: \"User names are not " +
			"distinguished by case. For example, you cannot create users named both TESTUSER and " +
			"testuser\" → EntityAlreadyExists 409) and match [\\w+=,.@-]+ (a space or ! is a " +
			"ValidationError, 400); moto creates ALICE next to alice and a user named \"bad name!\", " +
			"which ListUsers then shows",
		diffs: []allowedField{
			{"CreateUser(case-insensitive duplicate)", "<code>", "EntityAlreadyExists", ""},
			{"CreateUser(case-insensitive duplicate)", "<status>", "409", "200"},
			{"CreateUser(case-insensitive duplicate)", "User.Arn", "<absent>", `arn:aws:iam::<account#1>:user/ALICE`},
			{"CreateUser(case-insensitive duplicate)", "User.CreateDate", "<absent>", "<time>"},
			{"CreateUser(case-insensitive duplicate)", "User.Path", "<absent>", "/"},
			{"CreateUser(case-insensitive duplicate)", "User.UserId", "<absent>", motoID},
			{"CreateUser(case-insensitive duplicate)", "User.UserName", "<absent>", "ALICE"},
			{"CreateUser(invalid name)", "<code>", "ValidationError", ""},
			{"CreateUser(invalid name)", "<status>", "400", "200"},
			{"CreateUser(invalid name)", "User.Arn", "<absent>", `arn:aws:iam::<account#1>:user/bad name!`},
			{"CreateUser(invalid name)", "User.CreateDate", "<absent>", "<time>"},
			{"CreateUser(invalid name)", "User.Path", "<absent>", "/"},
			{"CreateUser(invalid name)", "User.UserId", "<absent>", motoID},
			{"CreateUser(invalid name)", "User.UserName", "<absent>", "bad name!"},
			{"ListUsers", "Users.#", "2", "4"},
			{"ListUsers", "Users.1.Path", "/service/", "/"},
			{"ListUsers", "Users.1.UserName", "svc-ci", "ALICE"},
			{"ListUsers", "Users.2.Path", "<absent>", "/"},
			{"ListUsers", "Users.2.UserName", "<absent>", "bad name!"},
			{"ListUsers", "Users.3.Path", "<absent>", "/service/"},
			{"ListUsers", "Users.3.UserName", "<absent>", "svc-ci"},
		},
	},
	{
		scenario: "iam-access-keys",
		why: "UpdateAccessKey's Status is one of Active | Inactive (IAM API reference, UpdateAccessKey; " +
			"StatusType); any other value fails validation, ValidationError 400. moto stores \"Disabled\", " +
			"which ListAccessKeys then returns",
		diffs: []allowedField{
			{"UpdateAccessKey(bad status)", "<code>", "ValidationError", ""},
			{"UpdateAccessKey(bad status)", "<status>", "400", "200"},
			{"ListAccessKeys(after delete)", "AccessKeyMetadata.0.Status", "Active", "Disabled"},
		},
	},
	{
		scenario: "iam-login-mfa",
		why: "CreateLoginProfile's PasswordResetRequired is stored and returned in LoginProfile " +
			"(IAM API reference, CreateLoginProfile and LoginProfile data type); moto ignores it",
		diffs: []allowedField{
			{"CreateLoginProfile", "LoginProfile.PasswordResetRequired", "true", "false"},
			{"GetLoginProfile", "LoginProfile.PasswordResetRequired", "true", "false"},
		},
	},
	{
		scenario: "iam-groups",
		why:      "IAM group IDs begin with AGPA (IAM User Guide, reference_identifiers.html); moto's are random",
		diffs: []allowedField{
			{"CreateGroup", "Group.GroupId", "<uid#2>", motoID},
			{"CreateGroup(path)", "Group.GroupId", "<uid#3>", motoID},
			{"GetGroup", "Group.GroupId", "<uid#2>", motoID},
		},
	},
	{
		scenario: "iam-credential-report",
		why: "the credential report's first row is the root user, <root_account> (IAM User Guide, " +
			"credential-reports.html, \"Understanding the report format\"); moto has no root row",
		diffs: []allowedField{{"credential report root row", "present", "true", "false"}},
	},
	{
		scenario: "iam-credential-report",
		why: "IAM User Guide, credential-reports.html: password_last_used, password_last_changed and " +
			"password_next_rotation are N/A for a user without a password (not_supported is only for " +
			"the root user; password_next_rotation needs a password policy that requires rotation); " +
			"access_key_N_last_used_region/service are N/A when the user has no such key or it was " +
			"never used (as AccessKeyLastUsed's Region and ServiceName, which moto gets right); moto " +
			"writes not_supported, and a password_last_changed time for users without a password",
		diffs: slices.Concat(
			reportColumns("frank", "N/A", "not_supported", "access_key_1_last_used_region", "access_key_1_last_used_service",
				"access_key_2_last_used_region", "access_key_2_last_used_service", "password_last_used", "password_next_rotation"),
			reportColumns("frank", "N/A", "<time>", "password_last_changed"),
			reportColumns("grace", "N/A", "not_supported", "access_key_1_last_used_region", "access_key_1_last_used_service",
				"access_key_2_last_used_region", "access_key_2_last_used_service", "password_next_rotation"),
			reportColumns("heidi", "N/A", "not_supported", "access_key_1_last_used_region", "access_key_1_last_used_service",
				"access_key_2_last_used_region", "access_key_2_last_used_service", "password_last_used", "password_next_rotation"),
			reportColumns("heidi", "N/A", "<time>", "password_last_changed"),
		),
	},
	{
		scenario: "secretsmanager",
		why: "Secrets Manager answers ResourceNotFoundException with HTTP 400 (API reference, e.g. " +
			"GetSecretValue and DescribeSecret, Errors: \"ResourceNotFoundException ... HTTP Status Code: 400\"); moto uses 404",
		diffs: []allowedField{
			{"GetSecretValue(missing version)", "<status>", "400", "404"},
			{"GetSecretValue(missing)", "<status>", "400", "404"},
			{"DescribeSecret(missing)", "<status>", "400", "404"},
			{"GetResourcePolicy(missing secret)", "<status>", "400", "404"},
			{"GetSecretValue(force deleted)", "<status>", "400", "404"},
		},
	},
	{
		scenario: "secretsmanager",
		why: "PutSecretValue on a secret scheduled for deletion fails with InvalidRequestException (API " +
			"reference, PutSecretValue errors: \"The secret is scheduled for deletion\"); moto adds the " +
			"version, which RestoreSecret then brings back as AWSCURRENT",
		diffs: []allowedField{
			{"PutSecretValue(deleted)", "<code>", "InvalidRequestException", ""},
			{"PutSecretValue(deleted)", "<status>", "400", "200"},
			{"PutSecretValue(deleted)", "VersionId", "<absent>", `<uuid#\d+>`},
			{"GetSecretValue(restored)", "SecretString", `{"v":2}`, `\{"v":4\}`},
			{"GetSecretValue(restored)", "VersionId", "<uuid#2>", `<uuid#\d+>`},
		},
	},
	{
		scenario: "secretsmanager",
		why: "NOT settled by documentation: GetSecretValue says VersionId and VersionStage, when both are " +
			"given, \"must refer to the same secret version\" but not which error a mismatch gets. The " +
			"sandbox answers ResourceNotFoundException (no version has both), 400 like every Secrets " +
			"Manager client error; moto InvalidRequestException with 404. A lead kept open",
		diffs: []allowedField{
			{"GetSecretValue(version and other stage)", "<code>", "ResourceNotFoundException", "InvalidRequestException"},
			{"GetSecretValue(version and other stage)", "<status>", "400", "404"},
		},
	},
	{
		scenario: "secretsmanager",
		why: "a ClientRequestToken outside its documented length (32-64, CreateSecret request " +
			"parameters) fails the service's input validation, which AWS JSON services report as " +
			"ValidationException (Secrets Manager Common Errors: \"The input fails to satisfy the " +
			"constraints specified by an AWS service\", 400); moto reports InvalidParameterException. " +
			"Both are 400; the exact code is the least certain entry here",
		diffs: []allowedField{{"CreateSecret(token too short)", "<code>", "ValidationException", "InvalidParameterException"}},
	},
	{
		scenario: "sts",
		why: "for an IAM user, GetCallerIdentity's Arn is the user's IAM ARN, arn:aws:iam::ACCOUNT:user/NAME " +
			"(STS API reference, GetCallerIdentity example \"called by an IAM user\"); moto answers arn:aws:sts::ACCOUNT:user/moto",
		diffs: []allowedField{{"GetCallerIdentity", "Arn(shape)", "arn:aws:iam::<account>:user", "arn:aws:sts::<account>:user"}},
	},
	{
		scenario: "organizations",
		why: "DescribeAccount with an AccountId that does not match ^\\d{12}$ is InvalidInputException " +
			"(Organizations API reference, DescribeAccount: AccountId pattern; InvalidInputException reason " +
			"INVALID_PATTERN); moto looks the account up and answers AccountNotFoundException",
		diffs: []allowedField{{"DescribeAccount(malformed id)", "<code>", "InvalidInputException", "AccountNotFoundException"}},
	},
	{
		scenario: "organizations",
		why: "NOT settled by documentation: the Account data type documents JoinedMethod as INVITED or " +
			"CREATED without saying which the management account reports. The sandbox says INVITED (what " +
			"real organizations are commonly seen to report; the account was not created by the " +
			"organization), moto CREATED. A lead kept open, not a verdict",
		diffs: []allowedField{{"ListAccounts", "Accounts.0.JoinedMethod", "INVITED", "CREATED"}},
	},
	{
		scenario: "smaller-differences",
		why: "IAM refuses tag keys beginning with aws: (IAM User Guide, \"Tagging IAM resources\", rules for " +
			"tagging: \"You can't create tag keys or values that begin with the text aws:\") and MaxItems below " +
			"1 (IAM API reference, ListUsers: MaxItems \"Valid Range: Minimum value of 1\"); moto accepts both",
		diffs: []allowedField{
			{"TagUser(aws: prefix)", "<code>", "InvalidInput", ""},
			{"TagUser(aws: prefix)", "<status>", "400", "200"},
			{"ListUsers(MaxItems 0)", "<code>", "ValidationError", ""},
			{"ListUsers(MaxItems 0)", "<status>", "400", "200"},
		},
	},
	{
		scenario: "smaller-differences",
		why: "MaxResults below the model's minimum of 1 is refused (Secrets Manager API reference, ListSecrets: " +
			"MaxResults \"Valid Range: Minimum value of 1\"; Organizations API reference, ListAccounts: MaxResults " +
			"\"Valid Range: Minimum value of 1\", InvalidInputException reason MIN_VALUE_EXCEEDED), and so is a " +
			"Secrets Manager tag key beginning with aws: (API reference, TagResource: \"Do not use the aws: prefix " +
			"in your tag names or values because AWS reserves it\"); moto accepts all three",
		diffs: []allowedField{
			{"ListSecrets(MaxResults 0)", "<code>", "ValidationException", ""},
			{"ListSecrets(MaxResults 0)", "<status>", "400", "200"},
			{"TagResource(aws: prefix)", "<code>", "InvalidParameterException", ""},
			{"TagResource(aws: prefix)", "<status>", "400", "200"},
			{"ListAccounts(MaxResults 0)", "<code>", "InvalidInputException", ""},
			{"ListAccounts(MaxResults 0)", "<status>", "400", "200"},
			{"ListAccounts(MaxResults 0)", "Reason", "MIN_VALUE_EXCEEDED", "<absent>"},
		},
	},
	{
		scenario: "kms",
		why: "KeyUsage defaults to ENCRYPT_DECRYPT and KeyMetadata reports it (KMS API reference, CreateKey: " +
			"KeyUsage \"Default: ENCRYPT_DECRYPT\"; KeyMetadata.KeyUsage); moto leaves it empty",
		diffs: []allowedField{
			{"CreateKey", "KeyMetadata.KeyUsage", "ENCRYPT_DECRYPT", ""},
			{"DescribeKey(alias)", "KeyMetadata.KeyUsage", "ENCRYPT_DECRYPT", ""},
			{"DescribeKey(cancelled)", "KeyMetadata.KeyUsage", "ENCRYPT_DECRYPT", ""},
		},
	},
	{
		scenario: "kms",
		why: "GetKeyPolicy returns PolicyName, whose only value is default (KMS API reference, GetKeyPolicy " +
			"response elements); ScheduleKeyDeletion returns KeyState and PendingWindowInDays (API reference, " +
			"ScheduleKeyDeletion response elements); moto omits them",
		diffs: []allowedField{
			{"GetKeyPolicy", "PolicyName", "default", "<absent>"},
			{"ScheduleKeyDeletion", "KeyState", "PendingDeletion", ""},
			{"ScheduleKeyDeletion", "PendingWindowInDays", "7", "<absent>"},
		},
	},
	{
		scenario: "kms",
		why: "a disabled key cannot encrypt (DisabledException) and a key pending deletion cannot either " +
			"(KMSInvalidStateException): KMS Developer Guide, \"Key states of AWS KMS keys\", the key state " +
			"table; moto encrypts with both",
		diffs: []allowedField{
			{"Encrypt(disabled)", "<code>", "DisabledException", ""},
			{"Encrypt(disabled)", "<status>", "400", "200"},
			{"Encrypt(pending deletion)", "<code>", "KMSInvalidStateException", ""},
			{"Encrypt(pending deletion)", "<status>", "400", "200"},
		},
	},
	{
		scenario: "kms",
		why: "PendingWindowInDays is 7 to 30 (KMS API reference, ScheduleKeyDeletion: \"Valid Range: Minimum " +
			"value of 1. Maximum value of 365\" in the model, and \"This value is optional. If you include a " +
			"value, it must be between 7 and 30, inclusive\"); ListKeys' Limit has a minimum of 1 (API " +
			"reference, ListKeys: \"Valid Range: Minimum value of 1\"); moto accepts 6 and 0",
		diffs: []allowedField{
			{"ScheduleKeyDeletion(6 days)", "<code>", "ValidationException", ""},
			{"ScheduleKeyDeletion(6 days)", "<status>", "400", "200"},
			{"ListKeys(limit 0)", "<code>", "ValidationException", ""},
			{"ListKeys(limit 0)", "<status>", "400", "200"},
		},
	},
	{
		scenario: "kms",
		why: "the alias/aws/ prefix is reserved for AWS managed keys (KMS API reference, CreateAlias: " +
			"\"The AliasName value ... cannot begin with alias/aws/\"); moto creates it. The code the sandbox " +
			"answers, NotAuthorizedException, is not settled by the documentation",
		diffs: []allowedField{
			{"CreateAlias(reserved)", "<code>", "NotAuthorizedException", ""},
			{"CreateAlias(reserved)", "<status>", "400", "200"},
		},
	},
}

// motoID matches moto's random IAM user and group IDs.
const motoID = `[a-z0-9]{20}`

// reportColumns lists credential report differences of one user's columns.
func reportColumns(user, sandbox, moto string, cols ...string) []allowedField {
	var out []allowedField
	for _, c := range cols {
		out = append(out, allowedField{"credential report row " + user, c, sandbox, regexp.QuoteMeta(moto)})
	}
	return out
}

// difference is one disagreement between the backends.
type difference struct {
	op, field, sandbox, moto string
}

// compareObservations returns the differences between the backends' observations.
func compareObservations(sb, mo []observation) []difference {
	var diffs []difference
	n := max(len(sb), len(mo))
	for i := 0; i < n; i++ {
		if i >= len(sb) || i >= len(mo) || sb[i].Op != mo[i].Op {
			var s, m string
			if i < len(sb) {
				s = sb[i].Op
			}
			if i < len(mo) {
				m = mo[i].Op
			}
			return append(diffs, difference{op: fmt.Sprintf("#%d", i), field: "<sequence>", sandbox: s, moto: m})
		}
		a, b := sb[i], mo[i]
		if a.Code != b.Code {
			diffs = append(diffs, difference{a.Op, "<code>", a.Code, b.Code})
		}
		if a.Status != b.Status {
			diffs = append(diffs, difference{a.Op, "<status>", strconv.Itoa(a.Status), strconv.Itoa(b.Status)})
		}
		keys := map[string]bool{}
		for k := range a.Fields {
			keys[k] = true
		}
		for k := range b.Fields {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, aok := a.Fields[k]
			bv, bok := b.Fields[k]
			if av != bv || aok != bok {
				if !aok {
					av = "<absent>"
				}
				if !bok {
					bv = "<absent>"
				}
				diffs = append(diffs, difference{a.Op, k, av, bv})
			}
		}
	}
	return diffs
}

func TestDifferentialSandboxGolden(t *testing.T) {
	got := map[string][]observation{}
	for _, sc := range diffScenarios {
		got[sc.name] = runSandboxScenario(t, sc)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "differential", "sandbox.golden.json")
	if *updateDifferential {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if d := cmp.Diff(string(want), string(b)); d != "" {
		t.Errorf("sandbox observations differ from %s (-want +got; -update rewrites):\n%s", path, d)
	}
}

func TestDifferentialMoto(t *testing.T) {
	url := mototest.Start(t)
	for _, sc := range diffScenarios {
		t.Run(sc.name, func(t *testing.T) {
			resetMoto(t, url)
			mo := sc.run(context.Background(), newDiffClients("moto", mototest.Config(url), nil))
			sb := runSandboxScenario(t, sc)
			for _, d := range unexplained(t, sc.name, compareObservations(sb, mo)) {
				t.Errorf("%s %s: sandbox %q, moto %q", d.op, d.field, d.sandbox, d.moto)
			}
		})
	}
}

// unexplained returns the differences no entry of the differential
// allowlist for the scenario accounts for, and reports entries that
// account for nothing.
func unexplained(t *testing.T, scenario string, diffs []difference) []difference {
	t.Helper()
	return unexplainedIn(t, differentialAllowlist, scenario, diffs)
}

// unexplainedIn is unexplained over the given allowlist.
func unexplainedIn(t *testing.T, list []allowedDiff, scenario string, diffs []difference) []difference {
	t.Helper()
	used := map[[2]int]bool{}
	var rest []difference
	for _, d := range diffs {
		found := false
		for i, a := range list {
			if a.scenario != scenario {
				continue
			}
			for j, f := range a.diffs {
				if f.op == d.op && f.field == d.field && f.sandbox == d.sandbox && regexp.MustCompile("^(?:"+f.moto+")$").MatchString(d.moto) {
					used[[2]int{i, j}] = true
					found = true
				}
			}
		}
		if !found {
			rest = append(rest, d)
		}
	}
	for i, a := range list {
		if a.scenario != scenario {
			continue
		}
		for j, f := range a.diffs {
			if !used[[2]int{i, j}] {
				t.Errorf("allowlist entry (%s) no longer matches a difference: %s %s sandbox %q moto %q; remove or update it", a.why, f.op, f.field, f.sandbox, f.moto)
			}
		}
	}
	return rest
}
