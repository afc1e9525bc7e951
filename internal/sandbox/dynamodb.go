package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DynamoDB (JSON 1.0, target prefix "DynamoDB_20120810."): the subset a
// single-table store needs. Tables with a partition key and an optional
// sort key (CreateTable, DescribeTable, DeleteTable, ListTables); items
// (PutItem, GetItem, UpdateItem, DeleteItem) with condition expressions,
// update expressions (SET, REMOVE, ADD, DELETE), ReturnValues and
// ReturnValuesOnConditionCheckFailure; Query on the partition key with a
// sort key condition, in either direction, with Limit and
// ExclusiveStartKey/LastEvaluatedKey paging (also at 1 MB); and
// TransactWriteItems. Shapes and error codes follow botocore's
// dynamodb/2012-08-10/service-2.json, messages the DynamoDB API reference.
// Tables live per account and region in Account.DynamoTables; every
// request is authorized as dynamodb:<Action> on the table's ARN (each
// element of a transaction as its own action). Reads are always strongly
// consistent: the sandbox serializes requests.

func dynamoActions() map[string]handler {
	return map[string]handler{
		"CreateTable":        ddbCreateTable,
		"DescribeTable":      ddbDescribeTable,
		"DeleteTable":        ddbDeleteTable,
		"ListTables":         ddbListTables,
		"PutItem":            ddbPutItem,
		"GetItem":            ddbGetItem,
		"UpdateItem":         ddbUpdateItem,
		"DeleteItem":         ddbDeleteItem,
		"Query":              ddbQuery,
		"TransactWriteItems": ddbTransactWriteItems,
	}
}

// DynamoTable is a DynamoDB table and its items.
type DynamoTable struct {
	Name    string    `json:"name"`
	ARN     string    `json:"arn"`
	Created time.Time `json:"created"`
	// HashKey and RangeKey name the key attributes (RangeKey is empty for
	// a table without a sort key); HashType and RangeType are S, N or B.
	HashKey   string `json:"hash_key"`
	HashType  string `json:"hash_type"`
	RangeKey  string `json:"range_key,omitempty"`
	RangeType string `json:"range_type,omitempty"`
	// BillingMode is PAY_PER_REQUEST or PROVISIONED.
	BillingMode string `json:"billing_mode"`
	// Partitions hold the items by partition key (type, colon, value;
	// binary values in base64), each sorted by sort key.
	Partitions map[string][]ddbItem `json:"partitions,omitempty"`
}

// ddbErrorPrefix is the namespace DynamoDB puts before its error codes in
// the __type member.
const ddbErrorPrefix = "com.amazonaws.dynamodb.v20120810#"

func ddbValidation(format string, args ...any) *apiError {
	return errf(400, "ValidationException", format, args...)
}

func ddbSerialization() *apiError {
	return errf(400, "SerializationException", "Start of structure or map found where not expected")
}

func ddbNotFound() *apiError {
	return errf(400, "ResourceNotFoundException", "Requested resource not found")
}

func ddbConditionFailed(old ddbItem, rv string) *apiError {
	e := errf(400, "ConditionalCheckFailedException", "The conditional request failed")
	if rv == "ALL_OLD" && old != nil {
		e.Detail = map[string]any{"Item": old}
	}
	return e
}

// ddbDecode reads a request body into v; bad values answer their
// ValidationException, anything else SerializationException.
func ddbDecode(r *request, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return ddbSerialization()
	}
	return nil
}

var ddbTableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

func ddbCheckTableName(name string) error {
	if !ddbTableName.MatchString(name) {
		if name == "" {
			return ddbValidation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
		}
		return ddbValidation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name)
	}
	return nil
}

func (r *request) ddbTables() map[string]*DynamoTable {
	if r.acct.DynamoTables == nil {
		r.acct.DynamoTables = map[string]map[string]*DynamoTable{}
	}
	m := r.acct.DynamoTables[r.region]
	if m == nil {
		m = map[string]*DynamoTable{}
		r.acct.DynamoTables[r.region] = m
	}
	return m
}

