package lambdafn

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/keyrot/keyrot/internal/events"
)

// Detect handles one EventBridge event from the rule on CloudTrail's IAM
// calls: a credential change keyrot did not make (events.Detect) is told
// to the user's owner and the security contact, once however often
// EventBridge delivers the event. Another kind of event, or a call keyrot
// made (through the member role, or in the central account with the
// worker's execution role), is answered without notice. An error (the history store, a
// watched call whose record cannot be read) fails the invocation, so that
// Lambda retries the asynchronous event (twice, by default).
func (f *Functions) Detect(ctx context.Context, raw json.RawMessage) (*DetectResult, error) {
	ev, err := events.Parse(raw)
	if errors.Is(err, events.ErrNotCloudTrail) {
		f.log().Info("event ignored", "err", err)
		return &DetectResult{Ignored: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &DetectResult{EventID: ev.Detail.EventID, Call: ev.Detail.EventName}
	k := f.App.Keyrot(f.Scope)
	k.OwnRoleARN = f.OwnRoleARN
	d, ok, err := events.Detect(ev, k)
	if err != nil {
		return nil, err
	}
	if !ok {
		out.Ignored = "not a credential change made outside keyrot"
		return out, nil
	}
	out.Detected, out.Account, out.User = true, d.Account, d.User
	f.log().Warn("credential change outside keyrot", "event", d.EventID, "call", d.What, "account", d.Account, "user", d.User, "by", d.By, "source_ip", d.SourceIP)
	res, err := f.App.Detected(ctx, f.Scope, d)
	if err != nil {
		return nil, err
	}
	if res.TagsErr != nil {
		out.Problems = append(out.Problems, "owner not found, the security contact is told: "+res.TagsErr.Error())
	}
	if s := res.Notify; s != nil {
		out.Notices, out.Suppressed = s.Notices, s.Suppressed
		for _, dl := range s.Deliveries {
			if dl.Error == "" {
				out.Told = append(out.Told, dl.Recipient)
			} else {
				out.Problems = append(out.Problems, "notify "+dl.Recipient+" via "+dl.Channel+": "+dl.Error)
			}
		}
		for _, e := range s.RecordErrors {
			out.Problems = append(out.Problems, "notice sent but not recorded (a second delivery of the event would send it again): "+e)
		}
		for _, u := range s.Unroutable {
			out.Problems = append(out.Problems, "nobody to tell about "+u)
		}
	}
	return out, nil
}
