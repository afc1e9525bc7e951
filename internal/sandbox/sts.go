package sandbox

import (
	"regexp"
	"strings"
	"time"
)

// stsExternalIDRe is the model's pattern for AssumeRole's ExternalId.
var stsExternalIDRe = regexp.MustCompile(`^[\w+=,.@:/-]*$`)

func stsActions() map[string]handler {
	return map[string]handler{
		"GetCallerIdentity": stsGetCallerIdentity,
		"AssumeRole":        stsAssumeRole,
	}
}

const (
	stsMinDuration     = 900
	stsMaxDuration     = 43200
	stsDefaultDuration = 3600
	// stsRoleMaxSession is a role's MaxSessionDuration; the sandbox's roles
	// keep IAM's default.
	stsRoleMaxSession = 3600
	// stsChainedMax is the limit for role chaining.
	stsChainedMax = 3600
)

type getCallerIdentityResult struct {
	Arn     string
	UserId  string
	Account string
}

func stsGetCallerIdentity(r *request) (any, error) {
	return getCallerIdentityResult{Arn: r.caller.ARN, UserId: r.caller.UserID, Account: r.caller.AccountID}, nil
}

type stsCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type stsAssumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type stsAssumeRoleResult struct {
	Credentials     stsCredentials
	AssumedRoleUser stsAssumedRoleUser
}

func stsValidation(format string, args ...any) error {
	return errf(400, "ValidationError", format, args...)
}

// stsValidSessionName checks RoleSessionName against [\w+=,.@-]{2,64}.
func stsValidSessionName(s string) error {
	if len(s) < 2 || len(s) > 64 {
		return stsValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", s)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)
		if !ok {
			return stsValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", s)
		}
	}
	return nil
}

// stsCheckExternalID is the model's constraints on AssumeRole's
// ExternalId, which AWS checks before it authorizes the call.
func stsCheckExternalID(r *request) error {
	externalID := r.param("ExternalId")
	if _, given := r.form["ExternalId"]; !given {
		return nil
	}
	if len(externalID) < 2 || len(externalID) > 1224 {
		return stsValidation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224", externalID)
	}
	if !stsExternalIDRe.MatchString(externalID) {
		return stsValidation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*", externalID)
	}
	return nil
}

// stsParseRoleARN splits arn:aws:iam::ACCOUNT:role/[path/]NAME.
func stsParseRoleARN(arn string) (account, name string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(arn) < 20 || len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", stsValidation("Request ARN is invalid")
	}
	res := parts[5]
	return parts[4], res[strings.LastIndex(res, "/")+1:], nil
}

func stsAssumeRole(r *request) (any, error) {
	roleARN, err := r.requireParam("RoleArn")
	if err != nil {
		return nil, err
	}
	sessionName, err := r.requireParam("RoleSessionName")
	if err != nil {
		return nil, err
	}
	if err := stsValidSessionName(sessionName); err != nil {
		return nil, err
	}
	duration, err := r.intParam("DurationSeconds")
	if err != nil {
		return nil, err
	}
	chained := r.caller.Kind == "session"
	if r.param("DurationSeconds") != "" {
		switch {
		case duration < stsMinDuration:
			return nil, stsValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", duration, stsMinDuration)
		case duration > stsMaxDuration:
			return nil, stsValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", duration, stsMaxDuration)
		case chained && duration > stsChainedMax:
			return nil, stsValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		case duration > stsRoleMaxSession:
			return nil, stsValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}
	} else {
		duration = stsDefaultDuration
	}
	if err := stsCheckExternalID(r); err != nil {
		return nil, err
	}
	acctID, roleName, err := stsParseRoleARN(roleARN)
	if err != nil {
		return nil, err
	}

	denied := errf(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", r.caller.ARN, roleARN)
	if r.caller.Kind == "root" {
		return nil, errf(403, "AccessDenied", "Roles may not be assumed by root accounts.")
	}
	// Who may assume the role (its trust policy, the caller's identity
	// policies, SCPs) was decided before the handler ran (authz.go).
	acct := r.st.Accounts[acctID]
	if acct == nil || acct.Status == "SUSPENDED" {
		return nil, denied
	}
	role := acct.Roles[roleName]
	if role == nil || (role.ARN != "" && role.ARN != roleARN) {
		return nil, denied
	}

	d := time.Duration(duration) * time.Second
	ss := &session{
		AccessKeyID: newAccessKeyID("ASIA"),
		Secret:      newSecretAccessKey(),
		Token:       stsSessionToken(),
		AccountID:   acct.ID,
		RoleName:    role.Name,
		SessionName: sessionName,
		ARN:         "arn:aws:sts::" + acct.ID + ":assumed-role/" + role.Name + "/" + sessionName,
		RoleID:      role.ID,
		ExpiresWall: r.srv.wall().UTC().Truncate(time.Second).Add(d),
	}
	if r.caller.Key != nil {
		ss.SourceKey = r.caller.Key.ID
	}
	r.srv.sessions[ss.AccessKeyID] = ss
	stsPruneSessions(r.srv)
	return stsAssumeRoleResult{
		Credentials: stsCredentials{
			AccessKeyId: ss.AccessKeyID, SecretAccessKey: ss.Secret, SessionToken: ss.Token,
			Expiration: xmlTime(ss.ExpiresWall),
		},
		AssumedRoleUser: stsAssumedRoleUser{AssumedRoleId: role.ID + ":" + sessionName, Arn: ss.ARN},
	}, nil
}

// stsSessionToken returns an opaque session token of the length AWS issues.
func stsSessionToken() string { return "IQoJb3JpZ2luX2Vj" + randFrom(secretChars, 340) }

// stsPruneSessions forgets sessions that expired long ago, so the map does
// not grow without bound. Called with s.mu held.
func stsPruneSessions(s *Server) {
	if len(s.sessions) < 1000 {
		return
	}
	now := s.wall()
	for id, ss := range s.sessions {
		if now.After(ss.ExpiresWall.Add(24 * time.Hour)) {
			delete(s.sessions, id)
		}
	}
}
