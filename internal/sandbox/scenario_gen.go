package sandbox

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// GenerateScenario builds a large synthetic organization deterministically
// from seed, for scale tests: accounts accounts in total (the management
// account included), each with usersPerAccount users. About a third of the
// users are service users under /service/; keys are 1 to 500 days old,
// some never used, some inactive, some users have two; a few accounts are
// suspended or lack the member role, and about 1% of users are exempt by
// tag. The same arguments always give the same scenario (IDs and secrets
// of keys are still generated when the scenario is applied).
func GenerateScenario(accounts, usersPerAccount int, seed int64) *Scenario {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x5eed))
	sc := &Scenario{
		Name:        fmt.Sprintf("generated-%dx%d-%d", accounts, usersPerAccount, seed),
		Description: fmt.Sprintf("synthetic organization: %d accounts x %d users (seed %d)", accounts, usersPerAccount, seed),
		OUs: []ScenarioOU{
			{Name: "Workloads", OUs: []ScenarioOU{{Name: "Production"}, {Name: "NonProduction"}}},
			{Name: "Sandbox"},
			{Name: "Suspended"},
		},
	}
	ous := []string{"Workloads/Production", "Workloads/NonProduction", "Sandbox", ""}
	base := 100000000000 + rng.Int64N(800000000000)
	for i := range max(accounts, 1) {
		a := ScenarioAccount{
			ID:    fmt.Sprintf("%012d", (base+int64(i)*7919)%900000000000+100000000000),
			Name:  fmt.Sprintf("account-%04d", i),
			Email: fmt.Sprintf("aws+account-%04d@example.com", i),
			Root:  ScenarioRoot{MFA: rng.IntN(4) != 0},
		}
		if i > 0 {
			a.OU = ous[rng.IntN(len(ous))]
			switch {
			case i%50 == 49:
				a.Status, a.OU = "SUSPENDED", "Suspended"
			case i%40 == 39:
				a.Role = RoleSpec{None: true}
			}
			if rng.IntN(20) == 0 {
				a.Root.Keys = []ScenarioKey{genKey(rng, 1+rng.IntN(500))}
			}
		}
		a.Users = make([]ScenarioUser, 0, usersPerAccount)
		for j := range usersPerAccount {
			a.Users = append(a.Users, genUser(rng, j))
		}
		if i == 0 {
			sc.Organization.Management = a
		} else {
			sc.Accounts = append(sc.Accounts, a)
		}
	}
	return sc
}

func genUser(rng *rand.Rand, j int) ScenarioUser {
	u := ScenarioUser{Name: "user-" + strconv.Itoa(j)}
	age := 1 + rng.IntN(500)
	u.Created = strconv.Itoa(age) + "d"
	if j%3 == 0 {
		u.Name, u.Path = "svc-"+strconv.Itoa(j), "/service/"
		u.Tags = map[string]string{"owner": "team-" + strconv.Itoa(j%17) + "@example.com"}
	} else {
		if rng.IntN(2) == 0 {
			u.Tags = map[string]string{"email": u.Name + "@example.com"}
		}
		if rng.IntN(3) == 0 {
			u.Console = &ScenarioConsole{}
			if rng.IntN(4) != 0 {
				u.Console.PasswordLastUsed = strconv.Itoa(rng.IntN(age)) + "d"
			}
			u.MFA = rng.IntN(2) == 0
		}
	}
	if rng.IntN(100) == 0 {
		if u.Tags == nil {
			u.Tags = map[string]string{}
		}
		u.Tags["keyrot:exempt"] = "synthetic exemption"
	}
	n := rng.IntN(3) // 0, 1 or 2 keys
	for range n {
		u.Keys = append(u.Keys, genKey(rng, age))
	}
	return u
}

// genKey returns a key at most maxAge days old.
func genKey(rng *rand.Rand, maxAge int) ScenarioKey {
	age := 1 + rng.IntN(maxAge)
	k := ScenarioKey{Age: strconv.Itoa(age) + "d"}
	switch r := rng.IntN(100); {
	case r < 15: // never used
	case r < 20:
		k.Status = "Inactive"
		k.LastUsed = strconv.Itoa(rng.IntN(age*24)) + "h"
	default:
		k.LastUsed = strconv.Itoa(rng.IntN(age*24)) + "h"
		k.Service = []string{"s3", "sts", "ec2", "dynamodb", "lambda"}[rng.IntN(5)]
		k.Region = []string{"us-east-1", "eu-west-1", "us-west-2"}[rng.IntN(3)]
	}
	return k
}
