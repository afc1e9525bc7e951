package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Run measures keyrot audit, the per-user strategy and keyrot apply over
// one workload, in that order, on one sandbox.
func Run(ctx context.Context, w Workload, keyrotBin string) ([]Measure, error) {
	e, err := Start(ctx, w)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	audit, err := e.Audit(ctx, keyrotBin)
	if err != nil {
		return nil, err
	}
	perUser, err := e.PerUser(ctx)
	if err != nil {
		return nil, err
	}
	perUser.Floor, perUser.LowerBound = audit.Floor, audit.LowerBound
	apply, err := e.Apply(ctx, keyrotBin)
	if err != nil {
		return nil, err
	}
	return []Measure{audit, perUser, apply}, nil
}

// WriteTable prints the measures of one workload: calls beside the floor,
// wall time beside its lower bound, throttling, memory, and the calls by
// operation.
func WriteTable(out io.Writer, w Workload, ms []Measure) error {
	fmt.Fprintf(out, "workload: %d accounts x %d users, %d key(s) each, %.0f%% due, %.0f%% other findings; latency %s, IAM %g calls/s per account (burst %d), concurrency %d\n\n",
		w.Accounts, w.UsersPerAccount, w.KeysPerUser, 100*w.DueShare, 100*w.FindingShare, w.Latency, w.RatePerAccount, w.Burst, w.Concurrency)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tcalls\tper account\tfloor\tx floor\twall\tlower bound\tx bound\tthrottled\tfailed\tactions\tpeak MiB\tsandbox calls/s\t")
	for _, m := range ms {
		ratio := func(a, b float64) string {
			if b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", a/b)
		}
		floor, bound := "-", "-"
		if m.Floor > 0 {
			floor, bound = fmt.Sprint(m.Floor), m.LowerBound.Round(time.Millisecond).String()
		}
		mem := "-"
		if m.PeakRSSKiB > 0 {
			mem = fmt.Sprintf("%.0f", float64(m.PeakRSSKiB)/1024)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%.0f\t\n", m.Name, m.Calls, float64(m.Calls)/float64(w.Accounts),
			floor, ratio(float64(m.Calls), float64(m.Floor)), m.Wall.Round(time.Millisecond), bound,
			ratio(float64(m.Wall), float64(m.LowerBound)), m.Throttled, m.Failed, m.Actions, mem, float64(m.Calls)/m.Wall.Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
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
