package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyrot/keyrot/internal/history"
)

// Runs are items pk "runs", sk the zero-padded run ID: one partition, read
// whole by ListRuns, MarkInterrupted and UnnotifiedRuns (a deployment
// records a few runs a day; finished audit runs expire with Retention).

// StartRun records the start of a run and returns its ID, as
// history.Store.StartRun does.
func (s *Store) StartRun(ctx context.Context, r history.Run) (int64, error) {
	if err := history.ValidateRunStart(r); err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	id, err := s.withNewID(ctx, "run", func(id int64) error {
		return s.putNew(ctx, withKey(runKey(id), item{
			"id": num(id), "command": str(r.Command), "mode": str(r.Mode), "host": str(r.Host), "version": str(r.Version),
			"started_at": tm(history.OrNow(r.Started)), "status": str(history.RunRunning), "summary": str(""),
			"pid": num(int64(r.PID)), "proc_start": num(r.ProcStart), "heartbeat_at": tm(history.OrNow(r.Heartbeat)),
			"notified": boolean(false),
		}))
	})
	if err != nil {
		return 0, fmt.Errorf("start %s run: %w", r.Command, err)
	}
	return id, nil
}

// FinishRun records the end of a running (or interrupted) run, as
// history.Store.FinishRun does: ErrNotFound for an unknown run,
// ErrAlreadyFinished for one that is finished.
func (s *Store) FinishRun(ctx context.Context, id int64, status, summary string, finished time.Time) error {
	if err := history.ValidateFinish(status, summary); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	cur, err := s.get(ctx, runKey(id))
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	if cur == nil {
		return fmt.Errorf("finish run %d: %w", id, history.ErrNotFound)
	}
	expr := "SET #status = :status, #summary = :summary, #finished_at = :finished"
	vals := item{":status": str(status), ":summary": str(summary), ":finished": tm(history.OrNow(finished)),
		":running": str(history.RunRunning), ":interrupted": str(history.RunInterrupted)}
	nm := names("status", "summary", "finished_at")
	if getS(cur, "command") == "audit" && s.Retention > 0 {
		started, err := getTime(cur, "started_at")
		if err != nil {
			return fmt.Errorf("finish run %d: %w", id, err)
		}
		expr += ", #expires_at = :expires"
		nm["#expires_at"] = attrExpires
		vals[":expires"] = num(started.Add(s.Retention).Unix())
	}
	// A run another process took for dead (interrupted) is still finished
	// by its own process, which knows better.
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: runKey(id).av(),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String("#status IN (:running, :interrupted)"),
		ExpressionAttributeNames:            nm,
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if conditionFailed(err) {
		var cf *types.ConditionalCheckFailedException
		errors.As(err, &cf)
		return fmt.Errorf("finish run %d: run is %s: %w", id, getS(cf.Item, "status"), history.ErrAlreadyFinished)
	}
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// Heartbeat records that the running run id is alive at now; it does
// nothing for a run that is not running.
func (s *Store) Heartbeat(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: runKey(id).av(),
		UpdateExpression:          aws.String("SET #heartbeat_at = :now"),
		ConditionExpression:       aws.String("#status = :running"),
		ExpressionAttributeNames:  names("heartbeat_at", "status"),
		ExpressionAttributeValues: item{":now": tm(history.OrNow(now)), ":running": str(history.RunRunning)},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("heartbeat of run %d: %w", id, err)
	}
	return nil
}

