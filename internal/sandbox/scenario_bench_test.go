package sandbox

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGenerateScenario(t *testing.T) {
	a := GenerateScenario(12, 30, 7)
	b := GenerateScenario(12, 30, 7)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(Scenario{})); diff != "" {
		t.Fatalf("not deterministic (-a +b):\n%s", diff)
	}
	if c := GenerateScenario(12, 30, 8); cmp.Equal(a, c, cmp.AllowUnexported(Scenario{})) {
		t.Fatal("seed has no effect")
	}
	s := New(Options{})
	if err := s.ApplyScenario(a); err != nil {
		t.Fatal(err)
	}
	sum := s.Summary()
	if sum.Accounts != 12 || sum.Users != 12*30 || sum.AccessKeys == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.ManagementAccountID != a.Organization.Management.ID {
		t.Errorf("management %s, want %s", sum.ManagementAccountID, a.Organization.Management.ID)
	}
}

func BenchmarkApplyDemoScenario(b *testing.B) {
	s := New(Options{})
	for b.Loop() {
		sc, err := LoadScenario("demo")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ApplyScenario(sc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateScenario200x500 builds and applies a 200-account,
// 100,000-user organization.
func BenchmarkGenerateScenario200x500(b *testing.B) {
	s := New(Options{})
	for b.Loop() {
		start := time.Now()
		sc := GenerateScenario(200, 500, 1)
		gen := time.Since(start)
		if err := s.ApplyScenario(sc); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(gen.Milliseconds()), "gen-ms")
	}
	b.ReportMetric(float64(s.Summary().Users), "users")
}
