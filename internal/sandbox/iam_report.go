package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Credential report, account summary and authorization details.

const (
	// credentialReportMaxAge is how long IAM serves a report before
	// GenerateCredentialReport builds a new one.
	credentialReportMaxAge = 4 * time.Hour
)

// credentialReportHeader is the report's header line, as IAM writes it.
const credentialReportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"

// reportTime formats a time as the credential report does: ISO 8601 with
// an explicit +00:00 offset.
func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// keyColumns renders the five columns of one access-key slot.
func keyColumns(k *AccessKey) []string {
	if k == nil {
		return []string{"false", "N/A", "N/A", "N/A", "N/A"}
	}
	cols := []string{boolStr(k.Status == "Active"), reportTime(k.CreateDate), "N/A", "N/A", "N/A"}
	if k.LastUsed != nil {
		cols[2] = reportTime(*k.LastUsed)
		cols[3] = orNA(k.LastUsedRegion)
		cols[4] = orNA(k.LastUsedService)
	}
	return cols
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// keySlots returns a principal's first two keys ordered by creation.
func keySlots(keys []*AccessKey) [2]*AccessKey {
	ks := slices.Clone(keys)
	slices.SortStableFunc(ks, func(a, b *AccessKey) int { return a.CreateDate.Compare(b.CreateDate) })
	var slots [2]*AccessKey
	for i := 0; i < len(ks) && i < 2; i++ {
		slots[i] = ks[i]
	}
	return slots
}

// buildCredentialReport renders the account's credential report CSV: the
// root user first, then every IAM user by name.
func buildCredentialReport(a *Account) []byte {
	var b bytes.Buffer
	b.WriteString(credentialReportHeader + "\n")
	w := csv.NewWriter(&b)
	certs := []string{"false", "N/A", "false", "N/A"}

	root := []string{"<root_account>", "arn:aws:iam::" + a.ID + ":root", reportTime(a.Created), "not_supported", "no_information", "not_supported", "not_supported", boolStr(a.Root.MFA)}
	if a.Root.PasswordLastUsed != nil {
		root[4] = reportTime(*a.Root.PasswordLastUsed)
	}
	slots := keySlots(a.Root.Keys)
	root = append(append(append(root, keyColumns(slots[0])...), keyColumns(slots[1])...), certs...)
	_ = w.Write(root)

	for _, u := range a.sortedUsers() {
		row := []string{u.Name, u.ARN, reportTime(u.CreateDate), boolStr(u.Login != nil), "N/A", "N/A", "N/A", boolStr(len(u.MFADevices) > 0)}
		switch {
		case u.PasswordLastUsed != nil:
			row[4] = reportTime(*u.PasswordLastUsed)
		case u.Login != nil:
			row[4] = "no_information"
		}
		if u.Login != nil {
			row[5] = reportTime(u.Login.CreateDate)
			row[6] = passwordNextRotation(a, u.Login.CreateDate)
		}
		slots := keySlots(u.Keys)
		row = append(append(append(row, keyColumns(slots[0])...), keyColumns(slots[1])...), certColumns(u.SigningCerts)...)
		_ = w.Write(row)
	}
	w.Flush()
	// IAM's report has no newline after the last row.
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type iamGenerateCredentialReportResult struct {
	State       string `xml:"State"`
	Description string `xml:"Description,omitempty"`
}

// iamGenerateCredentialReport starts a report unless one less than four
// hours old exists, in which case that report stays the one served.
func iamGenerateCredentialReport(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	rep := r.acct.Report
	if rep != nil {
		if r.now.Before(rep.ReadyAt) {
			return iamGenerateCredentialReportResult{State: "INPROGRESS", Description: "Report generation in progress"}, nil
		}
		if r.now.Sub(rep.GeneratedAt) < credentialReportMaxAge {
			return iamGenerateCredentialReportResult{State: "COMPLETE"}, nil
		}
	}
	desc := "No report exists. Starting a new report generation task"
	if rep != nil {
		desc = "Report is older than 4 hours. Starting a new report generation task"
	}
	r.acct.Report = &CredentialReport{GeneratedAt: r.now, ReadyAt: r.now.Add(r.srv.ReportBuildTime()), Content: buildCredentialReport(r.acct)}
	return iamGenerateCredentialReportResult{State: "STARTED", Description: desc}, nil
}

type iamGetCredentialReportResult struct {
	Content       string `xml:"Content"`
	ReportFormat  string `xml:"ReportFormat"`
	GeneratedTime string `xml:"GeneratedTime"`
}

func iamGetCredentialReport(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	rep := r.acct.Report
	switch {
	case rep == nil:
		return nil, errf(410, "ReportNotPresent", "Credential report not present. Use GenerateCredentialReport to generate a report.")
	case r.now.Before(rep.ReadyAt):
		return nil, errf(404, "ReportInProgress", "Credential report is still being generated.")
	}
	return iamGetCredentialReportResult{
		Content: base64.StdEncoding.EncodeToString(rep.Content), ReportFormat: "text/csv", GeneratedTime: xmlTime(rep.GeneratedAt),
	}, nil
}

// Account summary.

type xmlSummaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type iamGetAccountSummaryResult struct {
	SummaryMap []xmlSummaryEntry `xml:"SummaryMap>entry"`
}

func iamGetAccountSummary(r *request) (any, error) {
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	a := r.acct
	mfa := 0
	for _, u := range a.Users {
		mfa += len(u.MFADevices)
	}
	if a.Root.MFA {
		mfa++
	}
	b01 := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	entries := []xmlSummaryEntry{
		{"Users", len(a.Users)}, {"UsersQuota", usersQuota},
		{"Groups", len(a.Groups)}, {"GroupsQuota", groupsQuota},
		{"GroupsPerUserQuota", groupsPerUserQuota},
		{"AccessKeysPerUserQuota", accessKeysPerUserQuota},
		{"AccountAccessKeysPresent", b01(len(a.Root.Keys) > 0)},
		{"AccountMFAEnabled", b01(a.Root.MFA)},
		{"AccountPasswordPresent", 1},
		{"AccountSigningCertificatesPresent", 0},
		{"SigningCertificatesPerUserQuota", 2},
		{"MFADevices", mfa}, {"MFADevicesInUse", mfa},
		{"Roles", len(a.Roles)}, {"RolesQuota", 1000},
		{"InstanceProfiles", 0}, {"InstanceProfilesQuota", 1000},
		{"Policies", 0}, {"PoliciesQuota", 1500},
		{"PolicySizeQuota", 6144}, {"PolicyVersionsInUse", 0}, {"PolicyVersionsInUseQuota", 10000},
		{"VersionsPerPolicyQuota", 5},
		{"AttachedPoliciesPerUserQuota", 10}, {"AttachedPoliciesPerGroupQuota", 10}, {"AttachedPoliciesPerRoleQuota", 10},
		{"UserPolicySizeQuota", 2048}, {"GroupPolicySizeQuota", 5120}, {"RolePolicySizeQuota", 10240},
		{"AssumeRolePolicySizeQuota", 2048},
		{"ServerCertificates", 0}, {"ServerCertificatesQuota", 20},
		{"Providers", 0},
		{"GlobalEndpointTokenVersion", 1},
	}
	return iamGetAccountSummaryResult{SummaryMap: entries}, nil
}

// Authorization details.

type xmlUserDetail struct {
	Path                    string              `xml:"Path"`
	UserName                string              `xml:"UserName"`
	UserID                  string              `xml:"UserId"`
	Arn                     string              `xml:"Arn"`
	CreateDate              string              `xml:"CreateDate"`
	UserPolicyList          []xmlInlinePolicy   `xml:"UserPolicyList>member"`
	GroupList               []string            `xml:"GroupList>member"`
	AttachedManagedPolicies []xmlAttachedPolicy `xml:"AttachedManagedPolicies>member"`
	Tags                    *xmlTagList         `xml:"Tags"`
}

type xmlGroupDetail struct {
	xmlGroup
	GroupPolicyList         []xmlInlinePolicy   `xml:"GroupPolicyList>member"`
	AttachedManagedPolicies []xmlAttachedPolicy `xml:"AttachedManagedPolicies>member"`
}

type xmlRoleDetail struct {
	Path                     string              `xml:"Path"`
	RoleName                 string              `xml:"RoleName"`
	RoleID                   string              `xml:"RoleId"`
	Arn                      string              `xml:"Arn"`
	CreateDate               string              `xml:"CreateDate"`
	AssumeRolePolicyDocument string              `xml:"AssumeRolePolicyDocument"`
	RolePolicyList           []xmlInlinePolicy   `xml:"RolePolicyList>member"`
	AttachedManagedPolicies  []xmlAttachedPolicy `xml:"AttachedManagedPolicies>member"`
}

// xmlInlinePolicy is an inline policy in GetAccountAuthorizationDetails.
type xmlInlinePolicy struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type xmlManagedPolicyDetail struct {
	xmlPolicy
	PolicyVersionList []xmlPolicyVersion `xml:"PolicyVersionList>member"`
}

type iamGetAccountAuthorizationDetailsResult struct {
	UserDetailList  []xmlUserDetail          `xml:"UserDetailList>member"`
	GroupDetailList []xmlGroupDetail         `xml:"GroupDetailList>member"`
	RoleDetailList  []xmlRoleDetail          `xml:"RoleDetailList>member"`
	Policies        []xmlManagedPolicyDetail `xml:"Policies>member"`
	IsTruncated     bool                     `xml:"IsTruncated"`
	Marker          string                   `xml:"Marker,omitempty"`
}

// policyLists renders attachments as GetAccountAuthorizationDetails lists them.
func (r *request) policyLists(a Attachments) ([]xmlInlinePolicy, []xmlAttachedPolicy) {
	var inline []xmlInlinePolicy
	for _, n := range a.inlineNames() {
		inline = append(inline, xmlInlinePolicy{PolicyName: n, PolicyDocument: url.QueryEscape(a.Inline[n])})
	}
	var attached []xmlAttachedPolicy
	for _, arn := range a.Attached {
		if mp, ok := r.managedPolicy(arn); ok {
			attached = append(attached, xmlAttachedPolicy{PolicyName: mp.Name, PolicyArn: arn})
		}
	}
	return inline, attached
}

var entityTypes = []string{"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}

// trustPolicy renders a role's trust policy URL-encoded, as IAM returns
// policy documents.
func trustPolicy(role *Role) string { return url.QueryEscape(role.trustDocument()) }

func iamGetAccountAuthorizationDetails(r *request) (any, error) {
	filter := r.memberList("Filter", "")
	want := map[string]bool{}
	for i, f := range filter {
		if !slices.Contains(entityTypes, f) {
			return nil, validationError(f, "filter."+itoa(i+1)+".member", "Member must satisfy enum value set: ["+strings.Join(entityTypes, ", ")+"]")
		}
		want[f] = true
	}
	all := len(filter) == 0
	if err := r.requireAdmin("*"); err != nil {
		return nil, err
	}
	// One combined, stably ordered list: users, then groups, then roles,
	// then customer-managed policies.
	var items []any
	if all || want["User"] {
		for _, u := range r.acct.sortedUsers() {
			items = append(items, u)
		}
	}
	if all || want["Group"] {
		for _, g := range r.acct.sortedGroups(nil) {
			items = append(items, g)
		}
	}
	if all || want["Role"] {
		var roles []*Role
		for _, ro := range r.acct.Roles {
			roles = append(roles, ro)
		}
		sortByLower(roles, func(ro *Role) string { return ro.Name })
		for _, ro := range roles {
			items = append(items, ro)
		}
	}
	if all || want["LocalManagedPolicy"] {
		for _, arn := range sortedKeys(r.acct.Policies) {
			items = append(items, r.acct.Policies[arn])
		}
	}
	start, end, next, err := r.pageParams(len(items))
	if err != nil {
		return nil, err
	}
	out := iamGetAccountAuthorizationDetailsResult{IsTruncated: next != "", Marker: next}
	for _, it := range items[start:end] {
		switch v := it.(type) {
		case *User:
			d := xmlUserDetail{Path: v.Path, UserName: v.Name, UserID: v.ID, Arn: v.ARN, CreateDate: xmlTime(v.CreateDate), GroupList: slices.Clone(v.Groups)}
			d.Tags = optionalTags(v.Tags)
			d.UserPolicyList, d.AttachedManagedPolicies = r.policyLists(v.Policies)
			out.UserDetailList = append(out.UserDetailList, d)
		case *Group:
			d := xmlGroupDetail{xmlGroup: groupXML(v)}
			d.GroupPolicyList, d.AttachedManagedPolicies = r.policyLists(v.Policies)
			out.GroupDetailList = append(out.GroupDetailList, d)
		case *Role:
			path := v.Path
			if path == "" {
				path = "/"
			}
			d := xmlRoleDetail{
				Path: path, RoleName: v.Name, RoleID: v.ID, Arn: v.ARN, CreateDate: xmlTime(v.CreateDate), AssumeRolePolicyDocument: trustPolicy(v),
			}
			d.RolePolicyList, d.AttachedManagedPolicies = r.policyLists(v.Policies)
			out.RoleDetailList = append(out.RoleDetailList, d)
		case *ManagedPolicy:
			d := xmlManagedPolicyDetail{xmlPolicy: r.policyXML(v)}
			for _, pv := range v.Versions {
				d.PolicyVersionList = append(d.PolicyVersionList, xmlPolicyVersion{Document: url.QueryEscape(pv.Document), VersionID: pv.ID, IsDefaultVersion: pv.IsDefault, CreateDate: xmlTime(pv.CreateDate)})
			}
			out.Policies = append(out.Policies, d)
		}
	}
	return out, nil
}
