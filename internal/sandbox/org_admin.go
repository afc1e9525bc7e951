package sandbox

import (
	"fmt"
	"strings"
)

// In-process helpers that shape the organization without going through a
// scenario file. Tests and the scenario loader use them; each takes the
// server's lock.

// AddAccount adds a member account under parentID (the root when empty) with
// status ACTIVE (the default) or SUSPENDED. It joins at the current sandbox time.
func (s *Server) AddAccount(id, name, email, parentID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(id) != 12 || strings.Trim(id, digits) != "" {
		return fmt.Errorf("add account %q: account IDs have 12 digits", id)
	}
	if s.st.Accounts[id] != nil {
		return fmt.Errorf("add account %s: already exists", id)
	}
	if parentID == "" {
		parentID = s.st.RootID
	}
	if k := orgKind(s.st, parentID); k != "ROOT" && k != "ORGANIZATIONAL_UNIT" {
		return fmt.Errorf("add account %s: parent %s does not exist", id, parentID)
	}
	switch status {
	case "":
		status = "ACTIVE"
	case "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED":
	default:
		return fmt.Errorf("add account %s: unknown status %q", id, status)
	}
	a := newAccount(id, name, email, parentID, s.clock.Now())
	a.Status = status
	s.st.Accounts[id] = a
	return nil
}

// AddOU adds an organizational unit, such as ou-ab12-cdefgh34, under
// parentID (the root when empty).
func (s *Server) AddOU(id, name, parentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasPrefix(id, "ou-") || len(id) < 8 {
		return fmt.Errorf("add OU %q: OU IDs look like ou-ab12-cdefgh34", id)
	}
	if orgKind(s.st, id) != "" {
		return fmt.Errorf("add OU %s: already exists", id)
	}
	if parentID == "" {
		parentID = s.st.RootID
	}
	if k := orgKind(s.st, parentID); k != "ROOT" && k != "ORGANIZATIONAL_UNIT" {
		return fmt.Errorf("add OU %s: parent %s does not exist", id, parentID)
	}
	s.st.OUs[id] = &OU{ID: id, Name: name, ParentID: parentID}
	return nil
}

// AddRole adds an assumable role to an account. trusted lists the account
// IDs its trust policy allows (the management account when empty);
// externalID, when set, must be passed to AssumeRole. The role has
// AdministratorAccess, like the role Organizations creates in new accounts.
func (s *Server) AddRole(accountID, roleName string, trusted []string, externalID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return fmt.Errorf("add role %s: account %s does not exist", roleName, accountID)
	}
	if roleName == "" {
		return fmt.Errorf("add role in %s: empty role name", accountID)
	}
	if len(trusted) == 0 {
		trusted = []string{s.st.ManagementAccountID}
	}
	a.Roles[roleName] = &Role{
		Name: roleName, ID: newUniqueID("AROA"), ARN: "arn:aws:iam::" + accountID + ":role/" + roleName,
		CreateDate: s.clock.Now(), TrustedAccounts: append([]string{}, trusted...), ExternalID: externalID,
		Path: "/", Policies: Attachments{Attached: []string{awsManagedPolicyARN("AdministratorAccess")}},
	}
	return nil
}

// TagAccount sets an Organizations tag on an account.
func (s *Server) TagAccount(accountID, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return fmt.Errorf("tag account %s: no such account", accountID)
	}
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	a.Tags[key] = value
	return nil
}

// Emails returns a copy of the emails captured from SES SendEmail.
func (s *Server) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Email{}, s.st.Emails...)
}

// SNSMessages returns a copy of the messages captured from SNS Publish.
func (s *Server) SNSMessages() []SNSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SNSMessage{}, s.st.SNSMessages...)
}
