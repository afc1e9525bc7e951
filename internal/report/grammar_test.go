package report

import (
	"strings"
	"testing"
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
