package execute

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestUserTags(t *testing.T) {
	at := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	tests := []struct {
		name string
		in   []types.Tag
		want userTags
	}{
		{"none", []types.Tag{tag("team", "x")}, userTags{}},
		{"all", []types.Tag{tag(TagPending, pendingValue(at, "run-7@host.example", []string{"AKIAOLD"})), tag(TagDeactivated, keyAtValue("AKIAOLD", at)),
			tag(TagRolledBack, keyAtValue("AKIAOLD", at.Add(time.Hour)))},
			userTags{PendingSince: at, PendingOwner: "run-7@host.example", PendingBefore: "AKIAOLD", PendingBeforeKnown: true,
				DeactKey: "AKIAOLD", DeactAt: at, RolledKey: "AKIAOLD", RolledAt: at.Add(time.Hour)}},
		{"pending, two keys before", []types.Tag{tag(TagPending, pendingValue(at, "run-7-x@host", []string{"AKIAA", "AKIAB"}))},
			userTags{PendingSince: at, PendingOwner: "run-7-x@host", PendingBefore: "AKIAA/AKIAB", PendingBeforeKnown: true}},
		{"pending, no key before", []types.Tag{tag(TagPending, pendingValue(at, "run-7-x@host", nil))},
			userTags{PendingSince: at, PendingOwner: "run-7-x@host", PendingBeforeKnown: true}},
		{"pending written before the key list", []types.Tag{tag(TagPending, at.Format(time.RFC3339)+" run-7@host")},
			userTags{PendingSince: at, PendingOwner: "run-7@host"}},
		{"deactivated by keyrot", []types.Tag{tag(TagDeactivated, deactivatedValue("AKIAOLD", at, OriginKeyrot))},
			userTags{DeactKey: "AKIAOLD", DeactAt: at, DeactOrigin: OriginKeyrot}},
		{"first seen inactive", []types.Tag{tag(TagDeactivated, deactivatedValue("AKIAOLD", at, OriginSeen))},
			userTags{DeactKey: "AKIAOLD", DeactAt: at, DeactOrigin: OriginSeen}},
		{"unknown origin", []types.Tag{tag(TagDeactivated, keyAtValue("AKIAOLD", at)+" by-hand")},
			userTags{DeactKey: "AKIAOLD", DeactAt: at, DeactOrigin: OriginUnknown}},
		{"garbage ignored", []types.Tag{tag(TagPending, "yesterday"), tag(TagDeactivated, "AKIA"), tag(TagRolledBack, "@2025-01-01T00:00:00Z")}, userTags{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseUserTags(tt.in), cmpopts.IgnoreFields(userTags{}, "Count", "Keys", "PendingRaw", "All")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagSafe(t *testing.T) {
	if got := tagSafe("run 1 (laptop)#x"); got != "run 1 _laptop__x" {
		t.Errorf("tagSafe = %q", got)
	}
}

func TestPathFromARN(t *testing.T) {
	tests := []struct{ arn, user, want string }{
		{"arn:aws:iam::123456789012:user/alice", "alice", "/"},
		{"arn:aws:iam::123456789012:user/service/ci/deploy", "deploy", "/service/ci/"},
		{"", "x", "/"},
	}
	for _, tt := range tests {
		if got := pathFromARN(tt.arn, tt.user); got != tt.want {
			t.Errorf("pathFromARN(%q) = %q, want %q", tt.arn, got, tt.want)
		}
	}
}
