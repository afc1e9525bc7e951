package audit

import (
	"cmp"
	"sort"
	"strconv"
	"strings"

	"github.com/keyrot/keyrot/internal/inventory"
)

// Framework names used in Summary.
const (
	FrameworkCISv3       = "CIS AWS Foundations Benchmark v3.0.0"
	FrameworkCISv5       = "CIS AWS Foundations Benchmark v5.0.0"
	FrameworkSecurityHub = "AWS Security Hub"
)

// ControlSummary is how many resources one control was evaluated on and how
// many passed. A resource fails a control when any check of it fails that
// control without an exemption, or could not be judged (Unknown).
type ControlSummary struct {
	Framework string `json:"framework"`
	Control   string `json:"control"`
	Evaluated int    `json:"evaluated"`
	Passing   int    `json:"passing"` // includes Exempt
	Failing   int    `json:"failing"` // includes Unknown
	Exempt    int    `json:"exempt"`
	Unknown   int    `json:"unknown"`
	// Percent is Passing/Evaluated*100, or 100 when nothing was evaluated.
	Percent float64 `json:"percent"`
}

// Summary is the compliance summary of one audit.
type Summary struct {
	Controls []ControlSummary `json:"controls"`
}

type ctlKey struct{ framework, control string }

func (c Controls) each(f func(framework, control string)) {
	for _, id := range c.CISv3 {
		f(FrameworkCISv3, id)
	}
	for _, id := range c.CISv5 {
		f(FrameworkCISv5, id)
	}
	for _, id := range c.SecurityHub {
		f(FrameworkSecurityHub, id)
	}
}

// Summarize computes, per control, the resources evaluated and passing:
// from res.Checks when they are set, else from the tally Evaluate keeps
// in res.Compliance.
func Summarize(res *Result) Summary {
	if len(res.Checks) > 0 {
		var t tally
		t.add(res.Checks)
		return t.summary()
	}
	if res.Compliance != nil {
		return Summary{Controls: append([]ControlSummary(nil), res.Compliance.Controls...)}
	}
	return Summary{}
}

// tally counts checks per control without keeping them: a resource is
// counted once per control however many checks of it there are, so the
// checks of one resource must be added in one batch (Evaluate adds an
// account's checks at once; resources name their account).
type tally struct {
	counts map[ctlKey]*ControlSummary
	// batch holds one batch's resource sets, cleared and reused.
	batch map[ctlKey]*batchState
	order []ctlKey
}

// batchState is the resources of one batch per control.
type batchState struct{ evaluated, failed, exempt, unknown map[string]bool }

