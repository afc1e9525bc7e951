package dynamostore

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyrot/keyrot/internal/history"
)

// An action is three items written and updated together in transactions:
// the record by ID (pk "action#ID", sk "action"), which EndAction finds and
// conditions on, and copies under its run (pk "run#RUN", sk "action#ID")
// and its user (pk "user#ACCOUNT#USER", sk "action#ID") for ActionsInRun
// and ActionsFor. IDs are zero-padded, so sort key order is begin order.

// BeginAction journals an action of run runID before it is carried out
// and returns its ID.
func (s *Store) BeginAction(ctx context.Context, runID int64, a history.Action) (int64, error) {
	if err := history.ValidateAction(a); err != nil {
		return 0, fmt.Errorf("begin action: %w", err) // values not echoed: one may be a secret
	}
	evidence := a.Evidence
	if evidence == "" {
		evidence = "{}"
	}
	started := history.OrNow(a.Started)
	id, err := s.withNewID(ctx, "action", func(id int64) error {
		rec := item{
			"id": num(id), "run_id": num(runID), "account": str(a.Account), "user_name": str(a.User), "key_id": str(a.KeyID),
			"kind": str(a.Kind), "reason": str(a.Reason), "evidence": str(evidence), "started_at": tm(started),
			"status": str(history.ActionStarted), "error": str(""), "result_key_id": str(""),
		}
		var puts []types.TransactWriteItem
		for _, k := range []key{actionKey(id), runActionKey(runID, id), userActionKey(a.Account, a.User, id)} {
			puts = append(puts, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(s.table), Item: withKey(k, copyItem(rec)),
				ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: names(attrPK),
			}})
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: puts})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("begin %s action for %s/%s in run %d: %w", a.Kind, a.Account, a.User, runID, err)
	}
	return id, nil
}

// EndAction records the outcome of a started action: ErrNotFound for an
// unknown action, ErrAlreadyFinished for one already ended. The three
// copies change in one transaction conditioned on the record still being
// started, so of two concurrent EndActions exactly one succeeds.
func (s *Store) EndAction(ctx context.Context, actionID int64, o history.Outcome) error {
	if err := history.ValidateOutcome(o); err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	cur, err := s.get(ctx, actionKey(actionID))
	if err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	if cur == nil {
		return fmt.Errorf("end action %d: %w", actionID, history.ErrNotFound)
	}
	if st := getS(cur, "status"); st != history.ActionStarted {
		return fmt.Errorf("end action %d: action is %s: %w", actionID, st, history.ErrAlreadyFinished)
	}
	runID, err := getN(cur, "run_id")
	if err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	upd := func(k key, cond bool) types.TransactWriteItem {
		u := &types.Update{
			TableName: aws.String(s.table), Key: k.av(),
			UpdateExpression:         aws.String("SET #status = :status, #error = :error, #result_key_id = :key, #finished_at = :finished"),
			ExpressionAttributeNames: names("status", "error", "result_key_id", "finished_at"),
			ExpressionAttributeValues: item{":status": str(o.Status), ":error": str(o.Error), ":key": str(o.KeyID),
				":finished": tm(history.OrNow(o.Finished))},
		}
		if cond {
			u.ConditionExpression = aws.String("#status = :started")
			u.ExpressionAttributeValues[":started"] = str(history.ActionStarted)
		}
		return types.TransactWriteItem{Update: u}
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		upd(actionKey(actionID), true),
		upd(runActionKey(runID, actionID), false),
		upd(userActionKey(getS(cur, "account"), getS(cur, "user_name"), actionID), false),
	}})
	if cancelledByCondition(err) {
		return fmt.Errorf("end action %d: action is no longer started: %w", actionID, history.ErrAlreadyFinished)
	}
	if err != nil {
		return fmt.Errorf("end action %d: %w", actionID, err)
	}
	return nil
}

