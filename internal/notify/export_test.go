package notify

// Exported for the external tests (package notify_test), which exist
// because the sandbox imports policy, which imports notify.
var (
	FixtureItems  = fixtureItems
	FixtureConfig = fixtureConfig
	FixtureNow    = fixtureNow
	Golden        = golden
	GoldenName    = goldenName
	NoSleep       = noSleep
	Quiet         = quiet
)
