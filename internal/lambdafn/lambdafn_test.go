package lambdafn_test

import (
	"os"
	"testing"
)

// TestFanOutMatchesCLI runs the key lifecycle (days 90, 100, 110) on two
// identical organizations: one with keyrot apply, one with the Lambda
// handlers called in this process as the state machine calls them
// (coordinator, a worker loop per batch of two accounts, reporter). Each
// day ends in the same state with the same notices: one digest per owner
// across all accounts.
//
// The same as TestLambdaRuntimeLifecycle without the runtime, so it runs
// only with KEYROT_LAMBDA_LONG=1 (or when the emulator is missing).
func TestFanOutMatchesCLI(t *testing.T) {
	if os.Getenv("KEYROT_LAMBDA_LONG") != "1" && os.Getenv("KEYROT_LAMBDA_RIE") != "" {
		t.Skip("covered by TestLambdaRuntimeLifecycle; KEYROT_LAMBDA_LONG=1 runs it")
	}
	withCLI := startOrg(t, fanScenario, fanPolicy)
	withLambda := startOrg(t, fanScenario, fanPolicy)
	compareLifecycle(t, withCLI, withLambda, inProcess(withLambda), nil)
}
