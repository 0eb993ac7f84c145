package accesskey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

func TestPlanKeys(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cur := keyPair{ID: "CUR", Secret: "s1"}
	prev := keyPair{ID: "PREV", Secret: "s2"}
	active := func(id string) abi.AccessKeyInfo { return abi.AccessKeyInfo{ID: id, Status: abi.KeyActive} }
	createdAt := func(id string, t time.Time) abi.AccessKeyInfo { a := active(id); a.Created = t; return a }
	old := &pendingCreate{Since: now.Add(-time.Minute), Before: []string{"CUR"}}
	young := &pendingCreate{Since: now.Add(-3 * time.Second), Before: []string{"CUR"}}
	tests := []struct {
		name    string
		rec     keyRecord
		known   []string
		keys    []abi.AccessKeyInfo
		delete  []doomedKey
		foreign []string
		lost    string
		wait    time.Duration
		next    keyRecord // only the fields the plan changes are compared
	}{
		{name: "in sync", rec: keyRecord{Current: cur}, keys: []abi.AccessKeyInfo{active("CUR")}, next: keyRecord{Current: cur}},
		{name: "another's key on the user is left alone", rec: keyRecord{Current: cur},
			keys: []abi.AccessKeyInfo{active("CUR"), active("VICTIM")}, foreign: []string{"VICTIM"},
			next: keyRecord{Current: cur, Warned: []string{"VICTIM"}}},
		{name: "without a record nothing is Pail's", keys: []abi.AccessKeyInfo{active("A"), active("B")},
			foreign: []string{"A", "B"}, next: keyRecord{Warned: []string{"A", "B"}}},
		{name: "a retired key still there is deleted", rec: keyRecord{Current: cur, Retired: []string{"OLD"}},
			keys: []abi.AccessKeyInfo{active("CUR"), active("OLD")}, delete: []doomedKey{{"OLD", whyRetired}}, next: keyRecord{Current: cur}},
		{name: "a retired key already gone is dropped", rec: keyRecord{Current: cur, Retired: []string{"OLD"}},
			keys: []abi.AccessKeyInfo{active("CUR")}, next: keyRecord{Current: cur}},
		{name: "a key the status names is this AccessKey's", rec: keyRecord{Current: cur}, known: []string{"CUR", "WAS"},
			keys: []abi.AccessKeyInfo{active("CUR"), active("WAS")}, delete: []doomedKey{{"WAS", whyRetired}}, next: keyRecord{Current: cur}},
		{name: "current deleted behind Pail's back", rec: keyRecord{Current: cur, Previous: prev},
			keys: []abi.AccessKeyInfo{active("PREV")}, lost: lostDeleted, next: keyRecord{Current: cur, Previous: prev}},
		{name: "current deactivated behind Pail's back", rec: keyRecord{Current: cur},
			keys: []abi.AccessKeyInfo{{ID: "CUR", Status: abi.KeyInactive}}, lost: lostDeactivated, next: keyRecord{Current: cur}},
		{name: "an inactive previous key is no loss", rec: keyRecord{Current: cur, Previous: prev},
			keys: []abi.AccessKeyInfo{active("CUR"), {ID: "PREV", Status: abi.KeyInactive}}, next: keyRecord{Current: cur, Previous: prev}},
		{name: "a previous key gone is dropped", rec: keyRecord{Current: cur, Previous: prev},
			keys: []abi.AccessKeyInfo{active("CUR")}, next: keyRecord{Current: cur}},
		{name: "the one key an interrupted create left is deleted", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR"), active("NEW")}, delete: []doomedKey{{"NEW", whyLeaked}}, next: keyRecord{Current: cur}},
		{name: "a key held before the create began is not the create's", rec: keyRecord{Pending: &pendingCreate{Since: now.Add(-time.Minute), Before: []string{"X"}}},
			keys: []abi.AccessKeyInfo{active("X")}, foreign: []string{"X"}, next: keyRecord{Warned: []string{"X"}}},
		{name: "two new keys: Pail cannot tell which is its own", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR"), active("N1"), active("N2")}, foreign: []string{"N1", "N2"},
			next: keyRecord{Current: cur, Warned: []string{"N1", "N2"}}},
		{name: "a key created long after the create began is another's", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR"), createdAt("LATER", now.Add(time.Hour))}, foreign: []string{"LATER"},
			next: keyRecord{Current: cur, Warned: []string{"LATER"}}},
		{name: "a key created long before the create began is another's", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR"), createdAt("EARLIER", now.Add(-time.Hour))}, foreign: []string{"EARLIER"},
			next: keyRecord{Current: cur, Warned: []string{"EARLIER"}}},
		{name: "a key created at the create's time is its own", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR"), createdAt("NEW", old.Since.Add(time.Second))}, delete: []doomedKey{{"NEW", whyLeaked}},
			next: keyRecord{Current: cur}},
		{name: "an old pending create with nothing to show never reached the provider", rec: keyRecord{Current: cur, Pending: old},
			keys: []abi.AccessKeyInfo{active("CUR")}, next: keyRecord{Current: cur}},
		{name: "a young pending create with nothing to show may still arrive", rec: keyRecord{Current: cur, Pending: young},
			keys: []abi.AccessKeyInfo{active("CUR")}, wait: 7 * time.Second, next: keyRecord{Current: cur, Pending: young}},
		{name: "a young pending create's key is resolved at once", rec: keyRecord{Pending: young},
			keys: []abi.AccessKeyInfo{active("NEW")}, delete: []doomedKey{{"NEW", whyLeaked}}},
		{name: "warned keys no longer there are forgotten", rec: keyRecord{Current: cur, Warned: []string{"GONE", "STAY"}},
			keys: []abi.AccessKeyInfo{active("STAY"), active("CUR")}, foreign: []string{"STAY"}, next: keyRecord{Current: cur, Warned: []string{"STAY"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planKeys(tt.rec, tt.known, tt.keys, now)
			assert.Equal(t, tt.delete, p.Delete, "delete")
			assert.Equal(t, tt.foreign, p.Foreign, "foreign")
			assert.Equal(t, tt.lost, p.Lost, "lost")
			assert.Equal(t, tt.wait, p.PendingWait, "wait")
			assert.Equal(t, tt.next.Current, p.Next.Current, "next current")
			assert.Equal(t, tt.next.Previous, p.Next.Previous, "next previous")
			assert.Equal(t, tt.next.Pending, p.Next.Pending, "next pending")
			assert.Empty(t, p.Next.Retired, "next retired")
			assert.Equal(t, tt.next.Warned, p.Next.Warned, "next warned")
		})
	}
}

func TestNewlyForeign(t *testing.T) {
	assert.Nil(t, newlyForeign([]string{"A", "B"}, []string{"A", "B"}), "warned once, not every resync")
	assert.Equal(t, []string{"C"}, newlyForeign([]string{"A"}, []string{"A", "C"}))
}

// The bookkeeping survives the Secret: what render writes, readRecord reads.
func TestRecordRoundTrip(t *testing.T) {
	a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}}
	since := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	rec := keyRecord{
		Current: keyPair{ID: "CUR", Secret: "s"}, Created: since.Truncate(time.Second),
		Pending: &pendingCreate{Since: since, Before: []string{"CUR", "X"}},
		Retired: []string{"OLD"}, Warned: []string{"X"},
	}
	var s corev1.Secret
	render(a, &s, rec, secretContent{User: "u"})
	assert.Equal(t, rec, readRecord(a, &s))
	rec.Pending, rec.Retired, rec.Warned = nil, nil, nil
	render(a, &s, rec, secretContent{User: "u"})
	assert.NotContains(t, s.Annotations, pailv1.AnnotationPendingKey)
	assert.NotContains(t, s.Annotations, pailv1.AnnotationRetiredKeys)
	assert.NotContains(t, s.Annotations, pailv1.AnnotationForeignKeys)
	assert.Equal(t, rec, readRecord(a, &s))
}

func TestUserTags(t *testing.T) {
	a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app", UID: "u-1"}}
	assert.Equal(t, map[string]string{pailv1.TagOwner: "ns/app/u-1"}, userTags(a))
	a.Spec.Tags = map[string]string{"team": "a"}
	assert.Equal(t, map[string]string{"team": "a", pailv1.TagOwner: "ns/app/u-1"}, userTags(a))
	assert.Equal(t, map[string]string{"team": "a"}, a.Spec.Tags, "the spec is not changed")
	a.Name = string(make([]byte, 250))
	assert.Equal(t, "ns/u-1", ownerTag(a), "too long for IAM: the UID proves it")
}
