package sandbox

import (
	"bytes"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Secrets Manager (JSON 1.1, target prefix "secretsmanager."). Secrets live
// per account and region in Account.Secrets. A secret's DeletedDate holds
// the date it is scheduled to be purged; purged secrets disappear lazily.

func secretsActions() map[string]handler {
	return map[string]handler{
		"CreateSecret":             smCreateSecret,
		"PutSecretValue":           smPutSecretValue,
		"GetSecretValue":           smGetSecretValue,
		"DescribeSecret":           smDescribeSecret,
		"ListSecrets":              smListSecrets,
		"ListSecretVersionIds":     smListSecretVersionIDs,
		"UpdateSecretVersionStage": smUpdateSecretVersionStage,
		"PutResourcePolicy":        smPutResourcePolicy,
		"GetResourcePolicy":        smGetResourcePolicy,
		"DeleteResourcePolicy":     smDeleteResourcePolicy,
		"TagResource":              smTagResource,
		"UntagResource":            smUntagResource,
		"DeleteSecret":             smDeleteSecret,
		"RestoreSecret":            smRestoreSecret,
		"RotateSecret":             smRotateSecret,
	}
}

const (
	smCurrent  = "AWSCURRENT"
	smPrevious = "AWSPREVIOUS"
	smPending  = "AWSPENDING"

	// smMaxVersions is how many versions a secret keeps; beyond it Secrets
	// Manager removes the oldest versions without staging labels.
	smMaxVersions = 100
	// smMaxLabels is the quota of staging labels across a secret's versions.
	smMaxLabels = 20
)

const smNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+=.@!-"

func smErr(code, format string, args ...any) error { return errf(400, code, format, args...) }

type smTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func smTagsOut(tags []Tag) []smTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]smTag, len(tags))
	for i, t := range tags {
		out[i] = smTag{Key: t.Key, Value: t.Value}
	}
	return out
}

func smMergeTags(tags []Tag, in []smTag) []Tag {
	for _, t := range in {
		found := false
		for i := range tags {
			if tags[i].Key == t.Key {
				tags[i].Value = t.Value
				found = true
			}
		}
		if !found {
			tags = append(tags, Tag{Key: t.Key, Value: t.Value})
		}
	}
	return tags
}

// smRegionSecrets returns the secrets of an account in a region, purging
// those whose recovery window has ended.
func smRegionSecrets(r *request, a *Account, region string) map[string]*Secret {
	m := a.Secrets[region]
	if m == nil {
		m = map[string]*Secret{}
		a.Secrets[region] = m
	}
	for name, sec := range m {
		if sec.DeletedDate != nil && !r.now.Before(*sec.DeletedDate) {
			delete(m, name)
		}
	}
	return m
}

// smLookup finds a secret by name, full ARN or partial ARN (without the
// random suffix). An ARN may name another account's secret.
func smLookup(r *request, id string) (*Secret, *Account, error) {
	notFound := smErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	if id == "" {
		return nil, nil, smErr("InvalidParameterException", "You must specify a SecretId.")
	}
	owner, region := r.acct, r.region
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 7)
		if len(parts) != 7 || parts[2] != "secretsmanager" || parts[5] != "secret" {
			return nil, nil, smErr("InvalidParameterException", "The parameter SecretId is not a valid ARN.")
		}
		region = parts[3]
		owner = r.st.Accounts[parts[4]]
		if owner == nil || region != r.region {
			return nil, nil, notFound
		}
		for _, sec := range smRegionSecrets(r, owner, region) {
			if sec.ARN == id || (len(sec.ARN) > 7 && sec.ARN[:len(sec.ARN)-7] == id) {
				return sec, owner, nil
			}
		}
		return nil, nil, notFound
	}
	sec := smRegionSecrets(r, owner, region)[id]
	if sec == nil {
		return nil, nil, notFound
	}
	return sec, owner, nil
}