// ActionsFor returns every action journaled for a user, across runs, in
// the order they were begun.
func (s *Store) ActionsFor(ctx context.Context, account, user string) ([]history.Action, error) {
	its, err := s.queryAll(ctx, userPK(account, user), "action#", false, 0)
	if err != nil {
		return nil, fmt.Errorf("read actions for %s/%s: %w", account, user, err)
	}
	out, err := decodeActions(its)
	if err != nil {
		return nil, fmt.Errorf("read actions for %s/%s: %w", account, user, err)
	}
	return out, nil
}

// ActionsInRun returns the actions of one run in the order they were begun.
func (s *Store) ActionsInRun(ctx context.Context, runID int64) ([]history.Action, error) {
	its, err := s.queryAll(ctx, "run#"+id20(runID), "action#", false, 0)
	if err != nil {
		return nil, fmt.Errorf("read actions of run %d: %w", runID, err)
	}
	out, err := decodeActions(its)
	if err != nil {
		return nil, fmt.Errorf("read actions of run %d: %w", runID, err)
	}
	return out, nil
}

func decodeActions(its []item) ([]history.Action, error) {
	out := make([]history.Action, 0, len(its))
	for _, it := range its {
		a := history.Action{
			Account: getS(it, "account"), User: getS(it, "user_name"), KeyID: getS(it, "key_id"), Kind: getS(it, "kind"),
			Reason: getS(it, "reason"), Evidence: getS(it, "evidence"),
			Outcome: history.Outcome{Status: getS(it, "status"), Error: getS(it, "error"), KeyID: getS(it, "result_key_id")},
		}
		var err error
		if a.ID, err = getN(it, "id"); err != nil {
			return nil, err
		}
		if a.RunID, err = getN(it, "run_id"); err != nil {
			return nil, err
		}
		if a.Started, err = getTime(it, "started_at"); err != nil {
			return nil, err
		}
		if a.Outcome.Finished, err = getTime(it, "finished_at"); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Key events are items under their user (pk "user#ACCOUNT#USER") with sort
// key "keyevent#KEY#EVENT#AT#ID", so the latest event of a kind for a key
// is the last item of a begins_with query.

// RecordKeyEvent appends a key event and returns its ID.
func (s *Store) RecordKeyEvent(ctx context.Context, e history.KeyEvent) (int64, error) {
	if err := history.ValidateKeyEvent(e); err != nil {
		return 0, fmt.Errorf("record key event: %w", err)
	}
	at := history.OrNow(e.At)
	id, err := s.withNewID(ctx, "keyevent", func(id int64) error {
		k := key{userPK(e.Account, e.User), keyEventPrefix(e.KeyID, e.Event) + history.FormatTime(at) + "#" + id20(id)}
		return s.putNew(ctx, withKey(k, item{
			"id": num(id), "account": str(e.Account), "user_name": str(e.User), "key_id": str(e.KeyID), "event": str(e.Event),
			"at": tm(at), "run_id": num(e.RunID), "secret_arn": str(e.SecretARN), "secret_version_id": str(e.SecretVersionID),
		}))
	})
	if err != nil {
		return 0, fmt.Errorf("record %s event of key %s of %s/%s: %w", e.Event, e.KeyID, e.Account, e.User, err)
	}
	return id, nil
}

// LastKeyEvent returns the latest event of the given type for a key, and
// false if there is none.
func (s *Store) LastKeyEvent(ctx context.Context, account, user, keyID, event string) (history.KeyEvent, bool, error) {
	its, err := s.queryAll(ctx, userPK(account, user), keyEventPrefix(keyID, event), true, 1)
	if err != nil {
		return history.KeyEvent{}, false, fmt.Errorf("read last %s event of key %s: %w", event, keyID, err)
	}
	if len(its) == 0 {
		return history.KeyEvent{}, false, nil
	}
	e, err := decodeKeyEvent(its[0])
	if err != nil {
		return history.KeyEvent{}, false, fmt.Errorf("read last %s event of key %s: %w", event, keyID, err)
	}
	return e, true, nil
}

// KeyEvents returns every event for a user's keys, oldest first.
func (s *Store) KeyEvents(ctx context.Context, account, user string) ([]history.KeyEvent, error) {
	its, err := s.queryAll(ctx, userPK(account, user), "keyevent#", false, 0)
	if err != nil {
		return nil, fmt.Errorf("read key events of %s/%s: %w", account, user, err)
	}
	out := make([]history.KeyEvent, 0, len(its))
	for _, it := range its {
		e, err := decodeKeyEvent(it)
		if err != nil {
			return nil, fmt.Errorf("read key events of %s/%s: %w", account, user, err)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func decodeKeyEvent(it item) (history.KeyEvent, error) {
	e := history.KeyEvent{Account: getS(it, "account"), User: getS(it, "user_name"), KeyID: getS(it, "key_id"), Event: getS(it, "event"),
		SecretARN: getS(it, "secret_arn"), SecretVersionID: getS(it, "secret_version_id")}
	var err error
	if e.ID, err = getN(it, "id"); err != nil {
		return e, err
	}
	if e.RunID, err = getN(it, "run_id"); err != nil {
		return e, err
	}
	if e.At, err = getTime(it, "at"); err != nil {
		return e, err
	}
	return e, nil
}

// Notices are items pk "notice#RECIPIENT#ACCOUNT#USER#KEY#KIND", sort key
// "SENT_AT#ID": the latest is the last item of the partition.

// RecordNotice records a sent notice and returns its ID.
func (s *Store) RecordNotice(ctx context.Context, n history.Notice) (int64, error) {
	if err := history.ValidateNotice(n); err != nil {
		return 0, fmt.Errorf("record notice: %w", err)
	}
	sent := history.OrNow(n.SentAt)
	id, err := s.withNewID(ctx, "notice", func(id int64) error {
		k := key{noticePK(n.Recipient, n.Account, n.User, n.KeyID, n.Kind), history.FormatTime(sent) + "#" + id20(id)}
		it := withKey(k, item{
			"id": num(id), "recipient": str(n.Recipient), "account": str(n.Account), "user_name": str(n.User), "key_id": str(n.KeyID),
			"kind": str(n.Kind), "sent_at": tm(sent), "channel": str(n.Channel),
		})
		if !n.DueDate.IsZero() {
			it["due_date"] = tm(n.DueDate)
		}
		return s.putNew(ctx, it)
	})
	if err != nil {
		return 0, fmt.Errorf("record %s notice to %s about %s/%s: %w", n.Kind, n.Recipient, n.Account, n.User, err)
	}
	return id, nil
}

// LastNotice returns the most recently sent notice matching all of
// recipient, account, user, keyID and kind, and false if none was sent.
func (s *Store) LastNotice(ctx context.Context, recipient, account, user, keyID, kind string) (history.Notice, bool, error) {
	its, err := s.queryAll(ctx, noticePK(recipient, account, user, keyID, kind), "", true, 1)
	if err != nil {
		return history.Notice{}, false, fmt.Errorf("read last %s notice to %s about %s/%s: %w", kind, recipient, account, user, err)
	}
	if len(its) == 0 {
		return history.Notice{}, false, nil
	}
	it := its[0]
	n := history.Notice{Recipient: getS(it, "recipient"), Account: getS(it, "account"), User: getS(it, "user_name"),
		KeyID: getS(it, "key_id"), Kind: getS(it, "kind"), Channel: getS(it, "channel")}
	if n.ID, err = getN(it, "id"); err != nil {
		return history.Notice{}, false, fmt.Errorf("read last %s notice: %w", kind, err)
	}
	if n.DueDate, err = getTime(it, "due_date"); err != nil {
		return history.Notice{}, false, fmt.Errorf("read last %s notice: %w", kind, err)
	}
	if n.SentAt, err = getTime(it, "sent_at"); err != nil {
		return history.Notice{}, false, fmt.Errorf("read last %s notice: %w", kind, err)
	}
	return n, true, nil
}