// ddbTable finds a table by name or ARN.
func (r *request) ddbTable(name string) (*DynamoTable, error) {
	if err := ddbCheckTableName(strings.TrimPrefix(name, "arn:aws:dynamodb:"+r.region+":"+r.acct.ID+":table/")); err != nil {
		return nil, err
	}
	t := r.ddbTables()[strings.TrimPrefix(name, "arn:aws:dynamodb:"+r.region+":"+r.acct.ID+":table/")]
	if t == nil {
		return nil, ddbNotFound()
	}
	return t, nil
}

func ddbTableARN(region, account, name string) string {
	return "arn:aws:dynamodb:" + region + ":" + account + ":table/" + name
}

// --- tables ---

type ddbKeyElem struct {
	AttributeName string
	KeyType       string
}

type ddbAttrDef struct {
	AttributeName string
	AttributeType string
}

func ddbCreateTable(r *request) (any, error) {
	var in struct {
		TableName             string
		KeySchema             []ddbKeyElem
		AttributeDefinitions  []ddbAttrDef
		BillingMode           string
		ProvisionedThroughput *struct{ ReadCapacityUnits, WriteCapacityUnits int64 }
	}
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	if err := ddbCheckTableName(in.TableName); err != nil {
		return nil, err
	}
	t, err := ddbNewTable(r.region, r.acct.ID, in.TableName, in.KeySchema, in.AttributeDefinitions, in.BillingMode, in.ProvisionedThroughput != nil, r.now)
	if err != nil {
		return nil, err
	}
	tables := r.ddbTables()
	if tables[in.TableName] != nil {
		return nil, errf(400, "ResourceInUseException", "Table already exists: %s", in.TableName)
	}
	tables[in.TableName] = t
	d := ddbDescribe(t)
	// A new table is CREATING in the answer to CreateTable; the sandbox
	// makes it ACTIVE at once (DescribeTable says so).
	d["TableStatus"] = "CREATING"
	return map[string]any{"TableDescription": d}, nil
}

