// Package dynamostore keeps keyrot's history (runs, the action journal,
// key events, notices and leases) in one DynamoDB table, with the same
// semantics as the SQLite store (internal/history), so that runs on many
// hosts, or Lambda functions, share it: integer IDs from atomic counters,
// idempotent journal records keyed by run and action, and leases taken by
// conditional writes with expiry, so that at most one owner holds a scope
// at a time. The item layout is documented in docs/history.md.
//
// The table has a string partition key pk and a string sort key sk, and
// the TTL attribute expires_at (epoch seconds). Every read that decides a
// write is strongly consistent.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/keyrot/keyrot/internal/history"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store is the history in a DynamoDB table. It is safe for concurrent use,
// by goroutines and by processes on any number of hosts.
type Store struct {
	db    API
	table string
	// Retention, when positive, gives finished audit runs an expires_at
	// of their start plus Retention, for DynamoDB's TTL to remove them
	// (history.retention in keyrot.yaml). As with the SQLite store's
	// Prune, the journal (actions, key events), the runs other than
	// audits, notices and leases never expire.
	Retention time.Duration
}

// New returns a store on table, which must exist with the key schema
// above.
func New(client *dynamodb.Client, table string) *Store { return NewWithAPI(client, table) }

// NewWithAPI is New for any implementation of API.
func NewWithAPI(api API, table string) *Store { return &Store{db: api, table: table} }

// Attribute names. Expressions always name them through #aliases, since
// several are DynamoDB reserved words.
const (
	attrPK      = "pk"
	attrSK      = "sk"
	attrExpires = "expires_at"
)

// --- keys ---

// esc makes a value safe inside a key whose parts are joined with '#'.
func esc(s string) string {
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(s)
}

// id20 writes an ID so that text order is number order.
func id20(id int64) string { return fmt.Sprintf("%020d", id) }

func runKey(id int64) key            { return key{"runs", id20(id)} }
func actionKey(id int64) key         { return key{"action#" + id20(id), "action"} }
func runActionKey(run, id int64) key { return key{"run#" + id20(run), "action#" + id20(id)} }
func userPK(account, user string) string {
	return "user#" + esc(account) + "#" + esc(user)
}
func userActionKey(account, user string, id int64) key {
	return key{userPK(account, user), "action#" + id20(id)}
}
func keyEventPrefix(keyID, event string) string {
	return "keyevent#" + esc(keyID) + "#" + esc(event) + "#"
}
func noticePK(recipient, account, user, keyID, kind string) string {
	return "notice#" + esc(recipient) + "#" + esc(account) + "#" + esc(user) + "#" + esc(keyID) + "#" + esc(kind)
}
func leaseKey(scope string) key { return key{"lease#" + esc(scope), "lease"} }

type key struct{ pk, sk string }

func (k key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(k.pk), attrSK: str(k.sk)}
}

// --- attribute values ---

type item = map[string]types.AttributeValue

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func boolean(b bool) types.AttributeValue {
	return &types.AttributeValueMemberBOOL{Value: b}
}
func tm(t time.Time) types.AttributeValue { return str(history.FormatTime(t)) }

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it item, name string) (int64, error) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

func getBool(it item, name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

// getTime reads a time attribute; zero if absent.
func getTime(it item, name string) (time.Time, error) {
	s := getS(it, name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := history.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", name, err)
	}
	return t, nil
}

// names builds ExpressionAttributeNames #a -> a for each name.
func names(ns ...string) map[string]string {
	m := make(map[string]string, len(ns))
	for _, n := range ns {
		m["#"+n] = n
	}
	return m
}

// --- errors ---

func conditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

// cancelledByCondition reports whether a transaction was cancelled because
// a condition failed.
func cancelledByCondition(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for _, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// IsThrottle reports whether err is DynamoDB throttling (the SDK retries
// these; one that gets through means the table is overloaded).
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
			return true
		}
	}
	return false
}

// --- plumbing ---

func (s *Store) get(ctx context.Context, k key) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k.av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// queryAll reads every item of partition pk whose sort key begins with
// prefix, in sort key order (reversed if backward), up to limit items (no
// limit if zero).
func (s *Store) queryAll(ctx context.Context, pk, prefix string, backward bool, limit int) ([]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		ConsistentRead:           aws.Bool(true),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: names(attrPK),
		ExpressionAttributeValues: item{
			":pk": str(pk),
		},
		ScanIndexForward: aws.Bool(!backward),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :prefix)")
		in.ExpressionAttributeNames = names(attrPK, attrSK)
		in.ExpressionAttributeValues[":prefix"] = str(prefix)
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	var out []item
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.LastEvaluatedKey == nil || limit > 0 && len(out) >= limit {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// nextID takes the next number of the counter named kind.
func (s *Store) nextID(ctx context.Context, kind string) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key{"counter", kind}.av(),
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  names("n"),
		ExpressionAttributeValues: item{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("take next %s id: %w", kind, err)
	}
	id, err := getN(out.Attributes, "n")
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("take next %s id: counter answered %v: %w", kind, out.Attributes["n"], err)
	}
	return id, nil
}

// newIDAttempts bounds how often withNewID takes another number.
const newIDAttempts = 5

// withNewID takes the next number of the counter named kind and writes the
// records keyed by it with write, whose conditional writes refuse an ID
// already taken; then it takes another number and writes again, up to
// newIDAttempts times. DynamoDB's ADD is atomic, so a number is taken twice
// only when a counter fell behind its records (a table restored from a
// backup taken between a counter's update and its records' write) or on an
// emulator that does not serialize ADD; the conditional write keeps the
// records whole either way, and the retry keeps the caller from failing.
func (s *Store) withNewID(ctx context.Context, kind string, write func(id int64) error) (int64, error) {
	for attempt := 1; ; attempt++ {
		id, err := s.nextID(ctx, kind)
		if err != nil {
			return 0, err
		}
		err = write(id)
		if err == nil {
			return id, nil
		}
		if attempt == newIDAttempts || !conditionFailed(err) && !cancelledByCondition(err) {
			return 0, err
		}
	}
}

// putNew writes a new item that must not exist yet.
func (s *Store) putNew(ctx context.Context, it item) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: names(attrPK),
	})
	return err
}

func withKey(k key, it item) item {
	it[attrPK] = str(k.pk)
	it[attrSK] = str(k.sk)
	return it
}

func copyItem(it item) item {
	c := make(item, len(it))
	for k, v := range it {
		c[k] = v
	}
	return c
}

// TableCreator is the part of the DynamoDB client CreateTable uses.
type TableCreator interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// CreateTable creates a table with the key schema the store needs (string
// pk and sk, on-demand billing), for tests and local setups. A deployment
// creates it from its template, which also turns on the TTL attribute
// expires_at and point-in-time recovery.
func CreateTable(ctx context.Context, c TableCreator, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
	})
	if err != nil {
		return fmt.Errorf("create history table %s: %w", name, err)
	}
	return nil
}
