package report

import (
	"time"

	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/inventory"
)

// fakeSecret has the shape of a secret access key. It sits in tags of the
// fixture's inventory, where a careless operator might put one; no renderer
// may ever print it.
const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3kF8sT2v"

var (
	genAt = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	keyRoot   = "AKIA2ZQ7H4RTW6KXR00T"
	keyAlice1 = "AKIAQ4L7NC2VYB5XA1C1"
	keyAlice2 = "AKIAW2M6PX7T3JR4A1C2"
	keyBob    = "AKIAJ5D3XK8N2QPLB0B7"
	keyCIBot  = "AKIAT7V2Q9W4ZM6HC1B0"
	keyDave   = "AKIAN3P8R5K2J7WQDAV3"
	keyErin   = "AKIAH6B4Y2C9X5TNER1N"
	keyFrank  = "AKIAM8Q3Z6V4L2PKFRA9"
	keyGrace  = "AKIAK2W7D5S3N8XJGR4C"
)

// fixtureKeyIDs are all access key IDs in the fixture.
var fixtureKeyIDs = []string{keyRoot, keyAlice1, keyAlice2, keyBob, keyCIBot, keyDave, keyErin, keyFrank, keyGrace}

func daysAgo(n int) time.Time { return genAt.Add(-time.Duration(n) * 24 * time.Hour) }

func ptime(t time.Time) *time.Time { return &t }

func pint(n int) *int { return &n }

func key(id string, status inventory.KeyStatus, age int, lastUsed int) inventory.AccessKey {
	k := inventory.AccessKey{ID: id, Status: status, CreateDate: daysAgo(age), LastUsedKnown: true}
	if lastUsed >= 0 {
		k.LastUsed = ptime(daysAgo(lastUsed))
		k.LastUsedService = "s3"
		k.LastUsedRegion = "eu-west-1"
	}
	return k
}

func user(acct, name string, keys ...inventory.AccessKey) inventory.User {
	return inventory.User{
		Name: name, ARN: "arn:aws:iam::" + acct + ":user/" + name, Path: "/", CreateDate: daysAgo(1000),
		Tags: map[string]string{"team": "platform", "note": fakeSecret}, Keys: keys,
	}
}

// fixtureSnapshot: two audited accounts, one failed, one skipped.
func fixtureSnapshot() *inventory.Snapshot {
	return &inventory.Snapshot{
		CollectedAt:         genAt.Add(-time.Minute),
		OrganizationID:      "o-a1b2c3d4e5",
		ManagementAccountID: "111111111111",
		Accounts: []inventory.Account{
			{
				ID: "222222222222", Name: "dev", Status: inventory.AccountAudited,
				ReportGeneratedAt: genAt.Add(-26 * time.Hour),
				Root:              &inventory.Root{MFAActive: false},
				Users: []inventory.User{
					user("222222222222", "dave", key(keyDave, inventory.KeyActive, 95, 1)),
					user("222222222222", "erin", key(keyErin, inventory.KeyActive, 40, -1)),
					user("222222222222", "frank", key(keyFrank, inventory.KeyActive, 85, 0)),
					user("222222222222", "grace", key(keyGrace, inventory.KeyInactive, 400, 300)),
				},
			},
			{
				ID: "111111111111", Name: "prod", Status: inventory.AccountAudited,
				Tags:              map[string]string{"secret": fakeSecret},
				ReportGeneratedAt: genAt.Add(-2 * time.Hour),
				Root:              &inventory.Root{MFAActive: true, Keys: []inventory.AccessKey{key(keyRoot, inventory.KeyActive, 900, 30)}},
				Users: []inventory.User{
					user("111111111111", "alice", key(keyAlice1, inventory.KeyActive, 412, 3), key(keyAlice2, inventory.KeyActive, 10, 1)),
					user("111111111111", "bob", key(keyBob, inventory.KeyActive, 250, 120)),
					user("111111111111", "ci-bot", key(keyCIBot, inventory.KeyActive, 500, 0)),
					{Name: "carol", ARN: "arn:aws:iam::111111111111:user/people/carol", Path: "/people/", CreateDate: daysAgo(300),
						Password: &inventory.Password{Enabled: true, LastUsed: ptime(daysAgo(2))}},
				},
			},
			{
				ID: "333333333333", Name: "sandbox", Status: inventory.AccountFailed,
				Reason: "assume role arn:aws:iam::333333333333:role/OrganizationAccountAccessRole: AccessDenied",
			},
			{ID: "444444444444", Name: "old-project", Status: inventory.AccountSkipped, Reason: "account is SUSPENDED"},
		},
	}
}

