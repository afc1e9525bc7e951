package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/policy"
)

// TestSingularCounts: one finding is "1 finding", in every human format.
func TestSingularCounts(t *testing.T) {
	r := fixtureReport()
	r.Result.Findings = r.Result.Findings[:1]
	for _, tt := range []struct{ format, want, not string }{
		{"table", "Summary: 1 finding (", "1 findings"},
		{"html", "<strong>1</strong> finding,", "1</strong> findings"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			got := render(t, tt.format, Options{NoColor: true}, r)
			if !strings.Contains(got, tt.want) || strings.Contains(got, tt.not) {
				t.Errorf("%s: want %q and no %q in\n%s", tt.format, tt.want, tt.not, got)
			}
		})
	}
}

// TestCSVLineEndings: RFC 4180 records end in CRLF, every one of them.
func TestCSVLineEndings(t *testing.T) {
	got := render(t, "csv", Options{}, fixtureReport())
	lines := strings.SplitAfter(got, "\r\n")
	if n := len(fixtureReport().Result.Findings) + 1; len(lines) < n || !strings.HasSuffix(got, "\r\n") {
		t.Fatalf("%d CRLF-terminated records, want at least %d:\n%q", len(lines)-1, n, got)
	}
	if strings.Contains(strings.ReplaceAll(got, "\r\n", ""), "\n") && !strings.Contains(got, "\"") {
		t.Errorf("a bare LF outside a quoted cell:\n%q", got)
	}
}

// TestSARIFForGitHub: rule texts are generic (they name no user, whatever
// the findings say), every rule has a fullDescription, and every result has
// a physical location with a line, as GitHub code scanning requires.
func TestSARIFForGitHub(t *testing.T) {
	r := fixtureReport()
	for i := range r.Result.Findings {
		f := &r.Result.Findings[i]
		f.Rule = []string{policy.RuleAccessKeyAge, policy.RuleConsoleNoMFA, policy.RuleAccessKeyInactiveLinger, policy.RuleAccountNotAudited}[i%4]
		f.Remediation = "Have " + f.User + " do something about --user-name " + f.User
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID               string
						ShortDescription struct{ Text string }
						FullDescription  *struct{ Text string }
						Help             *struct{ Text string }
					}
				}
			}
			Results []struct {
				RuleID    string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(render(t, "sarif", Options{}, r)), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != 4 {
		t.Fatalf("%d rules, want 4", len(run.Tool.Driver.Rules))
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.FullDescription == nil || rule.FullDescription.Text == "" || rule.Help == nil {
			t.Errorf("rule %s: no fullDescription or help", rule.ID)
			continue
		}
		for _, f := range r.Result.Findings {
			text := rule.ShortDescription.Text + rule.FullDescription.Text + rule.Help.Text
			if f.User != "" && f.User != RootUser && strings.Contains(text, f.User) {
				t.Errorf("rule %s names user %s: %s", rule.ID, f.User, text)
			}
		}
	}
	for _, res := range run.Results {
		if len(res.Locations) == 0 || res.Locations[0].PhysicalLocation == nil ||
			!strings.HasPrefix(res.Locations[0].PhysicalLocation.ArtifactLocation.URI, "aws/") || res.Locations[0].PhysicalLocation.Region.StartLine != 1 {
			t.Errorf("result %s: no physical location GitHub accepts: %+v", res.RuleID, res.Locations)
		}
	}
}