// ddbNewTable validates a key schema and makes an empty table.
func ddbNewTable(region, account, name string, schema []ddbKeyElem, defs []ddbAttrDef, billing string, provisioned bool, now time.Time) (*DynamoTable, error) {
	t := &DynamoTable{Name: name, ARN: ddbTableARN(region, account, name), Created: now.UTC(), Partitions: map[string][]ddbItem{}}
	switch billing {
	case "", "PROVISIONED":
		if !provisioned {
			return nil, ddbValidation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		t.BillingMode = "PROVISIONED"
	case "PAY_PER_REQUEST":
		if provisioned {
			return nil, ddbValidation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
		t.BillingMode = billing
	default:
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", billing)
	}
	if len(schema) == 0 || len(schema) > 2 {
		return nil, ddbValidation("1 validation error detected: Value '%v' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", schema)
	}
	types := map[string]string{}
	for _, d := range defs {
		switch d.AttributeType {
		case ddbS, ddbN, ddbB:
		default:
			return nil, ddbValidation("1 validation error detected: Value '%s' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
		types[d.AttributeName] = d.AttributeType
	}
	for i, k := range schema {
		typ, ok := types[k.AttributeName]
		if !ok {
			return nil, ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", k.AttributeName, ddbDefNames(defs))
		}
		switch {
		case i == 0 && k.KeyType == "HASH":
			t.HashKey, t.HashType = k.AttributeName, typ
		case i == 1 && k.KeyType == "RANGE":
			t.RangeKey, t.RangeType = k.AttributeName, typ
		default:
			return nil, ddbValidation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		}
	}
	if len(defs) != len(schema) {
		return nil, ddbValidation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	return t, nil
}

func ddbDefNames(defs []ddbAttrDef) string {
	var n []string
	for _, d := range defs {
		n = append(n, d.AttributeName)
	}
	return strings.Join(n, ", ")
}

func ddbDescribe(t *DynamoTable) map[string]any {
	schema := []map[string]string{{"AttributeName": t.HashKey, "KeyType": "HASH"}}
	defs := []map[string]string{{"AttributeName": t.HashKey, "AttributeType": t.HashType}}
	if t.RangeKey != "" {
		schema = append(schema, map[string]string{"AttributeName": t.RangeKey, "KeyType": "RANGE"})
		defs = append(defs, map[string]string{"AttributeName": t.RangeKey, "AttributeType": t.RangeType})
	}
	count, size := 0, 0
	for _, p := range t.Partitions {
		for _, it := range p {
			count++
			size += ddbItemSize(it)
		}
	}
	d := map[string]any{
		"TableName": t.Name, "TableArn": t.ARN, "TableStatus": "ACTIVE", "TableId": ddbTableID(t),
		"KeySchema": schema, "AttributeDefinitions": defs,
		"CreationDateTime": epoch(t.Created), "ItemCount": count, "TableSizeBytes": size,
		"BillingModeSummary":        map[string]string{"BillingMode": t.BillingMode},
		"ProvisionedThroughput":     map[string]int{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
		"DeletionProtectionEnabled": false,
	}
	return d
}

// ddbTableID is a stable UUID-shaped ID derived from the table's ARN and
// creation time.
func ddbTableID(t *DynamoTable) string {
	h := fmt.Sprintf("%032x", fnv128(t.ARN+t.Created.String()))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func fnv128(s string) [16]byte {
	var out [16]byte
	var a, b uint64 = 14695981039346656037, 1099511628211
	for i := 0; i < len(s); i++ {
		a ^= uint64(s[i])
		a *= 1099511628211
		b ^= uint64(s[len(s)-1-i])
		b *= 14695981039346656037 | 1
	}
	for i := 0; i < 8; i++ {
		out[i] = byte(a >> (8 * i))
		out[8+i] = byte(b >> (8 * i))
	}
	return out
}

func ddbDescribeTable(r *request) (any, error) {
	var in struct{ TableName string }
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	t, err := r.ddbTable(in.TableName)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "ResourceNotFoundException" {
			return nil, errf(400, "ResourceNotFoundException", "Requested resource not found: Table: %s not found", in.TableName)
		}
		return nil, err
	}
	return map[string]any{"Table": ddbDescribe(t)}, nil
}

func ddbDeleteTable(r *request) (any, error) {
	var in struct{ TableName string }
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	t, err := r.ddbTable(in.TableName)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == "ResourceNotFoundException" {
			return nil, errf(400, "ResourceNotFoundException", "Requested resource not found: Table: %s not found", in.TableName)
		}
		return nil, err
	}
	delete(r.ddbTables(), t.Name)
	d := ddbDescribe(t)
	d["TableStatus"] = "DELETING"
	return map[string]any{"TableDescription": d}, nil
}

func ddbListTables(r *request) (any, error) {
	var in struct {
		ExclusiveStartTableName string
		Limit                   int
	}
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	names := sortedKeys(r.ddbTables())
	out := []string{}
	last := ""
	for _, n := range names {
		if in.ExclusiveStartTableName != "" && n <= in.ExclusiveStartTableName {
			continue
		}
		if len(out) == limit {
			last = out[len(out)-1]
			break
		}
		out = append(out, n)
	}
	res := map[string]any{"TableNames": out}
	if last != "" {
		res["LastEvaluatedTableName"] = last
	}
	return res, nil
}

// --- keys ---

// keyOf checks that key holds exactly the table's key attributes, of the
// right types, and returns the partition's name and the sort key value.
func (t *DynamoTable) keyOf(key ddbItem, whole bool) (string, *ddbValue, error) {
	check := func(name, typ string) (*ddbValue, error) {
		v := key[name]
		if v == nil {
			if whole {
				return nil, ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", name)
			}
			return nil, ddbValidation("The provided key element does not match the schema")
		}
		if v.T != typ {
			if whole {
				return nil, ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", name, typ, v.T)
			}
			return nil, ddbValidation("The provided key element does not match the schema")
		}
		if v.S == "" && typ != ddbN {
			return nil, ddbValidation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", map[string]string{ddbS: "string", ddbB: "binary"}[typ], name)
		}
		return v, nil
	}
	hv, err := check(t.HashKey, t.HashType)
	if err != nil {
		return "", nil, err
	}
	if len(hv.S) > 2048 {
		return "", nil, ddbValidation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
	}
	var rv *ddbValue
	if t.RangeKey != "" {
		if rv, err = check(t.RangeKey, t.RangeType); err != nil {
			return "", nil, err
		}
		if len(rv.S) > 1024 {
			return "", nil, ddbValidation("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
		}
	}
	if !whole {
		n := 1
		if t.RangeKey != "" {
			n = 2
		}
		if len(key) != n {
			return "", nil, ddbValidation("The provided key element does not match the schema")
		}
	}
	return ddbPartitionName(hv), rv, nil
}

func ddbPartitionName(v *ddbValue) string {
	if v.T == ddbB {
		return ddbB + ":" + base64.StdEncoding.EncodeToString([]byte(v.S))
	}
	return v.T + ":" + v.S
}

// find returns the item with the key and its index in its partition (or
// where it would go).
func (t *DynamoTable) find(part string, rv *ddbValue) (ddbItem, int) {
	items := t.Partitions[part]
	if t.RangeKey == "" {
		if len(items) > 0 {
			return items[0], 0
		}
		return nil, 0
	}
	i := sort.Search(len(items), func(i int) bool {
		c, _ := ddbCompare(items[i][t.RangeKey], rv)
		return c >= 0
	})
	if i < len(items) && ddbEqual(items[i][t.RangeKey], rv) {
		return items[i], i
	}
	return nil, i
}

// put stores it (whose key was checked) in place of any item with its key.
func (t *DynamoTable) put(part string, rv *ddbValue, it ddbItem) {
	if t.Partitions == nil {
		t.Partitions = map[string][]ddbItem{}
	}
	old, i := t.find(part, rv)
	items := t.Partitions[part]
	if old != nil {
		items[i] = it
		return
	}
	items = append(items, nil)
	copy(items[i+1:], items[i:])
	items[i] = it
	t.Partitions[part] = items
}

func (t *DynamoTable) remove(part string, rv *ddbValue) {
	old, i := t.find(part, rv)
	if old == nil {
		return
	}
	items := t.Partitions[part]
	items = append(items[:i], items[i+1:]...)
	if len(items) == 0 {
		delete(t.Partitions, part)
	} else {
		t.Partitions[part] = items
	}
}

// keyItem is the key attributes of an item.
func (t *DynamoTable) keyItem(it ddbItem) ddbItem {
	k := ddbItem{t.HashKey: it[t.HashKey]}
	if t.RangeKey != "" {
		k[t.RangeKey] = it[t.RangeKey]
	}
	return k
}

// --- items ---

// ddbWrite is what PutItem, UpdateItem, DeleteItem and the elements of
// TransactWriteItems share.
type ddbWrite struct {
	TableName                           string
	Item                                ddbItem
	Key                                 ddbItem
	ConditionExpression                 string
	UpdateExpression                    string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]*ddbValue
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	// Legacy parameters the sandbox does not implement.
	Expected            json.RawMessage
	AttributeUpdates    json.RawMessage
	ConditionalOperator string
}

// ddbPrepared is a validated write, ready to check and apply.
type ddbPrepared struct {
	op    string // Put, Update, Delete, ConditionCheck
	table *DynamoTable
	part  string
	rv    *ddbValue
	cond  *ddbCond
	upd   *ddbUpdate
	w     *ddbWrite
}

func ddbPrepare(r *request, op string, w *ddbWrite) (*ddbPrepared, error) {
	if len(w.Expected) > 0 || len(w.AttributeUpdates) > 0 || w.ConditionalOperator != "" {
		return nil, ddbValidation("The sandbox implements expressions only, not the legacy Expected, AttributeUpdates and ConditionalOperator parameters")
	}
	t, err := r.ddbTable(w.TableName)
	if err != nil {
		return nil, err
	}
	p := &ddbPrepared{op: op, table: t, w: w}
	if op == "Put" {
		if w.Item == nil {
			return nil, ddbValidation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
		}
		if p.part, p.rv, err = t.keyOf(w.Item, true); err != nil {
			return nil, err
		}
		if ddbItemSize(w.Item) > ddbMaxItemSize {
			return nil, ddbValidation("Item size has exceeded the maximum allowed size")
		}
	} else {
		if w.Key == nil {
			return nil, ddbValidation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
		}
		if p.part, p.rv, err = t.keyOf(w.Key, false); err != nil {
			return nil, err
		}
	}
	x, err := newDDBExprs(w.ExpressionAttributeNames, w.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if op == "Update" {
		if w.UpdateExpression == "" {
			return nil, ddbValidation("The sandbox implements UpdateExpression only; it is missing")
		}
		if p.upd, err = x.update(w.UpdateExpression); err != nil {
			return nil, err
		}
		for _, s := range p.upd.sets {
			if s.path[0].name == t.HashKey || s.path[0].name == t.RangeKey {
				return nil, ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", s.path[0].name)
			}
		}
		for _, paths := range [][]ddbPath{p.upd.removes} {
			for _, pa := range paths {
				if pa[0].name == t.HashKey || pa[0].name == t.RangeKey {
					return nil, ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", pa[0].name)
				}
			}
		}
		for _, a := range append(append([]ddbSetAction(nil), p.upd.adds...), p.upd.deletes...) {
			if a.path[0].name == t.HashKey || a.path[0].name == t.RangeKey {
				return nil, ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", a.path[0].name)
			}
		}
	}
	if op == "ConditionCheck" && w.ConditionExpression == "" {
		return nil, ddbValidation("1 validation error detected: Value null at 'conditionExpression' failed to satisfy constraint: Member must not be null")
	}
	if w.ConditionExpression != "" {
		if p.cond, err = x.condition("ConditionExpression", w.ConditionExpression); err != nil {
			return nil, err
		}
	}
	if err := x.checkUnused(); err != nil {
		return nil, err
	}
	allowed := map[string][]string{
		"Put":    {"NONE", "ALL_OLD"},
		"Delete": {"NONE", "ALL_OLD"},
		"Update": {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"},
	}[op]
	if w.ReturnValues != "" {
		ok := false
		for _, a := range allowed {
			ok = ok || a == w.ReturnValues
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, ddbValidation("ReturnValues is not allowed here")
			}
			return nil, ddbValidation("Return values set to invalid value")
		}
	}
	switch w.ReturnValuesOnConditionCheckFailure {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", w.ReturnValuesOnConditionCheckFailure)
	}
	return p, nil
}

// check evaluates the condition on the current item and computes the new
// one (nil for a delete or a condition check).
func (p *ddbPrepared) check() (old, next ddbItem, touched []string, err error) {
	old, _ = p.table.find(p.part, p.rv)
	if p.cond != nil {
		env := &ddbEnv{item: old, values: p.w.ExpressionAttributeValues, kind: "ConditionExpression"}
		ok, err := env.cond(p.cond)
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			return old, nil, nil, ddbConditionFailed(old, p.w.ReturnValuesOnConditionCheckFailure)
		}
	}
	switch p.op {
	case "Put":
		next = p.w.Item.clone()
	case "Update":
		base := old
		if base == nil {
			base = p.w.Key.clone()
		}
		next, touched, err = p.upd.apply(base, p.w.ExpressionAttributeValues)
		if err != nil {
			return nil, nil, nil, err
		}
		if ddbItemSize(next) > ddbMaxItemSize {
			return nil, nil, nil, ddbValidation("Item size to update has exceeded the maximum allowed size")
		}
	}
	return old, next, touched, nil
}

// commit applies a checked write.
func (p *ddbPrepared) commit(next ddbItem) {
	switch p.op {
	case "Put", "Update":
		p.table.put(p.part, p.rv, next)
	case "Delete":
		p.table.remove(p.part, p.rv)
	}
}

// authorize decides dynamodb:<action> on the write's table.
func (p *ddbPrepared) authorize(r *request, action string) error {
	return r.srv.authorizeDynamo(r, action, p.table.ARN)
}

// authorizeDynamo is the decision point for a DynamoDB action on a table,
// for the operations that decide per element (TransactWriteItems).
// Called with s.mu held.
func (s *Server) authorizeDynamo(r *request, action, tableARN string) error {
	if s.permissive && !s.authz.on {
		return nil
	}
	return s.decideLocked(r, authzTarget{action: action, resource: tableARN, resourceAccount: r.acct.ID})
}

func ddbWriteOne(r *request, op string) (any, error) {
	var w ddbWrite
	if err := ddbDecode(r, &w); err != nil {
		return nil, err
	}
	p, err := ddbPrepare(r, op, &w)
	if err != nil {
		return nil, err
	}
	old, next, touched, err := p.check()
	if err != nil {
		return nil, err
	}
	p.commit(next)
	out := map[string]any{}
	var attrs ddbItem
	switch w.ReturnValues {
	case "ALL_OLD":
		attrs = old
	case "ALL_NEW":
		attrs = next
	case "UPDATED_OLD", "UPDATED_NEW":
		src := old
		if w.ReturnValues == "UPDATED_NEW" {
			src = next
		}
		attrs = ddbItem{}
		for _, n := range touched {
			if v := src[n]; v != nil {
				attrs[n] = v
			}
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	return out, nil
}

func ddbPutItem(r *request) (any, error)    { return ddbWriteOne(r, "Put") }
func ddbUpdateItem(r *request) (any, error) { return ddbWriteOne(r, "Update") }
func ddbDeleteItem(r *request) (any, error) { return ddbWriteOne(r, "Delete") }

func ddbGetItem(r *request) (any, error) {
	var in struct {
		TableName                string
		Key                      ddbItem
		ConsistentRead           bool
		ProjectionExpression     string
		AttributesToGet          []string
		ExpressionAttributeNames map[string]string
	}
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	if in.ProjectionExpression != "" || in.AttributesToGet != nil || in.ExpressionAttributeNames != nil {
		return nil, ddbValidation("The sandbox does not implement projections")
	}
	t, err := r.ddbTable(in.TableName)
	if err != nil {
		return nil, err
	}
	if in.Key == nil {
		return nil, ddbValidation("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	part, rv, err := t.keyOf(in.Key, false)
	if err != nil {
		return nil, err
	}
	it, _ := t.find(part, rv)
	if it == nil {
		return map[string]any{}, nil
	}
	return map[string]any{"Item": it}, nil
}

// ddbQueryPage is the most a Query reads before it stops with a
// LastEvaluatedKey, as DynamoDB does at 1 MB.
const ddbQueryPage = 1 << 20

func ddbQuery(r *request) (any, error) {
	var in struct {
		TableName                 string
		IndexName                 string
		KeyConditionExpression    string
		FilterExpression          string
		ProjectionExpression      string
		Select                    string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]*ddbValue
		ScanIndexForward          *bool
		Limit                     *int
		ExclusiveStartKey         ddbItem
		ConsistentRead            bool
		KeyConditions             json.RawMessage
	}
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	if in.IndexName != "" || in.FilterExpression != "" || in.ProjectionExpression != "" || in.Select != "" || len(in.KeyConditions) > 0 {
		return nil, ddbValidation("The sandbox implements Query with KeyConditionExpression only (no index, filter, projection, Select or KeyConditions)")
	}
	t, err := r.ddbTable(in.TableName)
	if err != nil {
		return nil, err
	}
	if in.Limit != nil && *in.Limit < 1 {
		return nil, ddbValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit)
	}
	if in.KeyConditionExpression == "" {
		return nil, ddbValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	x, err := newDDBExprs(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	c, err := x.condition("KeyConditionExpression", in.KeyConditionExpression)
	if err != nil {
		return nil, err
	}
	if err := x.checkUnused(); err != nil {
		return nil, err
	}
	hv, skCond, err := ddbKeyCondition(t, c, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	part := ddbPartitionName(hv)
	items := t.Partitions[part]
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	order := make([]ddbItem, 0, len(items))
	if forward {
		order = append(order, items...)
	} else {
		for i := len(items) - 1; i >= 0; i-- {
			order = append(order, items[i])
		}
	}
	if in.ExclusiveStartKey != nil {
		spart, srv, err := t.keyOf(in.ExclusiveStartKey, false)
		if err != nil || spart != part {
			return nil, ddbValidation("The provided starting key is invalid: The provided key element does not match the schema")
		}
		start := 0
		if t.RangeKey == "" {
			start = len(order)
		} else {
			for start < len(order) {
				c, _ := ddbCompare(order[start][t.RangeKey], srv)
				if forward && c > 0 || !forward && c < 0 {
					break
				}
				start++
			}
		}
		order = order[start:]
	}
	out := []ddbItem{}
	read := 0
	var last ddbItem
	for _, it := range order {
		if skCond != nil {
			ok, err := (&ddbEnv{item: it, values: in.ExpressionAttributeValues, kind: "KeyConditionExpression"}).cond(skCond)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, it)
		read += ddbItemSize(it)
		if in.Limit != nil && len(out) == *in.Limit || read >= ddbQueryPage {
			last = t.keyItem(it)
			break
		}
	}
	res := map[string]any{"Items": out, "Count": len(out), "ScannedCount": len(out)}
	if last != nil {
		res["LastEvaluatedKey"] = last
	}
	return res, nil
}

// ddbKeyCondition checks a key condition's shape (partition key equality,
// and at most one condition on the sort key with =, <, <=, >, >=,
// BETWEEN or begins_with) and returns the partition key value and the
// sort key condition (nil if none).
func ddbKeyCondition(t *DynamoTable, c *ddbCond, values map[string]*ddbValue) (*ddbValue, *ddbCond, error) {
	var parts []*ddbCond
	var flatten func(c *ddbCond) error
	flatten = func(c *ddbCond) error {
		switch c.op {
		case "AND":
			if err := flatten(c.subs[0]); err != nil {
				return err
			}
			return flatten(c.subs[1])
		case "OR", "NOT", "IN", "<>", "attribute_exists", "attribute_not_exists", "attribute_type", "contains":
			return ddbValidation("Invalid operator used in KeyConditionExpression: %s", c.op)
		}
		parts = append(parts, c)
		return nil
	}
	if err := flatten(c); err != nil {
		return nil, nil, err
	}
	if len(parts) > 2 {
		return nil, nil, ddbValidation("KeyConditionExpressions must only contain one condition per key")
	}
	var hv *ddbValue
	var sk *ddbCond
	for _, p := range parts {
		if p.args[0].kind != "path" || len(p.args[0].path) != 1 {
			return nil, nil, ddbValidation("Invalid KeyConditionExpression: The left-hand side of a key condition must be an attribute name")
		}
		for _, a := range p.args[1:] {
			if a.kind != "value" {
				return nil, nil, ddbValidation("Invalid KeyConditionExpression: The right-hand side of a key condition must be an expression attribute value")
			}
		}
		name := p.args[0].path[0].name
		switch {
		case name == t.HashKey:
			if p.op != "=" {
				return nil, nil, ddbValidation("Query key condition not supported")
			}
			if hv != nil {
				return nil, nil, ddbValidation("KeyConditionExpressions must only contain one condition per key")
			}
			hv = values[p.args[1].value]
			if hv.T != t.HashType {
				return nil, nil, ddbValidation("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
		case name == t.RangeKey && t.RangeKey != "":
			if sk != nil {
				return nil, nil, ddbValidation("KeyConditionExpressions must only contain one condition per key")
			}
			for _, a := range p.args[1:] {
				if v := values[a.value]; v.T != t.RangeType {
					return nil, nil, ddbValidation("One or more parameter values were invalid: Condition parameter type does not match schema type")
				}
			}
			if p.op == "begins_with" && t.RangeType == ddbN {
				return nil, nil, ddbValidation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: NUMBER")
			}
			sk = p
		default:
			return nil, nil, ddbValidation("Query condition missed key schema element: %s", t.HashKey)
		}
	}
	if hv == nil {
		return nil, nil, ddbValidation("Query condition missed key schema element: %s", t.HashKey)
	}
	return hv, sk, nil
}

// --- transactions ---

func ddbTransactWriteItems(r *request) (any, error) {
	var in struct {
		TransactItems []struct {
			ConditionCheck *ddbWrite
			Put            *ddbWrite
			Delete         *ddbWrite
			Update         *ddbWrite
		}
		ClientRequestToken string
	}
	if err := ddbDecode(r, &in); err != nil {
		return nil, err
	}
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, ddbValidation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1")
	}
	var preps []*ddbPrepared
	seen := map[string]bool{}
	for _, ti := range in.TransactItems {
		var op string
		var w *ddbWrite
		n := 0
		for _, c := range []struct {
			op string
			w  *ddbWrite
		}{{"ConditionCheck", ti.ConditionCheck}, {"Put", ti.Put}, {"Delete", ti.Delete}, {"Update", ti.Update}} {
			if c.w != nil {
				op, w = c.op, c.w
				n++
			}
		}
		if n != 1 {
			return nil, ddbValidation("TransactItems can only contain one of Check, Put, Update or Delete")
		}
		if w.ReturnValues != "" {
			return nil, ddbValidation("ReturnValues is not allowed in TransactWriteItems")
		}
		p, err := ddbPrepare(r, op, w)
		if err != nil {
			return nil, err
		}
		id := p.table.ARN + "\x00" + p.part
		if p.rv != nil {
			id += "\x00" + ddbPartitionName(p.rv)
		}
		if seen[id] {
			return nil, ddbValidation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		preps = append(preps, p)
	}
	actions := map[string]string{"ConditionCheck": "dynamodb:ConditionCheckItem", "Put": "dynamodb:PutItem", "Delete": "dynamodb:DeleteItem", "Update": "dynamodb:UpdateItem"}
	for _, p := range preps {
		if err := p.authorize(r, actions[p.op]); err != nil {
			return nil, err
		}
	}
	nexts := make([]ddbItem, len(preps))
	reasons := make([]map[string]any, len(preps))
	failed := false
	var codes []string
	for i, p := range preps {
		_, next, _, err := p.check()
		reasons[i] = map[string]any{"Code": "None"}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != "ConditionalCheckFailedException" {
				return nil, err
			}
			failed = true
			reasons[i] = map[string]any{"Code": "ConditionalCheckFailed", "Message": ae.Message}
			if item, ok := ae.Detail["Item"]; ok {
				reasons[i]["Item"] = item
			}
		}
		codes = append(codes, reasons[i]["Code"].(string))
		nexts[i] = next
	}
	if failed {
		e := errf(400, "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", strings.Join(codes, ", "))
		e.Detail = map[string]any{"CancellationReasons": reasons}
		return nil, e
	}
	for i, p := range preps {
		p.commit(nexts[i])
	}
	return map[string]any{}, nil
}

// dynamoTarget sets the table a request acts on.
func dynamoTarget(r *request, t *authzTarget) {
	var in struct{ TableName string }
	_ = json.Unmarshal(r.body, &in)
	switch r.action {
	case "ListTables":
		t.resource = "arn:aws:dynamodb:" + r.region + ":" + r.acct.ID + ":table/*"
	case "TransactWriteItems":
		t.free = true // each element is decided as its own action
	default:
		name := strings.TrimPrefix(in.TableName, "arn:aws:dynamodb:"+r.region+":"+r.acct.ID+":table/")
		t.resource = ddbTableARN(r.region, r.acct.ID, name)
	}
	t.resourceAccount = r.acct.ID
}

// dynamoTables builds an account's DynamoDB tables from the scenario.
func (b *builder) dynamoTables(path string, a *Account, specs []ScenarioDynamoTable) {
	for i, spec := range specs {
		tp := path + "[" + strconv.Itoa(i) + "]"
		region := spec.Region
		if region == "" {
			region = "us-east-1"
		} else if !regionRe.MatchString(region) {
			b.problem(tp+".region", "invalid region %q", region)
			continue
		}
		if !ddbTableName.MatchString(spec.Name) {
			b.problem(tp+".name", "invalid table name %q (3 to 255 letters, digits, _, . or -)", spec.Name)
			continue
		}
		var schema []ddbKeyElem
		var defs []ddbAttrDef
		for _, k := range []struct{ field, spec, kind string }{{"partition_key", spec.PartitionKey, "HASH"}, {"sort_key", spec.SortKey, "RANGE"}} {
			if k.spec == "" {
				if k.kind == "HASH" {
					b.problem(tp+"."+k.field, "a table needs a partition key")
				}
				continue
			}
			name, typ, _ := strings.Cut(k.spec, ":")
			if typ == "" {
				typ = ddbS
			}
			if name == "" || typ != ddbS && typ != ddbN && typ != ddbB {
				b.problem(tp+"."+k.field, "invalid key %q (want name or name:S, name:N, name:B)", k.spec)
				continue
			}
			schema = append(schema, ddbKeyElem{AttributeName: name, KeyType: k.kind})
			defs = append(defs, ddbAttrDef{AttributeName: name, AttributeType: typ})
		}
		if len(schema) == 0 {
			continue
		}
		t, err := ddbNewTable(region, a.ID, spec.Name, schema, defs, "PAY_PER_REQUEST", false, b.now)
		if err != nil {
			b.problem(tp, "%s", strings.TrimPrefix(err.Error(), "ValidationException: "))
			continue
		}
		if a.DynamoTables == nil {
			a.DynamoTables = map[string]map[string]*DynamoTable{}
		}
		if a.DynamoTables[region] == nil {
			a.DynamoTables[region] = map[string]*DynamoTable{}
		}
		if a.DynamoTables[region][spec.Name] != nil {
			b.problem(tp+".name", "duplicate table %s in %s", spec.Name, region)
			continue
		}
		a.DynamoTables[region][spec.Name] = t
	}
}