var (
	ctlKeyAge   = audit.Controls{CISv3: []string{"1.14"}, CISv5: []string{"2.13"}, SecurityHub: []string{"IAM.3"}}
	ctlUnused   = audit.Controls{CISv3: []string{"1.12"}, CISv5: []string{"2.11"}, SecurityHub: []string{"IAM.22"}}
	ctlRootKey  = audit.Controls{CISv3: []string{"1.4"}, CISv5: []string{"2.3"}, SecurityHub: []string{"IAM.4"}}
	ctlRootMFA  = audit.Controls{CISv3: []string{"1.5"}, CISv5: []string{"2.4"}, SecurityHub: []string{"IAM.9"}}
	ctlOneKey   = audit.Controls{CISv3: []string{"1.13"}, CISv5: []string{"2.12"}}
	ctlMFA      = audit.Controls{CISv3: []string{"1.10"}, CISv5: []string{"2.9"}, SecurityHub: []string{"IAM.5"}}
	ctlNoSetup  = audit.Controls{CISv3: []string{"1.11"}}
	remRotate   = "Create a new access key, move its users to it, then deactivate and delete the old key."
	remUnused   = "Deactivate the key; delete it if nobody objects within 30 days."
	remRootKey  = "Delete the root user's access keys; use IAM roles instead."
	remRootMFA  = "Enable MFA (preferably a hardware key) for the root user."
	remOneKey   = "Keep one active access key per user; deactivate the other after rotation."
	remMFA      = "Require MFA for every user with a console password."
	remNeverUse = "Delete access keys that were never used."
)

func finding(rule, title string, sev audit.Severity, acct, acctName, usr, keyID string, ev audit.Evidence, ctl audit.Controls, rem string) audit.Finding {
	return audit.Finding{
		ID: rule + "/" + acct + "/" + usr + "/" + keyID, Rule: rule, Title: title, Severity: sev,
		AccountID: acct, AccountName: acctName, User: usr, KeyID: keyID, Evidence: ev, Controls: ctl, Remediation: rem,
	}
}

// fixtureReport is a realistic report: ten findings of seven rules, one exempt, one on a root key.
func fixtureReport() *Report {
	exempt := finding("key-age", "Access key older than its rotation limit", audit.SeverityHigh, "111111111111", "prod", "ci-bot", keyCIBot,
		audit.Evidence{CreateDate: ptime(daysAgo(500)), AgeDays: pint(500), ThresholdDays: 90}, ctlKeyAge, remRotate)
	exempt.Exempt = true
	exempt.Exemption = &audit.ExemptionApplied{Match: "user:ci-bot", Reason: "vendor integration, rotation tracked in CHG-1234", Expires: time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC)}

	findings := []audit.Finding{
		finding("key-never-used", "Access key never used", audit.SeverityLow, "222222222222", "dev", "erin", keyErin,
			audit.Evidence{CreateDate: ptime(daysAgo(40)), AgeDays: pint(40), Detail: "never used since creation"}, ctlNoSetup, remNeverUse),
		finding("key-age", "Access key older than its rotation limit", audit.SeverityHigh, "111111111111", "prod", "alice", keyAlice1,
			audit.Evidence{CreateDate: ptime(daysAgo(412)), AgeDays: pint(412), LastUsed: ptime(daysAgo(3)), LastUsedService: "s3", LastUsedRegion: "eu-west-1", DaysSinceUse: pint(3), ThresholdDays: 90}, ctlKeyAge, remRotate),
		finding("root-access-key", "Root user has an active access key", audit.SeverityCritical, "111111111111", "prod", RootUser, keyRoot,
			audit.Evidence{CreateDate: ptime(daysAgo(900)), AgeDays: pint(900)}, ctlRootKey, remRootKey),
		finding("multiple-active-keys", "User has more than one active access key", audit.SeverityMedium, "111111111111", "prod", "alice", "",
			audit.Evidence{Detail: "2 active keys: " + keyAlice1 + ", " + keyAlice2}, ctlOneKey, remOneKey),
		finding("key-unused", "Active access key unused beyond its limit", audit.SeverityMedium, "111111111111", "prod", "bob", keyBob,
			audit.Evidence{CreateDate: ptime(daysAgo(250)), AgeDays: pint(250), LastUsed: ptime(daysAgo(120)), LastUsedService: "sts", LastUsedRegion: "us-east-1", DaysSinceUse: pint(120), ThresholdDays: 45}, ctlUnused, remUnused),
		exempt,
		finding("console-without-mfa", "Console user without MFA", audit.SeverityHigh, "111111111111", "prod", "carol", "",
			audit.Evidence{Detail: "console password enabled, no MFA device"}, ctlMFA, remMFA),
		finding("key-age", "Access key older than its rotation limit", audit.SeverityHigh, "222222222222", "dev", "dave", keyDave,
			audit.Evidence{CreateDate: ptime(daysAgo(95)), AgeDays: pint(95), LastUsed: ptime(daysAgo(1)), DaysSinceUse: pint(1), ThresholdDays: 90}, ctlKeyAge, remRotate),
		finding("root-mfa", "Root user without MFA", audit.SeverityHigh, "222222222222", "dev", RootUser, "",
			audit.Evidence{}, ctlRootMFA, remRootMFA),
		finding("key-rotation-due", "Access key due for rotation soon", audit.SeverityInfo, "222222222222", "dev", "frank", keyFrank,
			audit.Evidence{CreateDate: ptime(daysAgo(85)), AgeDays: pint(85), ThresholdDays: 90, Detail: "rotation due in 5 days"}, audit.Controls{}, remRotate),
	}
	return &Report{
		Result:      &audit.Result{GeneratedAt: genAt, Snapshot: fixtureSnapshot(), Findings: findings},
		ToolVersion: "v0.3.0",
		StartedAt:   genAt.Add(-90 * time.Second),
		FinishedAt:  genAt,
	}
}