// add counts a batch of checks.
func (t *tally) add(checks []Check) {
	if t.batch == nil {
		t.batch = map[ctlKey]*batchState{}
		t.counts = map[ctlKey]*ControlSummary{}
	}
	for _, s := range t.batch {
		clear(s.evaluated)
		clear(s.failed)
		clear(s.exempt)
		clear(s.unknown)
	}
	t.order = t.order[:0]
	seen := map[ctlKey]bool{}
	get := func(k ctlKey) *batchState {
		if !seen[k] {
			seen[k] = true
			t.order = append(t.order, k)
		}
		s := t.batch[k]
		if s == nil {
			s = &batchState{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
			t.batch[k] = s
		}
		return s
	}
	for _, c := range checks {
		c.Controls.each(func(fw, id string) {
			s := get(ctlKey{fw, id})
			s.evaluated[c.Resource] = true
			switch {
			case c.Unknown:
				s.unknown[c.Resource] = true
			case c.Exempt:
				s.exempt[c.Resource] = true
			}
		})
		c.Failed.each(func(fw, id string) { get(ctlKey{fw, id}).failed[c.Resource] = true })
	}
	for _, k := range t.order {
		s := t.batch[k]
		failing := len(s.failed)
		for r := range s.unknown {
			if !s.failed[r] {
				failing++
			}
		}
		exempt := 0
		for r := range s.exempt {
			if !s.failed[r] && !s.unknown[r] {
				exempt++
			}
		}
		cs := t.counts[k]
		if cs == nil {
			cs = &ControlSummary{Framework: k.framework, Control: k.control}
			t.counts[k] = cs
		}
		cs.Evaluated += len(s.evaluated)
		cs.Failing += failing
		cs.Exempt += exempt
		cs.Unknown += len(s.unknown)
	}
}

// summary returns the counts, one entry per control, in framework and
// control order.
func (t *tally) summary() Summary {
	var out Summary
	for _, c := range t.counts {
		cs := *c
		cs.Passing = cs.Evaluated - cs.Failing
		cs.Percent = 100
		if cs.Evaluated > 0 {
			cs.Percent = float64(cs.Passing) * 100 / float64(cs.Evaluated)
		}
		out.Controls = append(out.Controls, cs)
	}
	order := map[string]int{FrameworkCISv3: 0, FrameworkCISv5: 1, FrameworkSecurityHub: 2}
	sort.Slice(out.Controls, func(i, j int) bool {
		a, b := out.Controls[i], out.Controls[j]
		if a.Framework != b.Framework {
			return order[a.Framework] < order[b.Framework]
		}
		return CompareControls(a.Control, b.Control) < 0
	})
	return out
}

// CompareControls orders control IDs "1.4" before "1.10" and "IAM.3"
// before "IAM.22": numeric parts by value, others as text. It returns a
// negative number, zero or a positive number, as cmp.Compare does.
func CompareControls(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			if na != nb {
				return cmp.Compare(na, nb)
			}
			continue
		}
		if pa[i] != pb[i] {
			return cmp.Compare(pa[i], pb[i])
		}
	}
	return cmp.Compare(len(pa), len(pb))
}

// AgeBucket is one bar of a key-age histogram.
type AgeBucket struct {
	Label   string `json:"label"`
	MinDays int    `json:"min_days"`
	MaxDays int    `json:"max_days"` // -1: no upper bound
	Count   int    `json:"count"`
}

// AccountKeyAges is the age histogram of one account's active access keys
// (IAM users' and the root user's).
type AccountKeyAges struct {
	AccountID   string      `json:"account_id"`
	AccountName string      `json:"account_name,omitempty"`
	Buckets     []AgeBucket `json:"buckets"`
}

func newBuckets() []AgeBucket {
	return []AgeBucket{
		{Label: "0-30", MinDays: 0, MaxDays: 30},
		{Label: "31-60", MinDays: 31, MaxDays: 60},
		{Label: "61-90", MinDays: 61, MaxDays: 90},
		{Label: "91-180", MinDays: 91, MaxDays: 180},
		{Label: "181-365", MinDays: 181, MaxDays: 365},
		{Label: ">365", MinDays: 366, MaxDays: -1},
	}
}

// KeyAgeHistogram counts the active keys of every audited account of the
// result's snapshot by age in whole days at res.GeneratedAt.
func KeyAgeHistogram(res *Result) []AccountKeyAges {
	if res.Snapshot == nil {
		return nil
	}
	var out []AccountKeyAges
	for _, a := range res.Snapshot.Accounts {
		if a.Status == inventory.AccountFailed || a.Status == inventory.AccountSkipped {
			continue
		}
		h := AccountKeyAges{AccountID: a.ID, AccountName: a.Name, Buckets: newBuckets()}
		add := func(k inventory.AccessKey) {
			if !k.Active() {
				return
			}
			age := inventory.AgeDays(k.CreateDate, res.GeneratedAt)
			for i := range h.Buckets {
				b := &h.Buckets[i]
				if age >= b.MinDays && (b.MaxDays < 0 || age <= b.MaxDays) {
					b.Count++
					return
				}
			}
		}
		for _, k := range a.AccessKeys() {
			add(k)
		}
		out = append(out, h)
	}
	return out
}
