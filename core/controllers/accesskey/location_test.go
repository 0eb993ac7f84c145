package accesskey

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func rotation(t *testing.T, js string) *pailv1.AccessKey {
	t.Helper()
	a := ak(nil, "")
	a.Spec.Rotation = &pailv1.Rotation{}
	if err := json.Unmarshal([]byte(js), a.Spec.Rotation); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSpecError(t *testing.T) {
	for _, tc := range []struct {
		rotation string
		want     string // a substring; "" means valid
	}{
		{`{}`, ""},
		{`{"interval":"720h","retention":"24h"}`, ""},
		{`{"interval":"1h","retention":"1s"}`, ""},
		{`{"interval":"banana"}`, `spec.rotation.interval is invalid: "banana" is not a Go duration`},
		{`{"retention":"1 day"}`, `spec.rotation.retention is invalid: "1 day" is not a Go duration`},
		{`{"interval":"0s"}`, "spec.rotation.interval is 0s, below the minimum of 1h0m0s"},
		{`{"interval":"-5m"}`, "spec.rotation.interval is -5m, below the minimum of 1h0m0s"},
		{`{"interval":"59m"}`, "below the minimum of 1h0m0s"},
		{`{"retention":"0s"}`, "spec.rotation.retention is 0s, below the minimum of 1s"},
		{`{"interval":5}`, "spec.rotation.interval is invalid: 5 is not a string"},
	} {
		got := specError(rotation(t, tc.rotation))
		if tc.want == "" {
			assert.Empty(t, got, tc.rotation)
			continue
		}
		assert.Contains(t, got, tc.want, tc.rotation)
		assert.True(t, strings.HasSuffix(got, "fixed.") && !strings.Contains(got, ".."), "one full stop: %q", got)
	}
}

func TestBefore(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	mk := func(ns, name string, created metav1.Time, loc bool, key string) *pailv1.AccessKey {
		a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: created}}
		if loc {
			a.Status.Location = &pailv1.Location{Endpoint: "http://s3"}
		}
		a.Status.AccessKeyID = key
		return a
	}
	for _, tc := range []struct {
		name string
		a, b *pailv1.AccessKey
		want bool
	}{
		{"earlier wins when neither is established", mk("a", "x", t0, false, ""), mk("b", "x", t1, false, ""), true},
		{"later loses", mk("b", "x", t1, false, ""), mk("a", "x", t0, false, ""), false},
		{"established beats earlier", mk("b", "x", t1, true, ""), mk("a", "x", t0, false, ""), true},
		{"a key id from before locations counts as established", mk("b", "x", t1, false, "AKID"), mk("a", "x", t0, false, ""), true},
		{"both established: earlier wins", mk("a", "x", t0, true, ""), mk("b", "x", t1, false, "AKID"), true},
		{"same time: namespace decides", mk("a", "x", t0, false, ""), mk("b", "x", t0, false, ""), true},
		{"same time and namespace: name decides", mk("a", "y", t0, false, ""), mk("a", "x", t0, false, ""), false},
	} {
		assert.Equal(t, tc.want, before(tc.a, tc.b), tc.name)
		if tc.want {
			assert.False(t, before(tc.b, tc.a), "%s: the order is strict", tc.name)
		}
	}
}

func TestUserOwnerAcrossNamespaces(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	prov := func(ns, endpoint string) *pailv1.Provider {
		return &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"}, Spec: pailv1.ProviderSpec{Endpoint: endpoint}}
	}
	key := func(ns, name string, created metav1.Time, user string, loc *pailv1.Location) *pailv1.AccessKey {
		a := &pailv1.AccessKey{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: created}}
		a.Spec.ProviderRef.Name = "p"
		a.Spec.UserName = user
		a.Status.Location = loc
		return a
	}
	here := pailv1.Location{Endpoint: "http://s3.local:9000"}
	there := pailv1.Location{Endpoint: "http://other:9000"}
	victim := key("a", "app", t0, "shared", &here)
	movedAway := key("c", "old", t0, "shared", &there)
	idle := key("d", "idle", t0, "other", nil)
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(prov("a", "http://s3.local:9000"), prov("b", "HTTP://S3.local:9000/"), prov("c", "http://s3.local:9000"), prov("d", "http://s3.local:9000"), victim, movedAway, idle).
		WithIndex(&pailv1.AccessKey{}, indexUser, func(o client.Object) []string { return []string{UserName(o.(*pailv1.AccessKey))} }).
		Build()
	r := &Reconciler{Client: c}
	ctx := context.Background()

	intruder := key("b", "thief", t1, "shared", nil)
	got, err := r.userOwner(ctx, intruder, "shared", here)
	require.NoError(t, err)
	assert.Equal(t, "a/app", got, "another namespace's AccessKey at the same (normalised) endpoint wins")

	got, err = r.userOwner(ctx, victim, "shared", here)
	require.NoError(t, err)
	assert.Empty(t, got, "the owner is not in conflict; the one recorded elsewhere does not count")

	got, err = r.userOwner(ctx, intruder, "shared", pailv1.Location{Endpoint: "http://third:9000"})
	require.NoError(t, err)
	assert.Empty(t, got, "the same name at another endpoint is another user")

	got, err = r.userOwner(ctx, key("b", "early", metav1.NewTime(t0.Add(-time.Hour)), "other", nil), "other", here)
	require.NoError(t, err)
	assert.Empty(t, got, "an earlier AccessKey wins over a later unestablished one")
	late := key("b", "late", t1, "other", nil)
	got, err = r.userOwner(ctx, late, "other", here)
	require.NoError(t, err)
	assert.Equal(t, "d/idle", got, "an unestablished one is placed by its Provider's current endpoint")
}
