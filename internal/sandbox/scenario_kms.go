package sandbox

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

var (
	kmsKeyIDRe   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	regionRe     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	sesDomainRe  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	kmsAliasName = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
)

// kmsKeys builds an account's customer managed KMS keys from the scenario.
func (b *builder) kmsKeys(path string, a *Account, specs []ScenarioKMSKey) {
	for i, spec := range specs {
		kp := path + "[" + strconv.Itoa(i) + "]"
		region := spec.Region
		if region == "" {
			region = "us-east-1"
		} else if !regionRe.MatchString(region) {
			b.problem(kp+".region", "invalid region %q", region)
			continue
		}
		id := spec.ID
		if id == "" {
			h := b.ids.from("0123456789abcdef", 32)
			id = h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
		} else if !kmsKeyIDRe.MatchString(id) {
			b.problem(kp+".id", "invalid key ID %q (want a lower-case UUID)", id)
			continue
		}
		keys, aliases := kmsRegion(b.now, a, region)
		if keys[id] != nil {
			b.problem(kp+".id", "duplicate key ID %s", id)
			continue
		}
		policy := spec.Policy
		if policy == "" {
			policy = kmsDefaultPolicy(a.ID)
		} else if !json.Valid([]byte(policy)) {
			b.problem(kp+".policy", "the key policy is not a JSON document")
		} else if err := kmsCheckPolicy(policy); err != nil {
			b.problem(kp+".policy", "%s", strings.TrimPrefix(err.Error(), "MalformedPolicyDocumentException: "))
		}
		k := &KMSKey{
			ID: id, ARN: "arn:aws:kms:" + region + ":" + a.ID + ":key/" + id, Description: spec.Description,
			Manager: "CUSTOMER", State: kmsEnabled, CreationDate: b.now, Policy: policy,
		}
		switch strings.ToLower(spec.State) {
		case "", "enabled":
		case "disabled":
			k.State = kmsDisabled
		case "pendingdeletion", "pending_deletion":
			in := 30 * day
			if d, ok := b.age(kp+".deletion_in", spec.DeletionIn); ok {
				if d < day || d > 30*day {
					b.problem(kp+".deletion_in", "must be between 1d and 30d (KMS's waiting period is 7 to 30 days), got %s", spec.DeletionIn)
				}
				in = d
			}
			when := b.now.Add(in)
			k.State, k.DeletionDate = kmsPendingDeletion, &when
		default:
			b.problem(kp+".state", "invalid key state %q (want Enabled, Disabled or PendingDeletion)", spec.State)
		}
		if spec.DeletionIn != "" && k.State != kmsPendingDeletion {
			b.problem(kp+".deletion_in", "only a PendingDeletion key has a deletion date")
		}
		keys[id] = k
		if spec.Alias != "" {
			switch {
			case !kmsAliasName.MatchString(spec.Alias):
				b.problem(kp+".alias", "invalid alias %q (want alias/ and letters, digits, /, _ or -)", spec.Alias)
			case strings.HasPrefix(spec.Alias, kmsManagedAliasPrefix):
				b.problem(kp+".alias", "alias %q: the prefix alias/aws/ is reserved for AWS managed keys", spec.Alias)
			case aliases[spec.Alias] != nil:
				b.problem(kp+".alias", "duplicate alias %q", spec.Alias)
			default:
				aliases[spec.Alias] = &KMSAlias{Name: spec.Alias, TargetKeyID: id, Created: b.now, Updated: b.now}
			}
		}
	}
}

// sesIdentities records an account's verified SES identities.
func (b *builder) sesIdentities(path string, a *Account, ids []string) {
	seen := map[string]bool{}
	for i, id := range ids {
		ip := path + "[" + strconv.Itoa(i) + "]"
		v := strings.ToLower(id)
		if !sesValidIdentity(v) {
			b.problem(ip, "invalid SES identity %q (want an email address or a domain)", id)
			continue
		}
		if seen[v] {
			b.problem(ip, "duplicate SES identity %q", id)
			continue
		}
		seen[v] = true
		a.SESIdentities = append(a.SESIdentities, v)
	}
}

// sesValidIdentity reports whether v (lower case) is an email address or a domain.
func sesValidIdentity(v string) bool {
	if local, domain, ok := strings.Cut(v, "@"); ok {
		return local != "" && !strings.ContainsAny(local, " <>") && sesDomainRe.MatchString(domain)
	}
	return sesDomainRe.MatchString(v)
}
