package lambdafn_test

import (
	"testing"
)

// TestFanOutMatchesCLI runs the key lifecycle (days 90, 100, 110) on two
// identical organizations: one with keyrot apply, one with the Lambda
// handlers called in this process as the state machine calls them
// (coordinator, a worker loop per batch of two accounts, reporter). Each
// day ends in the same state with the same notices: one digest per owner
// across all accounts.
func TestFanOutMatchesCLI(t *testing.T) {
	withCLI := startOrg(t, fanScenario, fanPolicy)
	withLambda := startOrg(t, fanScenario, fanPolicy)
	compareLifecycle(t, withCLI, withLambda, inProcess(withLambda), nil)
}
