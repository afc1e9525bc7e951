package sandbox

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SNS (Query protocol). Topics live per account in Account.Topics by ARN;
// Publish captures messages in State.SNSMessages instead of delivering them.

func snsActions() map[string]handler {
	return map[string]handler{
		"CreateTopic": snsCreateTopic,
		"DeleteTopic": snsDeleteTopic,
		"ListTopics":  snsListTopics,
		"Publish":     snsPublish,
	}
}

const (
	snsMaxMessageBytes = 256 * 1024
	snsListPage        = 100
)

func snsInvalid(what string) error {
	return errf(400, "InvalidParameter", "Invalid parameter: %s", what)
}

func snsNotFound() error { return errf(404, "NotFound", "Topic does not exist") }

func snsAuthz(r *request, resource string) error {
	if r.isAdmin() {
		return nil
	}
	return errf(403, "AuthorizationError", "User: %s is not authorized to perform: SNS:%s on resource: %s", r.caller.ARN, r.action, resource)
}

// snsValidName checks a topic name: 1-256 letters, digits, hyphens and
// underscores, with an optional .fifo suffix for FIFO topics.
func snsValidName(name string, fifo bool) bool {
	base := name
	if fifo {
		if !strings.HasSuffix(name, ".fifo") {
			return false
		}
		base = strings.TrimSuffix(name, ".fifo")
	}
	if len(name) < 1 || len(name) > 256 || base == "" {
		return false
	}
	for _, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type snsCreateTopicResult struct {
	TopicArn string
}

func snsCreateTopic(r *request) (any, error) {
	name, err := r.requireParam("Name")
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:sns:" + r.region + ":" + r.acct.ID + ":" + name
	if err := snsAuthz(r, arn); err != nil {
		return nil, err
	}
	fifo := false
	for i, k := range snsEntries(r, "Attributes", "key") {
		if k == "FifoTopic" {
			fifo = r.param("Attributes.entry."+strconv.Itoa(i+1)+".value") == "true"
		}
	}
	if !snsValidName(name, fifo) {
		return nil, snsInvalid("Topic Name")
	}
	if r.acct.Topics[arn] == nil {
		r.acct.Topics[arn] = &Topic{ARN: arn, Name: name}
	}
	return snsCreateTopicResult{TopicArn: arn}, nil
}

// snsTopic finds a topic by ARN, which may belong to another account.
func snsTopic(r *request, arn string) (*Topic, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" {
		return nil, snsInvalid("TopicArn")
	}
	if parts[3] != r.region {
		return nil, snsInvalid("TopicArn")
	}
	if parts[4] != r.acct.ID {
		// Cross-account topics would need a topic policy; the sandbox has none.
		if r.st.Accounts[parts[4]] == nil || r.st.Accounts[parts[4]].Topics[arn] == nil {
			return nil, snsNotFound()
		}
		return nil, errf(403, "AuthorizationError", "User: %s is not authorized to perform: SNS:%s on resource: %s", r.caller.ARN, r.action, arn)
	}
	if err := snsAuthz(r, arn); err != nil {
		return nil, err
	}
	t := r.acct.Topics[arn]
	if t == nil {
		return nil, snsNotFound()
	}
	return t, nil
}

func snsDeleteTopic(r *request) (any, error) {
	arn, err := r.requireParam("TopicArn")
	if err != nil {
		return nil, err
	}
	if _, err := snsTopic(r, arn); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Code == "NotFound" {
			return nil, nil // deleting a missing topic succeeds, as in SNS
		}
		return nil, err
	}
	delete(r.acct.Topics, arn)
	return nil, nil
}

type snsTopicMember struct {
	TopicArn string
}

type snsListTopicsResult struct {
	Topics    []snsTopicMember `xml:"Topics>member"`
	NextToken string           `xml:"NextToken,omitempty"`
}

func snsListTopics(r *request) (any, error) {
	if err := snsAuthz(r, "arn:aws:sns:"+r.region+":"+r.acct.ID+":*"); err != nil {
		return nil, err
	}
	prefix := "arn:aws:sns:" + r.region + ":"
	var arns []string
	for arn := range r.acct.Topics {
		if strings.HasPrefix(arn, prefix) {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns)
	start := 0
	if tok := r.param("NextToken"); tok != "" {
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i > len(arns) {
			return nil, snsInvalid("NextToken")
		}
		start = i
	}
	end := min(start+snsListPage, len(arns))
	out := snsListTopicsResult{Topics: []snsTopicMember{}}
	for _, a := range arns[start:end] {
		out.Topics = append(out.Topics, snsTopicMember{TopicArn: a})
	}
	if end < len(arns) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

type snsPublishResult struct {
	MessageId string
}

func snsPublish(r *request) (any, error) {
	arn := r.param("TopicArn")
	if arn == "" {
		arn = r.param("TargetArn")
	}
	if arn == "" {
		if r.param("PhoneNumber") != "" {
			return nil, snsInvalid("PhoneNumber: SMS is not supported by the sandbox")
		}
		return nil, snsInvalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	msg, ok := r.form["Message"]
	if !ok {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null")
	}
	if msg[0] == "" {
		return nil, snsInvalid("Empty message")
	}
	if len(msg[0]) > snsMaxMessageBytes {
		return nil, snsInvalid("Message too long")
	}
	subject := r.param("Subject")
	if _, has := r.form["Subject"]; has {
		if subject == "" || len(subject) > 100 || !utf8.ValidString(subject) || strings.ContainsAny(subject, "\r\n") || !snsASCII(subject) {
			return nil, snsInvalid("Subject")
		}
	}
	t, err := snsTopic(r, arn)
	if err != nil {
		return nil, err
	}
	var attrs map[string]string
	for i, name := range snsEntries(r, "MessageAttributes", "Name") {
		p := "MessageAttributes.entry." + strconv.Itoa(i+1) + ".Value."
		dt := r.param(p + "DataType")
		if dt == "" {
			return nil, snsInvalid("The message attribute '" + name + "' must contain non-empty message attribute type.")
		}
		v := r.param(p + "StringValue")
		if v == "" {
			v = r.param(p + "BinaryValue")
		}
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[name] = v
	}
	m := SNSMessage{
		MessageID: newRequestID(), AccountID: r.acct.ID, TopicARN: t.ARN,
		Subject: subject, Message: msg[0], Attributes: attrs, SentAt: r.now,
	}
	r.st.SNSMessages = append(r.st.SNSMessages, m)
	return snsPublishResult{MessageId: m.MessageID}, nil
}

func snsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// snsEntries reads a Query map such as Attributes.entry.N.key in order.
func snsEntries(r *request, prefix, key string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.form[prefix+".entry."+strconv.Itoa(i)+"."+key]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}