// MarkInterrupted marks as interrupted every running run whose process is
// gone, as history.Store.MarkInterrupted does. Each mark is a conditional
// write on the run still running, so two hosts marking at once mark each
// run once.
func (s *Store) MarkInterrupted(ctx context.Context, live history.Liveness, staleBefore, now time.Time) ([]history.Run, error) {
	runs, err := s.allRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("find interrupted runs: %w", err)
	}
	var marked []history.Run
	for _, r := range runs {
		if r.Status != history.RunRunning {
			continue
		}
		last := r.Heartbeat
		if last.IsZero() {
			last = r.Started
		}
		dead := last.Before(staleBefore)
		if alive, known := live(r.Host, r.PID, r.ProcStart); known && r.PID > 0 {
			dead = !alive
		}
		if !dead {
			continue
		}
		summary := strings.TrimSpace(r.Summary + " interrupted: its process ended without finishing the run")
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: runKey(r.ID).av(),
			UpdateExpression:         aws.String("SET #status = :interrupted, #summary = :summary, #finished_at = :now"),
			ConditionExpression:      aws.String("#status = :running"),
			ExpressionAttributeNames: names("status", "summary", "finished_at"),
			ExpressionAttributeValues: item{":interrupted": str(history.RunInterrupted), ":summary": str(summary),
				":now": tm(history.OrNow(now)), ":running": str(history.RunRunning)},
		})
		if conditionFailed(err) {
			continue // finished, or marked by another host, meanwhile
		}
		if err != nil {
			return marked, fmt.Errorf("mark run %d interrupted: %w", r.ID, err)
		}
		r.Status = history.RunInterrupted
		marked = append(marked, r)
	}
	return marked, nil
}

// MarkNotified records that the notices of the runs ids were sent.
func (s *Store) MarkNotified(ctx context.Context, ids ...int64) error {
	for _, id := range ids {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: runKey(id).av(),
			UpdateExpression:          aws.String("SET #notified = :t"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  names("notified", attrPK),
			ExpressionAttributeValues: item{":t": boolean(true)},
		})
		if err != nil && !conditionFailed(err) {
			return fmt.Errorf("mark run %d notified: %w", id, err)
		}
	}
	return nil
}

// UnnotifiedRuns returns the finished runs of command in mode whose notices
// were never sent, oldest first.
func (s *Store) UnnotifiedRuns(ctx context.Context, command, mode string) ([]history.Run, error) {
	runs, err := s.allRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unnotified runs: %w", err)
	}
	var out []history.Run
	for _, r := range runs {
		if !r.Notified && r.Status != history.RunRunning && r.Command == command && r.Mode == mode {
			out = append(out, r)
		}
	}
	return out, nil
}

// ListRuns returns up to limit runs, newest first; no limit if limit <= 0.
func (s *Store) ListRuns(ctx context.Context, limit int) ([]history.Run, error) {
	runs, err := s.allRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].Started.Equal(runs[j].Started) {
			return runs[i].Started.After(runs[j].Started)
		}
		return runs[i].ID > runs[j].ID
	})
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	return runs, nil
}

// Run returns the run with the given ID, or an error wrapping ErrNotFound.
func (s *Store) Run(ctx context.Context, id int64) (history.Run, error) {
	it, err := s.get(ctx, runKey(id))
	if err != nil {
		return history.Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	if it == nil {
		return history.Run{}, fmt.Errorf("read run %d: %w", id, history.ErrNotFound)
	}
	r, err := decodeRun(it)
	if err != nil {
		return history.Run{}, fmt.Errorf("read run %d: %w", id, err)
	}
	return r, nil
}

// allRuns reads every run, in ID order.
func (s *Store) allRuns(ctx context.Context) ([]history.Run, error) {
	its, err := s.queryAll(ctx, "runs", "", false, 0)
	if err != nil {
		return nil, err
	}
	runs := make([]history.Run, 0, len(its))
	for _, it := range its {
		r, err := decodeRun(it)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func decodeRun(it item) (history.Run, error) {
	r := history.Run{
		Command: getS(it, "command"), Mode: getS(it, "mode"), Host: getS(it, "host"), Version: getS(it, "version"),
		Status: getS(it, "status"), Summary: getS(it, "summary"), Notified: getBool(it, "notified"),
	}
	var err error
	var pid int64
	if r.ID, err = getN(it, "id"); err != nil {
		return r, err
	}
	if pid, err = getN(it, "pid"); err != nil {
		return r, err
	}
	r.PID = int(pid)
	if r.ProcStart, err = getN(it, "proc_start"); err != nil {
		return r, err
	}
	if r.Started, err = getTime(it, "started_at"); err != nil {
		return r, err
	}
	if r.Finished, err = getTime(it, "finished_at"); err != nil {
		return r, err
	}
	if r.Heartbeat, err = getTime(it, "heartbeat_at"); err != nil {
		return r, err
	}
	return r, nil
}
