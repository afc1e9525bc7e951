package dynamostore

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxWorkItem is the most a work document may take in its item once
// compressed: DynamoDB's item limit is 400 KB, keys and attribute names
// included.
const maxWorkItem = 390 * 1024

// workKey is the key of document name of an execution's work.
func workKey(execution, name string) key { return key{"work#" + esc(execution), name} }

// PutWork stores the document name (the coordinator's batch, a worker's
// state) of an execution, gzip-compressed, replacing an earlier one;
// DynamoDB's TTL removes it after expires. A document that does not fit
// in one item, compressed, is an error.
func (s *Store) PutWork(ctx context.Context, execution, name string, data []byte, expires time.Time) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("compress work %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress work %s: %w", name, err)
	}
	if buf.Len() > maxWorkItem {
		return fmt.Errorf("work %s of %s: %d bytes compressed, over DynamoDB's item limit", name, execution, buf.Len())
	}
	it := withKey(workKey(execution, name), item{
		"data":      &types.AttributeValueMemberB{Value: buf.Bytes()},
		attrExpires: num(expires.Unix()),
	})
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("store work %s of %s: %w", name, execution, err)
	}
	return nil
}

// Work returns the document name of an execution; false when there is
// none.
func (s *Store) Work(ctx context.Context, execution, name string) ([]byte, bool, error) {
	it, err := s.get(ctx, workKey(execution, name))
	if err != nil {
		return nil, false, fmt.Errorf("read work %s of %s: %w", name, execution, err)
	}
	if it == nil {
		return nil, false, nil
	}
	b, ok := it["data"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, false, fmt.Errorf("read work %s of %s: no data", name, execution)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Value))
	if err != nil {
		return nil, false, fmt.Errorf("read work %s of %s: %w", name, execution, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, false, fmt.Errorf("read work %s of %s: %w", name, execution, err)
	}
	return out, true, nil
}
