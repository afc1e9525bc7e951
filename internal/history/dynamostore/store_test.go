package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/history/storetest"
	"github.com/keyrot/keyrot/internal/mototest"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

var _ app.Store = (*dynamostore.Store)(nil)

var tableSeq atomic.Int64

// CreateTable makes a table with the layout the store needs: string pk
// and sk, on demand.
func createTable(t testing.TB, c *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("keyrot-history-%d", tableSeq.Add(1))
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
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

// TestContractMoto runs the same contract on moto's DynamoDB.
func TestContractMoto(t *testing.T) {
	url := mototest.Start(t)
	c := dynamodb.NewFromConfig(mototest.Config(url))
	storetest.Run(t, func(t *testing.T) storetest.Store { return dynamostore.New(c, createTable(t, c)) }, map[string]string{
		// moto's transact_write_items copies every table it touches
		// before it starts and puts the copy back when a condition fails,
		// without a lock: a transaction that fails while another commits
		// undoes the other's writes. DynamoDB's TransactWriteItems is
		// serializable with other transactions (Developer Guide,
		// "Isolation levels for DynamoDB transactions").
		"journal: of two concurrent EndActions exactly one succeeds": "moto's TransactWriteItems is not isolated from concurrent transactions",
	})
}
