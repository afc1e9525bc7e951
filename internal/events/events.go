// Package events turns the CloudTrail records EventBridge delivers ("AWS API
// Call via CloudTrail") into what keyrot tells people: when someone other
// than keyrot creates an access key, re-activates one, gives a user a
// console password or deactivates an MFA device, the user's owner and the
// security team hear of it within minutes (AWS's guidance: monitor for
// unauthorized credential creation).
//
// It is pure: Parse reads an event, Detect decides whether it is news (a
// successful call of one of the watched kinds, not made by keyrot's own
// role session), and Detection.Item makes the notify.Item that the
// notifier routes to the user's owner, de-duplicates through the history
// (EventBridge delivers at least once) and delivers; the security team
// hears of it through the notifier's central copy or digest (notify
// central: copy or digest, with security_contact set). The
// record's shape is AWS's CloudTrail record contents
// (awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents)
// inside the EventBridge envelope
// (eventbridge/latest/ref/overiew-event-structure).
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/notify"
)

// DetailType is the EventBridge detail-type of CloudTrail API call events.
const DetailType = "AWS API Call via CloudTrail"

// The IAM calls watched.
const (
	CreateAccessKey     = "CreateAccessKey"
	UpdateAccessKey     = "UpdateAccessKey"
	CreateLoginProfile  = "CreateLoginProfile"
	DeactivateMFADevice = "DeactivateMFADevice"
)

// ErrNotCloudTrail means the event is not a CloudTrail API call event.
var ErrNotCloudTrail = errors.New("not a CloudTrail API call event")

// maxEvent bounds what Parse reads: EventBridge events are at most 256 KB.
const maxEvent = 256 * 1024

// Event is the part of an EventBridge CloudTrail event keyrot reads.
type Event struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	// Account is the account the event came from.
	Account string    `json:"account"`
	Time    time.Time `json:"time"`
	Region  string    `json:"region"`
	Detail  Record    `json:"detail"`
}

