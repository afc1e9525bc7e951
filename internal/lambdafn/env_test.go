package lambdafn_test

import (
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/lambdafn"
)

// TestEnvCheck: every handler, the events one included, starts with a
// complete environment; a wrong one names each problem.
func TestEnvCheck(t *testing.T) {
	ok := lambdafn.Env{Mode: lambdafn.ModeRotate, Table: "keyrot-history"}
	for _, h := range []string{lambdafn.HandlerCoordinator, lambdafn.HandlerWorker, lambdafn.HandlerReporter, lambdafn.HandlerEvents} {
		e := ok
		e.Handler = h
		if err := e.Check(); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	bad := lambdafn.Env{Handler: "detector", Mode: "enforce", Table: "t", HistoryDB: "h.db"}
	err := bad.Check()
	for _, want := range []string{`KEYROT_HANDLER must be coordinator, worker, reporter or events (got "detector")`, "KEYROT_MODE", "exactly one of KEYROT_TABLE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
