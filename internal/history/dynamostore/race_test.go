package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/history/dynamostore"
	"github.com/keyrot/keyrot/internal/sandboxtest"
)

// raceSize is how many workers race over how many accounts for how many
// rounds: small by default, KEYROT_LEASE_RACE=WORKERS,ACCOUNTS,ROUNDS for a
// long run.
func raceSize(t *testing.T) (workers, accounts, rounds int) {
	workers, accounts, rounds = 8, 12, 2
	if v := os.Getenv("KEYROT_LEASE_RACE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &workers, &accounts, &rounds); err != nil {
			t.Fatalf("KEYROT_LEASE_RACE=%q: want WORKERS,ACCOUNTS,ROUNDS", v)
		}
	}
	return workers, accounts, rounds
}

// leaseRace runs workers that each, like one of several overlapping Step
// Functions executions, go through the same accounts in their own order:
// acquire the account's lease, act (renewing the lease between steps, and
// stopping if it is lost), release. A shared board records who acts on
// which account; an account with two actors at once fails the test. Each
// worker's store has its own client, as separate Lambda invocations do.
func leaseRace(t *testing.T, newClient func() *dynamodb.Client, table string) {
	workers, accounts, rounds := raceSize(t)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		acting  = map[string]string{}
		acted   = map[string]int{}
		refused int
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := dynamostore.New(newClient(), table)
			owner := "execution-" + strconv.Itoa(w)
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range rounds {
				for _, a := range rng.Perm(accounts) {
					acct := fmt.Sprintf("%012d", 100000000000+a)
					_, err := s.AcquireLease(ctx, acct, owner, time.Minute, time.Now())
					if errors.Is(err, history.ErrLeaseHeld) {
						mu.Lock()
						refused++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("%s acquire %s: %v", owner, acct, err)
						return
					}
					for step := range 2 {
						mu.Lock()
						if other := acting[acct]; other != "" {
							t.Errorf("%s acts on %s while %s does", owner, acct, other)
						}
						acting[acct] = owner
						acted[acct]++
						mu.Unlock()
						runtime.Gosched()
						mu.Lock()
						delete(acting, acct)
						mu.Unlock()
						if step == 0 {
							if _, err := s.RenewLease(ctx, acct, owner, time.Minute, time.Now()); err != nil {
								t.Errorf("%s renew %s: %v", owner, acct, err)
								break
							}
						}
					}
					if err := s.ReleaseLease(ctx, acct, owner); err != nil {
						t.Errorf("%s release %s: %v", owner, acct, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(acted) != accounts {
		t.Errorf("%d of %d accounts were acted on", len(acted), accounts)
	}
	t.Logf("%d workers, %d accounts, %d rounds: %d acquisitions refused while held", workers, accounts, rounds, refused)
}

// TestLeaseRaceSandbox races executions for leases on the sandbox's
// DynamoDB over HTTP.
func TestLeaseRaceSandbox(t *testing.T) {
	env := sandboxtest.Start(t, "")
	admin := dynamodb.NewFromConfig(env.Admin())
	table := createTable(t, admin)
	leaseRace(t, func() *dynamodb.Client { return dynamodb.NewFromConfig(env.Admin()) }, table)
}

// BenchmarkLeaseCycle measures one acquire-renew-release cycle against the
// sandbox's DynamoDB over HTTP.
func BenchmarkLeaseCycle(b *testing.B) {
	env := sandboxtest.Start(b, "")
	c := dynamodb.NewFromConfig(env.Admin())
	s := dynamostore.New(c, createTable(b, c))
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		acct := strconv.Itoa(i % 100)
		if _, err := s.AcquireLease(ctx, acct, "bench", time.Minute, time.Time{}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.RenewLease(ctx, acct, "bench", time.Minute, time.Time{}); err != nil {
			b.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, acct, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