// Record is a CloudTrail record.
type Record struct {
	EventTime    time.Time `json:"eventTime"`
	EventSource  string    `json:"eventSource"`
	EventName    string    `json:"eventName"`
	EventID      string    `json:"eventID"`
	AWSRegion    string    `json:"awsRegion"`
	SourceIP     string    `json:"sourceIPAddress"`
	UserAgent    string    `json:"userAgent"`
	ErrorCode    string    `json:"errorCode"`
	ErrorMessage string    `json:"errorMessage"`
	// RecipientAccountID is the account whose resource the call changed.
	RecipientAccountID string       `json:"recipientAccountId"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	// RequestParameters and ResponseElements are the call's; CloudTrail
	// leaves secrets (the new key's secret, the password) out.
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
}

// UserIdentity is who made the call.
type UserIdentity struct {
	// Type is IAMUser, AssumedRole, Root, FederatedUser, AWSService, ….
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
	// InvokedBy names the AWS service that made the call for a principal.
	InvokedBy      string `json:"invokedBy"`
	SessionContext struct {
		SessionIssuer struct {
			Type     string `json:"type"`
			ARN      string `json:"arn"`
			UserName string `json:"userName"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

// Parse reads an EventBridge event holding a CloudTrail record. It fails
// with ErrNotCloudTrail for another kind of event.
func Parse(b []byte) (Event, error) {
	if len(b) > maxEvent {
		return Event{}, fmt.Errorf("parse event: %d bytes is over EventBridge's 256 KB", len(b))
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	if ev.DetailType != DetailType {
		return Event{}, fmt.Errorf("parse event %s: detail-type %q: %w", ev.ID, ev.DetailType, ErrNotCloudTrail)
	}
	if ev.Detail.EventName == "" {
		return Event{}, fmt.Errorf("parse event %s: no eventName: %w", ev.ID, ErrNotCloudTrail)
	}
	return ev, nil
}

// Keyrot says how to recognise keyrot's own calls: the member role it
// assumes and the session name it uses (awsaccess.DefaultSessionName
// unless configured). A call is keyrot's only if both match, since anyone
// allowed to assume some role can pick the session name.
type Keyrot struct {
	RoleName    string
	SessionName string
	// OwnRoleARN, if set, is the role keyrot acts with in the account it
	// runs in, without the member role: the worker function's execution
	// role in the central account. Any session of it is keyrot's, whatever
	// its name: that role trusts only the Lambda service, which names the
	// session itself.
	OwnRoleARN string
}

// Made reports whether the record's caller is keyrot's role session.
func (k Keyrot) Made(r Record) bool {
	id := r.UserIdentity
	if id.Type != "AssumedRole" {
		return false
	}
	if k.OwnRoleARN != "" && k.ownSession(id) {
		return true
	}
	if k.RoleName == "" {
		return false
	}
	session := k.SessionName
	if session == "" {
		session = awsaccess.DefaultSessionName
	}
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
	rest, ok := strings.CutPrefix(arnResource(id.ARN), "assumed-role/")
	if !ok {
		return false
	}
	role, sess, ok := strings.Cut(rest, "/")
	if !ok || sess != session || role != k.RoleName {
		return false
	}
	issuer := id.SessionContext.SessionIssuer
	return issuer.ARN == "" || strings.HasSuffix(issuer.ARN, ":role/"+k.RoleName) || strings.HasSuffix(issuer.ARN, "/"+k.RoleName)
}

// ownSession reports whether id is a session of k.OwnRoleARN: the
// session's issuer is that role, or, when the record names no issuer, the
// session's ARN is of that role in that account.
func (k Keyrot) ownSession(id UserIdentity) bool {
	if issuer := id.SessionContext.SessionIssuer.ARN; issuer != "" {
		return issuer == k.OwnRoleARN
	}
	parts := strings.SplitN(k.OwnRoleARN, ":", 6)
	if len(parts) != 6 {
		return false
	}
	role := parts[5][strings.LastIndex(parts[5], "/")+1:]
	rest, ok := strings.CutPrefix(arnResource(id.ARN), "assumed-role/")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	arnParts := strings.SplitN(id.ARN, ":", 6)
	return name == role && len(arnParts) == 6 && arnParts[4] == parts[4]
}

// arnResource is the part of an ARN after the fifth colon.
func arnResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[5]
}

// Detection is a watched call that was not keyrot's.
type Detection struct {
	EventID string
	Account string
	User    string
	// KeyID is the access key created or re-activated; empty for a login
	// profile or an MFA device.
	KeyID string
	// What is the call: CreateAccessKey, UpdateAccessKey,
	// CreateLoginProfile or DeactivateMFADevice.
	What string
	// MFASerial is the deactivated device (DeactivateMFADevice).
	MFASerial string
	// By is who made the call (an ARN), SourceIP and UserAgent where from.
	By        string
	SourceIP  string
	UserAgent string
	At        time.Time
	Region    string
}

type iamParams struct {
	UserName     string `json:"userName"`
	AccessKeyID  string `json:"accessKeyId"`
	Status       string `json:"status"`
	SerialNumber string `json:"serialNumber"`
	AccessKey    *struct {
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
		Status      string `json:"status"`
	} `json:"accessKey"`
	LoginProfile *struct {
		UserName string `json:"userName"`
	} `json:"loginProfile"`
}

// Detect decides whether ev is news: a successful IAM call of a watched
// kind (UpdateAccessKey only when it makes a key Active) that keyrot did
// not make. ok is false for anything else. An event of a watched kind
// whose parameters cannot be read is an error, so that it is not silently
// dropped.
func Detect(ev Event, k Keyrot) (d Detection, ok bool, err error) {
	r := ev.Detail
	if r.EventSource != "iam.amazonaws.com" || r.ErrorCode != "" {
		return Detection{}, false, nil
	}
	switch r.EventName {
	case CreateAccessKey, UpdateAccessKey, CreateLoginProfile, DeactivateMFADevice:
	default:
		return Detection{}, false, nil
	}
	if k.Made(r) {
		return Detection{}, false, nil
	}
	var req, resp iamParams
	if len(r.RequestParameters) > 0 && string(r.RequestParameters) != "null" {
		if err := json.Unmarshal(r.RequestParameters, &req); err != nil {
			return Detection{}, false, fmt.Errorf("event %s: %s request parameters: %w", ev.ID, r.EventName, err)
		}
	}
	if len(r.ResponseElements) > 0 && string(r.ResponseElements) != "null" {
		if err := json.Unmarshal(r.ResponseElements, &resp); err != nil {
			return Detection{}, false, fmt.Errorf("event %s: %s response elements: %w", ev.ID, r.EventName, err)
		}
	}
	account := r.RecipientAccountID
	if account == "" {
		account = ev.Account
	}
	at := r.EventTime
	if at.IsZero() {
		at = ev.Time
	}
	d = Detection{EventID: r.EventID, Account: account, What: r.EventName, By: r.UserIdentity.ARN,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, At: at.UTC(), Region: r.AWSRegion, User: req.UserName}
	if d.EventID == "" {
		d.EventID = ev.ID
	}
	switch r.EventName {
	case CreateAccessKey:
		if resp.AccessKey != nil {
			d.KeyID = resp.AccessKey.AccessKeyID
			if d.User == "" {
				d.User = resp.AccessKey.UserName
			}
		}
	case UpdateAccessKey:
		if !strings.EqualFold(req.Status, "Active") {
			return Detection{}, false, nil
		}
		d.KeyID = req.AccessKeyID
	case CreateLoginProfile:
		if d.User == "" && resp.LoginProfile != nil {
			d.User = resp.LoginProfile.UserName
		}
	case DeactivateMFADevice:
		d.MFASerial = req.SerialNumber
	}
	if d.User == "" {
		// No userName: the caller acted on itself.
		d.User = r.UserIdentity.UserName
	}
	if d.User == "" || d.Account == "" {
		return Detection{}, false, fmt.Errorf("event %s: %s names no user or account", ev.ID, r.EventName)
	}
	return d, true, nil
}

// Title is the finding's one-line description.
func (d Detection) Title() string {
	by := d.By
	if by == "" {
		by = "an unknown caller"
	}
	switch d.What {
	case CreateAccessKey:
		return fmt.Sprintf("An access key was created outside keyrot by %s", by)
	case UpdateAccessKey:
		return fmt.Sprintf("An inactive access key was re-activated outside keyrot by %s", by)
	case CreateLoginProfile:
		return fmt.Sprintf("A console password was created outside keyrot by %s", by)
	case DeactivateMFADevice:
		return fmt.Sprintf("MFA device %s was deactivated by %s", d.MFASerial, by)
	}
	return d.What + " by " + by
}

// Item is the notify item that tells the user's owner (and, through the
// notifier's central targets, the security team). It is a finding dated
// when the call happened, of the one-off event d.EventID, so the notifier
// sends it once, however often the event is delivered, and de-duplicates
// it apart from the user's other findings.
// Owner tags and the account's email are the caller's to fill in
// (UserTags, AccountEmail), as the notifier routes on them.
func (d Detection) Item() notify.Item {
	return notify.Item{
		AccountID: d.Account, User: d.User, KeyID: d.KeyID, State: notify.StateFinding,
		Date: d.At, FindingTitles: []string{d.Title()}, Event: d.EventID,
	}
}
