package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/history/storetest"
	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

var _ app.Store = (*dynamostore.Store)(nil)

var tableSeq atomic.Int64

// createTable makes a fresh table for one test.
func createTable(t testing.TB, c *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("keyrot-history-%d", tableSeq.Add(1))
	if err := dynamostore.CreateTable(context.Background(), c, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestContractSandbox runs the history store contract on the sandbox's
// DynamoDB, over HTTP through the SDK.
func TestContractSandbox(t *testing.T) {
	env := sandboxtest.Start(t, "")
	c := dynamodb.NewFromConfig(env.Admin())
	storetest.Run(t, func(t *testing.T) storetest.Store { return dynamostore.New(c, createTable(t, c)) }, nil)
}

// TestMoto runs the contract and the lease race on moto's DynamoDB (one
// moto for both: it takes seconds to start), served one request at a time
// (mototest.StartSerial): its conditional writes and transactions are
// atomic only so, as DynamoDB's always are.
func TestMoto(t *testing.T) {
	url := mototest.StartSerial(t)
	c := dynamodb.NewFromConfig(mototest.Config(url))
	t.Run("contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store { return dynamostore.New(c, createTable(t, c)) }, nil)
	})
	t.Run("lease race", func(t *testing.T) {
		leaseRace(t, func() *dynamodb.Client { return dynamodb.NewFromConfig(mototest.Config(url)) }, createTable(t, c))
	})
}

// TestRetentionTTL: with a retention, a finished audit run carries
// expires_at (its start plus the retention, epoch seconds) for DynamoDB's
// TTL; other runs, as the SQLite store's Prune keeps them, carry none.
func TestRetentionTTL(t *testing.T) {
	env := sandboxtest.Start(t, "")
	c := dynamodb.NewFromConfig(env.Admin())
	table := createTable(t, c)
	s := dynamostore.New(c, table)
	s.Retention = 400 * 24 * time.Hour
	ctx := context.Background()
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	audit, err := s.StartRun(ctx, history.Run{Command: "audit", Mode: history.ModeAuditOnly, Started: started})
	if err != nil {
		t.Fatal(err)
	}
	apply, err := s.StartRun(ctx, history.Run{Command: "apply", Mode: history.ModeEnforce, Started: started})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{audit, apply} {
		if err := s.FinishRun(ctx, id, history.RunSucceeded, "", started.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	expires := func(id int64) string {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "runs"}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", id)}}})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := out.Item["expires_at"].(*types.AttributeValueMemberN); ok {
			return v.Value
		}
		return ""
	}
	if got, want := expires(audit), fmt.Sprint(started.Add(400*24*time.Hour).Unix()); got != want {
		t.Errorf("audit run expires_at %q, want %q", got, want)
	}
	if got := expires(apply); got != "" {
		t.Errorf("apply run expires_at %q, want none", got)
	}
}

// TestCounterBehindItsRecords: a counter that fell behind its records (a
// table restored from a backup, an emulator whose ADD is not atomic) hands
// out a number already taken; the conditional write refuses it and the
// store takes the next one instead of failing the run, the action, the
// event or the notice, and no record is overwritten.
func TestCounterBehindItsRecords(t *testing.T) {
	env := sandboxtest.Start(t, "")
	c := dynamodb.NewFromConfig(env.Admin())
	table := createTable(t, c)
	s := dynamostore.New(c, table)
	ctx := context.Background()
	rewind := func(kind string, to int) {
		t.Helper()
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "counter"}, "sk": &types.AttributeValueMemberS{Value: kind},
			"n": &types.AttributeValueMemberN{Value: fmt.Sprint(to)},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.StartRun(ctx, history.Run{Command: "apply", Mode: history.ModeEnforce})
	if err != nil {
		t.Fatal(err)
	}
	a1, err := s.BeginAction(ctx, first, history.Action{Account: "111122223333", User: "alice", KeyID: "AKIAALICE", Kind: "create-key", Reason: "age"})
	if err != nil {
		t.Fatal(err)
	}
	rewind("run", 0)
	rewind("action", 0)
	second, err := s.StartRun(ctx, history.Run{Command: "apply", Mode: history.ModeEnforce})
	if err != nil {
		t.Fatalf("start a run with the counter behind: %v", err)
	}
	a2, err := s.BeginAction(ctx, second, history.Action{Account: "111122223333", User: "bob", KeyID: "AKIABOB", Kind: "create-key", Reason: "age"})
	if err != nil {
		t.Fatalf("begin an action with the counter behind: %v", err)
	}
	if second == first || a2 == a1 {
		t.Fatalf("run IDs %d and %d, action IDs %d and %d: a number was handed out twice", first, second, a1, a2)
	}
	runs, err := s.ListRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs recorded, want 2: %+v", len(runs), runs)
	}
	acts, err := s.ActionsInRun(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].User != "alice" {
		t.Fatalf("the first run's actions: %+v, want alice's alone", acts)
	}
}
