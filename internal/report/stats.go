package report

import (
	"cmp"
	"math"
	"slices"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

// Framework names as they appear in Controls and in every output.
const (
	FrameworkCISv3       = "cis_v3"
	FrameworkCISv5       = "cis_v5"
	FrameworkSecurityHub = "security_hub"
)

var frameworkOrder = map[string]int{FrameworkCISv3: 0, FrameworkCISv5: 1, FrameworkSecurityHub: 2}

// frameworkTitle is a framework's name for people.
func frameworkTitle(fw string) string {
	switch fw {
	case FrameworkCISv3:
		return "CIS AWS Foundations Benchmark v3.0.0"
	case FrameworkCISv5:
		return "CIS AWS Foundations Benchmark v5.0.0"
	case FrameworkSecurityHub:
		return "AWS Security Hub"
	}
	return fw
}

// ControlStat is the compliance of one control: how many resources it was
// evaluated on and how many fail it (have a finding that is not exempt).
type ControlStat struct {
	Framework string
	Control   string
	Evaluated int
	Failing   int
}

// Passing is Evaluated minus Failing.
func (c ControlStat) Passing() int { return c.Evaluated - c.Failing }

// Percent is the share of evaluated resources that pass, rounded to one
// decimal; 100 when nothing was evaluated.
func (c ControlStat) Percent() float64 {
	if c.Evaluated == 0 {
		return 100
	}
	return math.Round(float64(c.Passing())*1000/float64(c.Evaluated)) / 10
}

// resource kinds a control can be evaluated on.
const (
	kindRoot = "root" // an account's root user
	kindKey  = "key"  // an IAM user's active access key
	kindUser = "user" // an IAM user
)

// resourceOf names the resource a finding is about and its kind.
func resourceOf(f audit.Finding) (kind, id string) {
	switch {
	case f.User == RootUser:
		return kindRoot, "root|" + f.AccountID
	case f.KeyID != "":
		return kindKey, "key|" + f.AccountID + "|" + f.User + "|" + f.KeyID
	default:
		return kindUser, "user|" + f.AccountID + "|" + f.User
	}
}

// universe lists the resources of one kind in the audited accounts of snap.
func universe(snap *inventory.Snapshot, kind string) []string {
	if snap == nil {
		return nil
	}
	var out []string
	for _, a := range snap.Accounts {
		if a.Status != inventory.AccountAudited {
			continue
		}
		switch kind {
		case kindRoot:
			out = append(out, "root|"+a.ID)
		case kindUser:
			for _, u := range a.Users {
				out = append(out, "user|"+a.ID+"|"+u.Name)
			}
		case kindKey:
			for _, u := range a.Users {
				for _, k := range u.Keys {
					if k.Active() && k.ID != "" {
						out = append(out, "key|"+a.ID+"|"+u.Name+"|"+k.ID)
					}
				}
			}
		}
	}
	return out
}

// controlStats computes compliance per control named by any finding. A
// control is evaluated on every resource of the kinds its findings concern
// (root users, active user keys, users) in the audited accounts; a resource
// fails when it has a finding for the control that is not exempt. Controls no
// finding names are unknown here and are not listed.
//
// When the result carries Checks (every rule judged against every resource)
// or their tally (Compliance, from audit.Evaluate), audit.Summarize is exact
// and is used instead; a resource that could not be judged counts as
// failing there.
func (r *Report) controlStats() []ControlStat {
	res := r.result()
	if len(res.Checks) > 0 || res.Compliance != nil {
		return fromSummary(audit.Summarize(res))
	}
	type ctl struct{ fw, id string }
	kinds := map[ctl]map[string]bool{}
	seen := map[ctl]map[string]bool{}    // resources met in findings
	failing := map[ctl]map[string]bool{} // resources with a non-exempt finding
	add := func(m map[ctl]map[string]bool, c ctl, v string) {
		if m[c] == nil {
			m[c] = map[string]bool{}
		}
		m[c][v] = true
	}
	for _, f := range res.Findings {
		kind, id := resourceOf(f)
		for fw, ids := range map[string][]string{
			FrameworkCISv3: f.Controls.CISv3, FrameworkCISv5: f.Controls.CISv5, FrameworkSecurityHub: f.Controls.SecurityHub,
		} {
			for _, c := range ids {
				k := ctl{fw, c}
				add(kinds, k, kind)
				add(seen, k, id)
				if !f.Exempt {
					add(failing, k, id)
				}
			}
		}
	}
	var out []ControlStat
	for k, ks := range kinds {
		evaluated := map[string]bool{}
		for id := range seen[k] {
			evaluated[id] = true
		}
		for kind := range ks {
			for _, id := range universe(res.Snapshot, kind) {
				evaluated[id] = true
			}
		}
		out = append(out, ControlStat{Framework: k.fw, Control: k.id, Evaluated: len(evaluated), Failing: len(failing[k])})
	}
	sortControls(out)
	return out
}

// fromSummary converts audit's per-control summary to ControlStats.
func fromSummary(sum audit.Summary) []ControlStat {
	names := map[string]string{
		audit.FrameworkCISv3: FrameworkCISv3, audit.FrameworkCISv5: FrameworkCISv5, audit.FrameworkSecurityHub: FrameworkSecurityHub,
	}
	out := []ControlStat{}
	for _, c := range sum.Controls {
		fw, ok := names[c.Framework]
		if !ok {
			fw = c.Framework
		}
		out = append(out, ControlStat{Framework: fw, Control: c.Control, Evaluated: c.Evaluated, Failing: c.Failing})
	}
	sortControls(out)
	return out
}

func sortControls(out []ControlStat) {
	slices.SortFunc(out, func(a, b ControlStat) int {
		return cmp.Or(cmp.Compare(frameworkOrder[a.Framework], frameworkOrder[b.Framework]), cmp.Compare(a.Framework, b.Framework), compareControlIDs(a.Control, b.Control))
	})
}

// compareControlIDs orders "1.4" before "1.14" and "IAM.3" before "IAM.22".
func compareControlIDs(a, b string) int {
	for a != "" && b != "" {
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		if na >= 0 && nb >= 0 {
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// leadingNumber parses the digits at the start of s, or returns -1.
func leadingNumber(s string) (int, string) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 9 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 {
		return -1, s
	}
	return n, s[i:]
}

// AgeBucket is one bar of a key-age histogram.
type AgeBucket struct {
	Label   string
	MinDays int
	MaxDays int // -1 for open-ended
	Count   int
}

var bucketBounds = []struct {
	label    string
	min, max int
}{
	{"0-30", 0, 30}, {"31-60", 31, 60}, {"61-90", 61, 90},
	{"91-180", 91, 180}, {"181-365", 181, 365}, {">365", 366, -1},
}

// AccountKeyAges is the key-age histogram of one audited account.
type AccountKeyAges struct {
	AccountID   string
	AccountName string
	Keys        int
	Buckets     []AgeBucket
}

// keyAges buckets the age of every access key (users' and root's, active
// and inactive) of each audited account in the snapshot.
func (r *Report) keyAges() []AccountKeyAges {
	res := r.result()
	if res.Snapshot == nil {
		return nil
	}
	now := r.now()
	var out []AccountKeyAges
	for _, a := range res.Snapshot.Accounts {
		if a.Status != inventory.AccountAudited {
			continue
		}
		h := AccountKeyAges{AccountID: a.ID, AccountName: a.Name}
		for _, b := range bucketBounds {
			h.Buckets = append(h.Buckets, AgeBucket{Label: b.label, MinDays: b.min, MaxDays: b.max})
		}
		for _, k := range a.AccessKeys() {
			age := inventory.AgeDays(k.CreateDate, now)
			for i, b := range bucketBounds {
				if age >= b.min && (b.max < 0 || age <= b.max) {
					h.Buckets[i].Count++
					break
				}
			}
			h.Keys++
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b AccountKeyAges) int { return cmp.Compare(a.AccountID, b.AccountID) })
	return out
}
