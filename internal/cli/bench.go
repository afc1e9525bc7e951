package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyrot/keyrot/internal/bench"
)

func newBenchCmd(g *globalOptions) *cobra.Command {
	w := bench.DefaultWorkload()
	var (
		dueShare, findingShare float64
		preset                 string
		accountRates           map[string]string
		only                   []string
		sweep                  []int
		chart                  string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure keyrot audit and apply at organization scale against a generated sandbox organization",
		Long: `Start the sandbox with a generated organization, a per-call latency and a per-account IAM
rate limit answering AWS's Throttling error; run this keyrot binary's audit and apply, and the
per-user strategy (ListUsers, then ListAccessKeys and GetAccessKeyLastUsed for every key); print
for each the AWS calls the sandbox counted beside the floor for the workload, the wall time beside
its lower bound, throttling, failures and peak memory. docs/performance.md has the figures.`,
		Example: `  keyrot bench                                   # short form: 20 accounts x 50 users
  keyrot bench --accounts 1000 --users 100 --due 0.6
  keyrot bench --preset halved                   # the per-account rate limit halved
  keyrot bench --preset hot-account --only audit # account 1 throttles hard, the others do not
  keyrot bench --account-rate 3=0.5              # account 3 allows half a call per second`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.DueShare, w.FindingShare = dueShare, findingShare
			if preset != "" {
				if err := bench.ApplyPreset(preset, &w); err != nil {
					return usageErrorf("--preset: %v", err)
				}
			}
			for k, v := range accountRates {
				i, err1 := strconv.Atoi(k)
				r, err2 := strconv.ParseFloat(v, 64)
				if err1 != nil || err2 != nil {
					return usageErrorf("--account-rate %s=%s: want INDEX=CALLS_PER_SECOND, such as 3=0.5", k, v)
				}
				if w.AccountRates == nil {
					w.AccountRates = map[int]float64{}
				}
				w.AccountRates[i] = r
			}
			if err := w.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			for _, st := range only {
				if !slices.Contains(bench.Strategies, st) {
					return usageErrorf("--only %s: want audit, per-user or apply", st)
				}
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			if len(sweep) > 0 {
				return runSweep(cmd.Context(), g, w, bin, sweep, chart)
			}
			if chart != "" {
				return usageErrorf("--chart needs --sweep: the chart draws several organization sizes")
			}
			ms, err := bench.Run(cmd.Context(), w, bin, only...)
			if err != nil {
				return err
			}
			return outputError(bench.WriteTable(g.streams.Out, w, ms), false)
		},
	}
	f := cmd.Flags()
	f.IntVar(&w.Accounts, "accounts", w.Accounts, "accounts in the organization (the management account included)")
	f.IntVar(&w.UsersPerAccount, "users", w.UsersPerAccount, "IAM users per account")
	f.Float64Var(&w.KeysPerUser, "keys", w.KeysPerUser, "access keys per user, between 1 and 2 (1.5: half the users also hold the other key of their last rotation)")
	f.Float64Var(&dueShare, "due", w.DueShare, "share of users whose key is due for rotation")
	f.Float64Var(&findingShare, "findings", w.FindingShare, "share of the other users with another finding")
	f.DurationVar(&w.Latency, "latency", 25*time.Millisecond, "latency added to every AWS call")
	f.Float64Var(&w.RatePerAccount, "rate", w.RatePerAccount, "IAM calls per second allowed per account (0: no limit)")
	f.IntVar(&w.Burst, "burst", w.Burst, "IAM rate limiter burst per account")
	f.IntVar(&w.Concurrency, "concurrency", w.Concurrency, "accounts at once, for keyrot and the per-user strategy")
	f.StringVar(&preset, "preset", "", "named conditions: halved (the rate limit halved) or hot-account (account 1 throttles hard)")
	f.StringToStringVar(&accountRates, "account-rate", nil, "IAM calls per second in one account, by index (0 is the management account), burst 1: 3=0.5")
	f.StringSliceVar(&only, "only", nil, "strategies to run: audit, per-user, apply (default all)")
	f.IntSliceVar(&sweep, "sweep", nil, "organization sizes (accounts) to run keyrot audit and the per-user strategy at, one after the other: 10,30,100,300")
	f.StringVar(&chart, "chart", "", "with --sweep: write a PNG chart of calls and wall time against the organization's size to this file")
	return cmd
}

// runSweep measures keyrot audit and the per-user strategy at each size,
// prints them and draws the chart.
func runSweep(ctx context.Context, g *globalOptions, w bench.Workload, bin string, sizes []int, chart string) error {
	pts, err := bench.Sweep(ctx, w, bin, sizes)
	if err != nil {
		return err
	}
	if err := outputError(bench.WriteSweep(g.streams.Out, w, pts), false); err != nil {
		return err
	}
	if chart == "" {
		return nil
	}
	f, err := os.Create(chart)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := bench.WriteChart(f, w, pts); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", chart, err)
	}
	return f.Close()
}
