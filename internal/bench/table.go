package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Strategies are the measures Run can take, in the order it takes them.
var Strategies = []string{"audit", "per-user", "apply"}

// Run measures keyrot audit, the per-user strategy and keyrot apply over
// one workload, in that order, on one sandbox; strategies, when not empty,
// names the ones to run (see Strategies).
func Run(ctx context.Context, w Workload, keyrotBin string, strategies ...string) ([]Measure, error) {
	for _, s := range strategies {
		if !slices.Contains(Strategies, s) {
			return nil, fmt.Errorf("unknown strategy %q (want audit, per-user or apply)", s)
		}
	}
	want := func(s string) bool { return len(strategies) == 0 || slices.Contains(strategies, s) }
	e, err := Start(ctx, w)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var ms []Measure
	var audit Measure
	if want("audit") {
		if audit, err = e.Audit(ctx, keyrotBin); err != nil {
			return nil, err
		}
		ms = append(ms, audit)
	}
	if want("per-user") {
		perUser, err := e.PerUser(ctx)
		if err != nil {
			return nil, err
		}
		perUser.Floor, perUser.LowerBound = audit.Floor, audit.LowerBound
		ms = append(ms, perUser)
	}
	if want("apply") {
		apply, err := e.Apply(ctx, keyrotBin)
		if err != nil {
			return nil, err
		}
		ms = append(ms, apply)
	}
	return ms, nil
}

// WriteTable prints the measures of one workload: calls beside the floor,
// wall time beside its lower bound, throttling, memory, and the calls by
// operation.
func WriteTable(out io.Writer, w Workload, ms []Measure) error {
	fmt.Fprintf(out, "workload: %d accounts x %d users, %g key(s) each, %.0f%% due, %.0f%% other findings; latency %s, IAM %g calls/s per account (burst %d), concurrency %d\n\n",
		w.Accounts, w.UsersPerAccount, w.KeysPerUser, 100*w.DueShare, 100*w.FindingShare, w.Latency, w.RatePerAccount, w.Burst, w.Concurrency)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tcalls\tper account\tfloor\tx floor\twall\tlower bound\tx bound\tthrottled\tfailed\tactions\tpeak MiB\tkeyrot CPU\tbench CPU\tsandbox calls/s\t")
	for _, m := range ms {
		ratio := func(a, b float64) string {
			if b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		floor, bound := "-", "-"
		if m.Floor > 0 {
			floor = fmt.Sprint(m.Floor)
		}
		if m.LowerBound > 0 {
			bound = m.LowerBound.Round(time.Millisecond).String()
		}
		mem := "-"
		if m.PeakRSSKiB > 0 {
			mem = fmt.Sprintf("%.0f", float64(m.PeakRSSKiB)/1024)
		}
		kcpu := "-"
		if m.KeyrotCPU > 0 {
			kcpu = m.KeyrotCPU.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%.0f\t\n", m.Name, m.Calls, float64(m.Calls)/float64(w.Accounts),
			floor, ratio(float64(m.Calls), float64(m.Floor)), m.Wall.Round(time.Millisecond), bound,
			ratio(float64(m.Wall), float64(m.LowerBound)), m.Throttled, m.Failed, m.Actions, mem, kcpu, m.BenchCPU.Round(10*time.Millisecond),
			float64(m.Calls)/m.Wall.Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeFewer(out, ms)
	if len(w.AccountRates) > 0 {
		writeSpans(out, w, ms)
	}
	for _, m := range ms {
		fmt.Fprintf(out, "\n%s, calls by operation:", m.Name)
		ops := make([]string, 0, len(m.ByOp))
		for op := range m.ByOp {
			ops = append(ops, op)
		}
		sort.Slice(ops, func(i, j int) bool {
			return m.ByOp[ops[i]] > m.ByOp[ops[j]] || m.ByOp[ops[i]] == m.ByOp[ops[j]] && ops[i] < ops[j]
		})
		var parts []string
		for _, op := range ops {
			parts = append(parts, fmt.Sprintf("%s %d", op, m.ByOp[op]))
		}
		fmt.Fprintf(out, " %s\n", strings.Join(parts, ", "))
		if m.Actions > 0 {
			fmt.Fprintf(out, "  %.1f calls per change\n", float64(m.Calls)/float64(m.Actions))
		}
	}
	return nil
}

// writeSpans compares how long the accounts with a rate override were
// worked on with the others (first call to last call in each account).
func writeSpans(out io.Writer, w Workload, ms []Measure) {
	slow := map[string]bool{}
	for i := range w.AccountRates {
		slow[AccountID(i)] = true
	}
	fmt.Fprintf(out, "\ntime each account was worked on (first call to last):\n")
	for _, m := range ms {
		var hot, others []time.Duration
		for acct, d := range m.Spans {
			if slow[acct] {
				hot = append(hot, d)
			} else if acct != AccountID(0) { // the management account also serves the organization's calls
				others = append(others, d)
			}
		}
		slices.Sort(hot)
		slices.Sort(others)
		if len(others) == 0 {
			continue
		}
		pct := func(ds []time.Duration, p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
		hotText := "-"
		if len(hot) > 0 {
			hotText = hot[len(hot)-1].Round(time.Millisecond).String()
		}
		fmt.Fprintf(out, "  %s: overridden accounts %s; others median %s, p90 %s, max %s\n", m.Name, hotText,
			pct(others, 0.5).Round(time.Millisecond), pct(others, 0.9).Round(time.Millisecond), others[len(others)-1].Round(time.Millisecond))
	}
}

// writeFewer compares the calls of keyrot's audit for access keys with the
// per-user strategy's, when both ran.
func writeFewer(out io.Writer, ms []Measure) {
	var keyrot, perUser *Measure
	for i := range ms {
		switch ms[i].Name {
		case NameAudit:
			keyrot = &ms[i]
		case NamePerUser:
			perUser = &ms[i]
		}
	}
	if keyrot == nil || perUser == nil || keyrot.AccessKeyCalls() == 0 {
		return
	}
	k := keyrot.AccessKeyCalls()
	fmt.Fprintf(out, "\naccess keys: keyrot audit %d calls (%d in all, less the other kinds' %d), per-user strategy %d: %.1fx fewer\n",
		k, keyrot.Calls, keyrot.Calls-k, perUser.Calls, float64(perUser.Calls)/float64(k))
}
