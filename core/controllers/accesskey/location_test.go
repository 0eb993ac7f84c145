package accesskey

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
