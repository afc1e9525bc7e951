package credreport

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// BenchmarkParse parses the credential report of a 5,000-user account, the
// largest part of an audit's CPU work per account.
func BenchmarkParse(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep := &Report{}
	for i := range 5000 {
		k := EmptyKey()
		k.Active = Bool{State: StateValue, Value: true}
		k.LastRotated = At(now.Add(-time.Duration(i%400) * 24 * time.Hour))
		k.LastUsedDate = At(now.Add(-time.Hour))
		k.LastUsedRegion = Text{State: StateValue, Value: "us-east-1"}
		k.LastUsedService = Text{State: StateValue, Value: "s3"}
		row := Row{User: fmt.Sprintf("svc-%05d", i), ARN: fmt.Sprintf("arn:aws:iam::111122223333:user/service/svc-%05d", i),
			UserCreationTime: At(now.Add(-500 * 24 * time.Hour)), AccessKeys: [2]AccessKey{k, EmptyKey()}}
		rep.Users = append(rep.Users, row)
	}
	var buf bytes.Buffer
	if err := Write(&buf, rep); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		got, err := Parse(bytes.NewReader(data))
		if err != nil || len(got.Users) != 5000 {
			b.Fatalf("parse: %d users, %v", len(got.Users), err)
		}
	}
}
