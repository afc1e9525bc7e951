package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/keyrot/keyrot/internal/awsaccess"
	"github.com/keyrot/keyrot/internal/awsconf"
)

// PerUser runs the per-user strategy of the AWS sample solution and most
// scripts over the organization, in this process: list the accounts, and in
// each (Concurrency at once) ListUsers, then ListAccessKeys for every user
// and GetAccessKeyLastUsed for every key. It establishes fewer facts than
// keyrot's audit (no passwords, MFA, root, tags or groups) at a higher cost.
func (e *Env) PerUser(ctx context.Context) (Measure, error) {
	id, secret := e.Server.AdminCredentials()
	cfg := awsconf.Apply(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(e.URL)}, awsconf.Options{})
	acc := awsaccess.New(cfg, awsaccess.Role{SessionName: "per-user"})
	failed := 0
	m := Measure{Name: NamePerUser}
	err := e.counted(&m, func() error {
		caller, err := acc.Caller(ctx)
		if err != nil {
			return err
		}
		var accounts []string
		pages := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{})
		for pages.HasMorePages() {
			p, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list accounts: %w", err)
			}
			for _, a := range p.Accounts {
				accounts = append(accounts, aws.ToString(a.Id))
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, e.W.Concurrency)
		for _, a := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := perUserAccount(ctx, acc, a, a == caller.Account); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		return Measure{}, err
	}
	m.Failed = failed
	return m, nil
}

func perUserAccount(ctx context.Context, acc *awsaccess.Accounts, account string, own bool) error {
	cfg := acc.Own()
	if !own {
		var err error
		if cfg, err = acc.Config(ctx, account); err != nil {
			return err
		}
	}
	c := awsconf.NewIAM(cfg)
	users := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	for users.HasMorePages() {
		p, err := users.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, u := range p.Users {
			keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u.UserName})
			if err != nil {
				return err
			}
			for _, k := range keys.AccessKeyMetadata {
				if _, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