// smGet finds a secret (the call was authorized before the handler ran);
// live requires it not be scheduled for deletion.
func smGet(r *request, id string, live bool) (*Secret, error) {
	sec, _, err := smLookup(r, id)
	if err != nil {
		return nil, err
	}
	if live && sec.DeletedDate != nil {
		return nil, smErr("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	}
	return sec, nil
}

func smValidToken(tok string) error {
	if tok != "" && (len(tok) < 32 || len(tok) > 64) {
		return smErr("ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	return nil
}

func smValidValue(str *string, bin []byte, required bool) error {
	switch {
	case str != nil && bin != nil:
		return smErr("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	case required && str == nil && bin == nil:
		return smErr("InvalidParameterException", "You must provide either SecretString or SecretBinary.")
	case str != nil && len(*str) > 65536, len(bin) > 65536:
		return smErr("InvalidParameterException", "The secret value exceeds the maximum size of 65536 bytes.")
	}
	return nil
}

func smSameValue(v *SecretVersion, str *string, bin []byte) bool {
	if (v.String == nil) != (str == nil) || (v.Binary == nil) != (bin == nil) {
		return false
	}
	if str != nil && *v.String != *str {
		return false
	}
	return bytes.Equal(v.Binary, bin)
}

func smHolder(sec *Secret, stage string) *SecretVersion {
	for _, v := range sec.Versions {
		for _, s := range v.Stages {
			if s == stage {
				return v
			}
		}
	}
	return nil
}

func smHasStage(v *SecretVersion, stage string) bool {
	for _, s := range v.Stages {
		if s == stage {
			return true
		}
	}
	return false
}

func smRemoveStage(v *SecretVersion, stage string) {
	kept := v.Stages[:0]
	for _, s := range v.Stages {
		if s != stage {
			kept = append(kept, s)
		}
	}
	v.Stages = kept
}

// smAttach moves a staging label to v. Moving AWSCURRENT moves AWSPREVIOUS
// to the version AWSCURRENT leaves, as Secrets Manager does.
func smAttach(sec *Secret, stage string, v *SecretVersion) {
	old := smHolder(sec, stage)
	if old == v {
		return
	}
	if old != nil {
		smRemoveStage(old, stage)
		if stage == smCurrent {
			smAttach(sec, smPrevious, old)
		}
	}
	v.Stages = append(v.Stages, stage)
}

func smLabelCount(sec *Secret) int {
	n := 0
	for _, v := range sec.Versions {
		n += len(v.Stages)
	}
	return n
}

// smPrune drops the oldest versions without staging labels beyond the
// quota, but none created in the last 24 hours: "Secrets Manager removes
// unlabeled versions when there are more than 100, but it does not remove
// versions created less than 24 hours ago" (Secrets Manager quotas).
func smPrune(sec *Secret, now time.Time) {
	if len(sec.Versions) <= smMaxVersions {
		return
	}
	var deprecated []*SecretVersion
	for _, v := range sec.Versions {
		if len(v.Stages) == 0 && now.Sub(v.CreatedDate) >= 24*time.Hour {
			deprecated = append(deprecated, v)
		}
	}
	sort.Slice(deprecated, func(i, j int) bool { return deprecated[i].CreatedDate.Before(deprecated[j].CreatedDate) })
	for _, v := range deprecated {
		if len(sec.Versions) <= smMaxVersions {
			return
		}
		delete(sec.Versions, v.ID)
	}
}

// smPutVersion stores a new version with ClientRequestToken semantics: the
// same token with the same value is a no-op returning the existing version;
// the same token with another value is ResourceExistsException.
func smPutVersion(r *request, sec *Secret, token string, str *string, bin []byte, stages []string) (*SecretVersion, error) {
	if token == "" {
		token = newRequestID()
	}
	if v := sec.Versions[token]; v != nil {
		if smSameValue(v, str, bin) {
			return v, nil
		}
		return nil, smErr("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
	}
	if len(stages) == 0 {
		stages = []string{smCurrent}
	}
	labels := smLabelCount(sec)
	for _, st := range stages {
		if st == "" || len(st) > 256 {
			return nil, smErr("InvalidParameterException", "Invalid staging label %q.", st)
		}
		if smHolder(sec, st) == nil {
			labels++
		}
	}
	if labels > smMaxLabels {
		return nil, smErr("LimitExceededException", "You have exceeded the maximum number of staging labels (%d) for this secret.", smMaxLabels)
	}
	key, err := smEncryptionKey(r, sec)
	if err != nil {
		return nil, err
	}
	v := &SecretVersion{ID: token, CreatedDate: r.now, KMSKeyARN: key.ARN}
	if str != nil {
		s := *str
		v.String = &s
	}
	if bin != nil {
		v.Binary = append([]byte{}, bin...)
	}
	sec.Versions[token] = v
	for _, st := range stages {
		smAttach(sec, st, v)
	}
	sec.LastChangedDate = r.now
	smPrune(sec, r.now)
	return v, nil
}

func smRandSuffix() string {
	return randFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 6)
}

// --- CreateSecret ---

type smCreateSecretInput struct {
	Name               string
	ClientRequestToken string
	Description        string
	KmsKeyId           string
	SecretString       *string
	SecretBinary       []byte
	Tags               []smTag
}

type smARNNameVersion struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId,omitempty"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

func smCreateSecret(r *request) (any, error) {
	var in smCreateSecretInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.Name == "" || len(in.Name) > 512 || strings.Trim(in.Name, smNameChars) != "" {
		return nil, smErr("InvalidParameterException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if err := smValidToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	if err := smValidValue(in.SecretString, in.SecretBinary, false); err != nil {
		return nil, err
	}
	secrets := smRegionSecrets(r, r.acct, r.region)
	if sec := secrets[in.Name]; sec != nil {
		if sec.DeletedDate != nil {
			return nil, smErr("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		// A retried CreateSecret with the same token and value is a no-op.
		if v := sec.Versions[in.ClientRequestToken]; in.ClientRequestToken != "" && v != nil && smSameValue(v, in.SecretString, in.SecretBinary) {
			return smARNNameVersion{ARN: sec.ARN, Name: sec.Name, VersionId: v.ID}, nil
		}
		return nil, smErr("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	sec := &Secret{
		ARN:  "arn:aws:secretsmanager:" + r.region + ":" + r.acct.ID + ":secret:" + in.Name + "-" + smRandSuffix(),
		Name: in.Name, Description: in.Description, KmsKeyID: in.KmsKeyId,
		CreatedDate: r.now, LastChangedDate: r.now,
		Versions: map[string]*SecretVersion{},
	}
	if err := smCheckTags(in.Tags); err != nil {
		return nil, err
	}
	sec.Tags = smMergeTags(nil, in.Tags)
	out := smARNNameVersion{ARN: sec.ARN, Name: sec.Name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v, err := smPutVersion(r, sec, in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		if err != nil {
			return nil, err
		}
		out.VersionId = v.ID
	}
	secrets[in.Name] = sec
	return out, nil
}

// --- PutSecretValue ---

type smPutSecretValueInput struct {
	SecretId           string
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
}

func smPutSecretValue(r *request) (any, error) {
	var in smPutSecretValueInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := smValidToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	if err := smValidValue(in.SecretString, in.SecretBinary, true); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	v, err := smPutVersion(r, sec, in.ClientRequestToken, in.SecretString, in.SecretBinary, in.VersionStages)
	if err != nil {
		return nil, err
	}
	return smARNNameVersion{ARN: sec.ARN, Name: sec.Name, VersionId: v.ID, VersionStages: append([]string{}, v.Stages...)}, nil
}

// --- GetSecretValue ---

type smGetSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

type smGetSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   epoch    `json:"CreatedDate"`
}

func smGetSecretValue(r *request) (any, error) {
	var in smGetSecretValueInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	var v *SecretVersion
	switch {
	case in.VersionId != "":
		v = sec.Versions[in.VersionId]
		if v == nil || (in.VersionStage != "" && !smHasStage(v, in.VersionStage)) {
			return nil, smErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", in.VersionId)
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = smCurrent
		}
		v = smHolder(sec, stage)
		if v == nil {
			return nil, smErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
	}
	if err := smDecryptionKey(r, sec, v); err != nil {
		return nil, err
	}
	day := r.now.Truncate(24 * time.Hour)
	sec.LastAccessedDate = &day
	return smGetSecretValueOutput{
		ARN: sec.ARN, Name: sec.Name, VersionId: v.ID, SecretString: v.String, SecretBinary: v.Binary,
		VersionStages: append([]string{}, v.Stages...), CreatedDate: epoch(v.CreatedDate),
	}, nil
}

// --- DescribeSecret / ListSecrets ---

type smSecretIDInput struct {
	SecretId string
}

type smDescription struct {
	ARN                string              `json:"ARN"`
	Name               string              `json:"Name"`
	Description        string              `json:"Description,omitempty"`
	KmsKeyId           string              `json:"KmsKeyId,omitempty"`
	RotationEnabled    bool                `json:"RotationEnabled,omitempty"`
	RotationLambdaARN  string              `json:"RotationLambdaARN,omitempty"`
	RotationRules      *smRotationRules    `json:"RotationRules,omitempty"`
	NextRotationDate   *epoch              `json:"NextRotationDate,omitempty"`
	LastRotatedDate    *epoch              `json:"LastRotatedDate,omitempty"`
	LastChangedDate    *epoch              `json:"LastChangedDate,omitempty"`
	LastAccessedDate   *epoch              `json:"LastAccessedDate,omitempty"`
	DeletedDate        *epoch              `json:"DeletedDate,omitempty"`
	Tags               []smTag             `json:"Tags,omitempty"`
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
	// SecretVersionsToStages is ListSecrets' name for VersionIdsToStages.
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	CreatedDate            epoch               `json:"CreatedDate"`
	PrimaryRegion          string              `json:"PrimaryRegion,omitempty"`
}

func smEpochPtr(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	e := epoch(*t)
	return &e
}

// smDescribe builds a secret's description. Versions without staging labels
// are deprecated and not listed, as AWS documents.
func smDescribe(sec *Secret) smDescription {
	stages := map[string][]string{}
	for id, v := range sec.Versions {
		if len(v.Stages) > 0 {
			stages[id] = append([]string{}, v.Stages...)
		}
	}
	changed := sec.LastChangedDate
	return smDescription{
		ARN: sec.ARN, Name: sec.Name, Description: sec.Description, KmsKeyId: sec.KmsKeyID,
		RotationEnabled: sec.RotationEnabled, RotationLambdaARN: sec.RotationLambdaARN,
		LastRotatedDate: smEpochPtr(sec.LastRotatedDate), LastChangedDate: smEpochPtr(&changed),
		LastAccessedDate: smEpochPtr(sec.LastAccessedDate), DeletedDate: smEpochPtr(sec.DeletedDate),
		Tags: smTagsOut(sec.Tags), VersionIdsToStages: stages, CreatedDate: epoch(sec.CreatedDate),
		RotationRules: smRulesOut(sec), NextRotationDate: smEpochPtr(smNextRotation(sec)),
	}
}

func smDescribeSecret(r *request) (any, error) {
	var in smSecretIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, false)
	if err != nil {
		return nil, err
	}
	d := smDescribe(sec)
	d.PrimaryRegion = r.region
	return d, nil
}

type smFilter struct {
	Key    string
	Values []string
}

type smListSecretsInput struct {
	MaxResults             *int
	NextToken              string
	Filters                []smFilter
	IncludePlannedDeletion bool
	SortOrder              string
}

type smListSecretsOutput struct {
	SecretList []smDescription `json:"SecretList"`
	NextToken  string          `json:"NextToken,omitempty"`
}

// smPage slices n items by an opaque token and a maximum. maxResults is
// nil when the request gives none; the model's minimum is 1, so an
// explicit 0 is refused.
func smPage(n int, token string, maxResults *int, limit int) (start, end int, next string, err error) {
	max := limit
	if maxResults != nil {
		max = *maxResults
	}
	if max < 1 || max > limit {
		return 0, 0, "", smErr("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", max, limit)
	}
	if token != "" {
		b, derr := base64.RawURLEncoding.DecodeString(token)
		i, perr := strconv.Atoi(strings.TrimPrefix(string(b), "sm:"))
		if derr != nil || perr != nil || !strings.HasPrefix(string(b), "sm:") || i < 0 || i > n {
			return 0, 0, "", smErr("InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = i
	}
	end = start + max
	if end >= n {
		return start, n, "", nil
	}
	return start, end, base64.RawURLEncoding.EncodeToString([]byte("sm:" + strconv.Itoa(end))), nil
}

var smFilterKeys = map[string]bool{"description": true, "name": true, "tag-key": true, "tag-value": true, "primary-region": true, "owning-service": true, "all": true}

// smFilterMatch applies one filter: any of its values must match; a value
// starting with '!' matches secrets that do not match the rest.
func smFilterMatch(f smFilter, sec *Secret, region string) bool {
	for _, val := range f.Values {
		neg := strings.HasPrefix(val, "!")
		val = strings.TrimPrefix(val, "!")
		var attrs []string
		fold := false
		switch f.Key {
		case "name":
			attrs = []string{sec.Name}
		case "description":
			// Words of the value match words of the description, each
			// as a prefix, in any order, not case-sensitive ("My
			// Description" matches "Description of my secret").
			if smWordsMatch(val, sec.Description) != neg {
				return true
			}
			continue
		case "tag-key":
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Key)
			}
		case "tag-value":
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Value)
			}
		case "primary-region":
			attrs = []string{region}
		case "all":
			attrs, fold = append(strings.Fields(sec.Description), sec.Name), true
			for _, t := range sec.Tags {
				attrs = append(attrs, t.Key, t.Value)
			}
		}
		hit := false
		for _, a := range attrs {
			if fold {
				a, val = strings.ToLower(a), strings.ToLower(val)
			}
			if strings.HasPrefix(a, val) {
				hit = true
			}
		}
		if hit != neg {
			return true
		}
	}
	return false
}

// smWordsMatch reports whether every word of val is the start of a word of
// text, ignoring case.
func smWordsMatch(val, text string) bool {
	words := strings.Fields(strings.ToLower(text))
	want := strings.Fields(strings.ToLower(val))
	if len(want) == 0 {
		return false
	}
	for _, w := range want {
		found := false
		for _, t := range words {
			if strings.HasPrefix(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func smListSecrets(r *request) (any, error) {
	var in smListSecretsInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	for _, f := range in.Filters {
		if !smFilterKeys[f.Key] {
			return nil, smErr("ValidationException", "1 validation error detected: Value '%s' at 'filters.member.key' failed to satisfy constraint: Member must satisfy enum value set: [all, description, name, tag-key, tag-value, primary-region, owning-service]", f.Key)
		}
		if len(f.Values) < 1 || len(f.Values) > 10 {
			return nil, smErr("ValidationException", "1 validation error detected: Value at 'filters.member.values' failed to satisfy constraint: Member must have length between 1 and 10")
		}
	}
	if in.SortOrder != "" && in.SortOrder != "asc" && in.SortOrder != "desc" {
		return nil, smErr("ValidationException", "1 validation error detected: Value '%s' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]", in.SortOrder)
	}
	var list []*Secret
	for _, sec := range smRegionSecrets(r, r.acct, r.region) {
		if sec.DeletedDate != nil && !in.IncludePlannedDeletion {
			continue
		}
		ok := true
		for _, f := range in.Filters {
			ok = ok && smFilterMatch(f, sec, r.region)
		}
		if ok {
			list = append(list, sec)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if in.SortOrder == "desc" {
			a, b = b, a
		}
		if !a.CreatedDate.Equal(b.CreatedDate) {
			return a.CreatedDate.Before(b.CreatedDate)
		}
		return a.Name < b.Name
	})
	start, end, next, err := smPage(len(list), in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := smListSecretsOutput{SecretList: []smDescription{}, NextToken: next}
	for _, sec := range list[start:end] {
		d := smDescribe(sec)
		d.SecretVersionsToStages, d.VersionIdsToStages = d.VersionIdsToStages, nil
		d.PrimaryRegion = r.region
		out.SecretList = append(out.SecretList, d)
	}
	return out, nil
}

// --- ListSecretVersionIds ---

type smListVersionsInput struct {
	SecretId          string
	MaxResults        *int
	NextToken         string
	IncludeDeprecated bool
}

type smVersionEntry struct {
	VersionId     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages,omitempty"`
	CreatedDate   epoch    `json:"CreatedDate"`
}

type smListVersionsOutput struct {
	ARN       string           `json:"ARN"`
	Name      string           `json:"Name"`
	Versions  []smVersionEntry `json:"Versions"`
	NextToken string           `json:"NextToken,omitempty"`
}

func smListSecretVersionIDs(r *request) (any, error) {
	var in smListVersionsInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, false)
	if err != nil {
		return nil, err
	}
	var vs []*SecretVersion
	for _, v := range sec.Versions {
		if len(v.Stages) > 0 || in.IncludeDeprecated {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].CreatedDate.Equal(vs[j].CreatedDate) {
			return vs[i].CreatedDate.After(vs[j].CreatedDate)
		}
		return vs[i].ID < vs[j].ID
	})
	start, end, next, err := smPage(len(vs), in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	out := smListVersionsOutput{ARN: sec.ARN, Name: sec.Name, Versions: []smVersionEntry{}, NextToken: next}
	for _, v := range vs[start:end] {
		out.Versions = append(out.Versions, smVersionEntry{VersionId: v.ID, VersionStages: append([]string{}, v.Stages...), CreatedDate: epoch(v.CreatedDate)})
	}
	return out, nil
}

// --- UpdateSecretVersionStage ---

type smUpdateStageInput struct {
	SecretId            string
	VersionStage        string
	RemoveFromVersionId string
	MoveToVersionId     string
}

func smUpdateSecretVersionStage(r *request) (any, error) {
	var in smUpdateStageInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	if in.VersionStage == "" {
		return nil, smErr("InvalidParameterException", "You must specify a VersionStage.")
	}
	holder := smHolder(sec, in.VersionStage)
	var from, to *SecretVersion
	if in.RemoveFromVersionId != "" {
		from = sec.Versions[in.RemoveFromVersionId]
		if from == nil || from != holder {
			return nil, smErr("InvalidParameterException", "The staging label %s is not attached to version %s.", in.VersionStage, in.RemoveFromVersionId)
		}
	}
	if in.MoveToVersionId != "" {
		to = sec.Versions[in.MoveToVersionId]
		if to == nil {
			return nil, smErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret version: %s", in.MoveToVersionId)
		}
	}
	switch {
	case to == nil && from == nil:
		return nil, smErr("InvalidParameterException", "You must specify RemoveFromVersionId, MoveToVersionId or both.")
	case to == nil:
		if in.VersionStage == smCurrent {
			return nil, smErr("InvalidParameterException", "You can't remove the staging label AWSCURRENT from a version. Move it to another version with MoveToVersionId.")
		}
		smRemoveStage(from, in.VersionStage)
	default:
		if holder != nil && holder != to && from == nil {
			return nil, smErr("InvalidParameterException", "The staging label %s is currently attached to version %s. You must specify RemoveFromVersionId to move it.", in.VersionStage, holder.ID)
		}
		if holder == nil && smLabelCount(sec) >= smMaxLabels {
			return nil, smErr("LimitExceededException", "You have exceeded the maximum number of staging labels (%d) for this secret.", smMaxLabels)
		}
		smAttach(sec, in.VersionStage, to)
	}
	sec.LastChangedDate = r.now
	return smARNNameVersion{ARN: sec.ARN, Name: sec.Name}, nil
}

// --- resource policies and tags ---

type smPutPolicyInput struct {
	SecretId          string
	ResourcePolicy    string
	BlockPublicPolicy *bool
}

type smPolicyOutput struct {
	ARN            string `json:"ARN"`
	Name           string `json:"Name"`
	ResourcePolicy string `json:"ResourcePolicy,omitempty"`
}

func smPutResourcePolicy(r *request) (any, error) {
	var in smPutPolicyInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	if len(in.ResourcePolicy) > 20480 {
		return nil, smErr("LimitExceededException", "The resource policy exceeds the maximum size of 20480 characters.")
	}
	p, perr := smParsePolicy(in.ResourcePolicy)
	if perr != nil {
		return nil, smErr("MalformedPolicyDocumentException", "This resource policy is invalid: %v", perr)
	}
	bound, berr := smBindPrincipals(r.st, p)
	if berr != nil {
		return nil, berr
	}
	if in.BlockPublicPolicy != nil && *in.BlockPublicPolicy && smPublic(p) {
		return nil, smErr("PublicPolicyException", "This resource policy would grant public access to the secret.")
	}
	sec.ResourcePolicy = in.ResourcePolicy
	sec.PolicyPrincipals = bound
	return smPolicyOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

func smGetResourcePolicy(r *request) (any, error) {
	var in smSecretIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	return smPolicyOutput{ARN: sec.ARN, Name: sec.Name, ResourcePolicy: smEffectivePolicy(r.st, sec)}, nil
}

func smDeleteResourcePolicy(r *request) (any, error) {
	var in smSecretIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	sec.ResourcePolicy = ""
	sec.PolicyPrincipals = nil
	return smPolicyOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

type smTagInput struct {
	SecretId string
	Tags     []smTag
	TagKeys  []string
}

func smTagResource(r *request) (any, error) {
	var in smTagInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	if err := smCheckTags(in.Tags); err != nil {
		return nil, err
	}
	tags := smMergeTags(sec.Tags, in.Tags)
	if len(tags) > 50 {
		return nil, smErr("InvalidParameterException", "A secret can have at most 50 tags.")
	}
	sec.Tags = tags
	return nil, nil
}

// smCheckTags checks tags as Secrets Manager does: keys of 1 to 128
// characters and values of at most 256, and no key in the aws: prefix,
// which AWS reserves.
func smCheckTags(tags []smTag) error {
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return smErr("InvalidParameterException", "Invalid tag key %q: the aws: prefix is reserved for AWS use.", t.Key)
		}
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return smErr("InvalidParameterException", "Invalid tag key or value: %q.", t.Key)
		}
	}
	return nil
}

func smUntagResource(r *request) (any, error) {
	var in smTagInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	var kept []Tag
	for _, t := range sec.Tags {
		if !drop[t.Key] {
			kept = append(kept, t)
		}
	}
	sec.Tags = kept
	return nil, nil
}

// --- DeleteSecret / RestoreSecret ---

type smDeleteInput struct {
	SecretId                   string
	RecoveryWindowInDays       *int
	ForceDeleteWithoutRecovery *bool
}

type smDeleteOutput struct {
	ARN          string `json:"ARN"`
	Name         string `json:"Name"`
	DeletionDate epoch  `json:"DeletionDate"`
}

func smDeleteSecret(r *request) (any, error) {
	var in smDeleteInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if force && in.RecoveryWindowInDays != nil {
		return nil, smErr("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := 30
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, smErr("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	sec, err := smGet(r, in.SecretId, false)
	if force && apiCode(err) == "ResourceNotFoundException" {
		// Deleting a secret that does not exist without recovery
		// succeeds: the call is idempotent, and AWS does not say
		// whether the secret existed.
		out := smDeleteOutput{Name: in.SecretId, DeletionDate: epoch(r.now)}
		if strings.HasPrefix(in.SecretId, "arn:") {
			out.ARN, out.Name = in.SecretId, smNameFromARN(in.SecretId)
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if force {
		m := r.st.Accounts[smOwnerID(sec)].Secrets[smRegion(sec)]
		delete(m, sec.Name)
		return smDeleteOutput{ARN: sec.ARN, Name: sec.Name, DeletionDate: epoch(r.now)}, nil
	}
	if sec.DeletedDate != nil {
		return nil, smErr("InvalidRequestException", "You can't perform this operation on the secret because it was already scheduled for deletion.")
	}
	when := r.now.Add(time.Duration(days) * 24 * time.Hour)
	sec.DeletedDate = &when
	return smDeleteOutput{ARN: sec.ARN, Name: sec.Name, DeletionDate: epoch(when)}, nil
}

// smNameFromARN is the secret name in an ARN, without the random suffix
// when there is one.
func smNameFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 7)
	name := parts[len(parts)-1]
	if i := strings.LastIndex(name, "-"); i > 0 && len(name)-i == 7 {
		name = name[:i]
	}
	return name
}

// apiCode is the code of an *apiError, or "".
func apiCode(err error) string {
	if ae, ok := err.(*apiError); ok {
		return ae.Code
	}
	return ""
}

func smOwnerID(sec *Secret) string { return strings.SplitN(sec.ARN, ":", 7)[4] }
func smRegion(sec *Secret) string  { return strings.SplitN(sec.ARN, ":", 7)[3] }

func smRestoreSecret(r *request) (any, error) {
	var in smSecretIDInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, false)
	if err != nil {
		return nil, err
	}
	sec.DeletedDate = nil
	return smPolicyOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

// --- RotateSecret ---

type smRotateInput struct {
	SecretId           string
	ClientRequestToken string
	RotationLambdaARN  string
	RotationRules      *smRotationRules
	RotateImmediately  *bool
}

func smRotateSecret(r *request) (any, error) {
	var in smRotateInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := smValidToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	sec, err := smGet(r, in.SecretId, true)
	if err != nil {
		return nil, err
	}
	lambda := in.RotationLambdaARN
	if lambda == "" {
		lambda = sec.RotationLambdaARN
	}
	if lambda == "" {
		return nil, smErr("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
	}
	h := r.srv.smRotationHandler(lambda)
	if h == nil && sec.SimulatedRotation != "" && lambda == sec.RotationLambdaARN {
		h = r.srv.simulatedRotation(sec.SimulatedRotation)
	}
	if h == nil {
		return nil, smErr("AccessDeniedException", "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.")
	}
	if p := smHolder(sec, smPending); p != nil && p != smHolder(sec, smCurrent) {
		return nil, smErr("InvalidRequestException", "A previous rotation isn't complete. That rotation will be reattempted.")
	}
	if err := smSetRules(sec, in.RotationRules); err != nil {
		return nil, err
	}
	sec.RotationEnabled = true
	sec.RotationLambdaARN = lambda
	token := in.ClientRequestToken
	if token == "" {
		token = newRequestID()
	}
	out := smARNNameVersion{ARN: sec.ARN, Name: sec.Name}
	steps := []string{"testSecret"}
	if in.RotateImmediately == nil || *in.RotateImmediately {
		steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}
		out.VersionId = token
	}
	srv := r.srv
	srv.smStartRotation(h, sec.ARN, token, steps, func(err error) {
		if err == nil && len(steps) == 4 {
			now := srv.clock.Now()
			sec.LastRotatedDate = &now
		}
	})
	return out, nil
}
