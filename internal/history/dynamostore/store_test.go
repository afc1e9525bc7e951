package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyrot/keyrot/internal/app"
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
// moto for both: it takes seconds to start).
func TestMoto(t *testing.T) {
	url := mototest.Start(t)
	c := dynamodb.NewFromConfig(mototest.Config(url))
	t.Run("contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store { return dynamostore.New(c, createTable(t, c)) }, map[string]string{
			// moto's transact_write_items copies every table it touches
			// before it starts and puts the copy back when a condition
			// fails, without a lock: a transaction that fails while
			// another commits undoes the other's writes. DynamoDB's
			// TransactWriteItems is serializable with other transactions
			// (Developer Guide, "Isolation levels for DynamoDB transactions").
			"journal: of two concurrent EndActions exactly one succeeds": "moto's TransactWriteItems is not isolated from concurrent transactions",
		})
	})
	t.Run("lease race", func(t *testing.T) {
		leaseRace(t, func() *dynamodb.Client { return dynamodb.NewFromConfig(mototest.Config(url)) }, createTable(t, c))
	})
}
