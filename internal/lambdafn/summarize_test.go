package lambdafn

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzSummarize: whatever the Map hands the reporter (worker states,
// nulls, Step Functions' error objects, garbage), summarize never panics,
// counts every result that is not a finished worker state as a batch that
// did not finish, and calls such a run failed.
func FuzzSummarize(f *testing.F) {
	for _, seed := range []string{
		`[{"run":{"mode":"enforce"},"batch":{"index":0,"accounts":[{"id":"111122223333","status":""}]},"next":1,"done":true,"results":[{"account":"111122223333","status":"succeeded","actions":[{"kind":"create-key","user":"app","status":"succeeded"}]}]}]`,
		`[null]`,
		`[{"Error":"States.Timeout","Cause":"x"}]`,
		`[{"batch":{"index":3,"accounts":[{"id":"1","status":""},{"id":"2","status":""}]},"next":1,"done":false,"error":{"Error":"Error","Cause":"boom"}}]`,
		`[{"batch":{"accounts":[]},"next":5,"done":false}]`,
		`[1, "x", []]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, results string) {
		var raw []json.RawMessage
		if json.Unmarshal([]byte(results), &raw) != nil {
			return
		}
		s, _ := summarize(ReporterInput{Results: raw})
		unfinished := 0
		for _, r := range raw {
			var st WorkerState
			if json.Unmarshal(r, &st) != nil || string(r) == "null" || !st.Done {
				unfinished++
			}
		}
		if s.BatchesFailed != unfinished {
			t.Fatalf("%d batches failed, want %d: %s", s.BatchesFailed, unfinished, results)
		}
		if unfinished > 0 && (s.Status != "failed" || !strings.Contains(s.Summary, "did not finish")) {
			t.Fatalf("a run with unfinished batches is %q: %s", s.Status, s.Summary)
		}
	})
}
