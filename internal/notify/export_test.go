package notify

// Exported for the external tests (package notify_test), which drive the
// notifier through the sandbox.
var (
	FixtureItems  = fixtureItems
	FixtureConfig = fixtureConfig
	FixtureNow    = fixtureNow
	Golden        = golden
	GoldenName    = goldenName
	NoSleep       = noSleep
	Quiet         = quiet
)
