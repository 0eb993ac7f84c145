package provider

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestKeepAtStart(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const interval = 5 * time.Minute
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }
	ready := func(st metav1.ConditionStatus, gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: pailv1.ConditionReady, Status: st, Reason: "R", ObservedGeneration: gen}}
	}
	for _, tc := range []struct {
		name   string
		status pailv1.ProviderStatus
		keep   bool
		after  time.Duration
	}{
		{"ready, checked a minute ago", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(time.Minute)}, true, 4 * time.Minute},
		{"ready, checked just now", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(0)}, true, interval},
		{"ready, check due exactly now", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(interval)}, false, 0},
		{"ready, check overdue", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(time.Hour)}, false, 0},
		{"check time in the future", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(-time.Minute)}, false, 0},
		{"never checked", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 2)}, false, 0},
		{"not ready", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionFalse, 2), LastCheckTime: at(time.Minute)}, false, 0},
		{"ready unknown", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionUnknown, 2), LastCheckTime: at(time.Minute)}, false, 0},
		{"no conditions", pailv1.ProviderStatus{ObservedGeneration: 2, LastCheckTime: at(time.Minute)}, false, 0},
		{"ready for an older spec", pailv1.ProviderStatus{ObservedGeneration: 2, Conditions: ready(metav1.ConditionTrue, 1), LastCheckTime: at(time.Minute)}, false, 0},
		{"status for an older spec", pailv1.ProviderStatus{ObservedGeneration: 1, Conditions: ready(metav1.ConditionTrue, 2), LastCheckTime: at(time.Minute)}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, after := keepAtStart(&tc.status, 2, now, interval)
			if keep != tc.keep || after != tc.after {
				t.Errorf("keepAtStart = %v, %s; want %v, %s", keep, after, tc.keep, tc.after)
			}
		})
	}
}

func TestKeepWhileLoading(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conds []metav1.Condition
		keep  bool
	}{
		{"never checked", nil, false},
		{"only other conditions", []metav1.Condition{{Type: pailv1.ConditionDriverReady, Status: metav1.ConditionFalse}}, false},
		{"ready", []metav1.Condition{{Type: pailv1.ConditionReady, Status: metav1.ConditionTrue}}, true},
		{"failing", []metav1.Condition{{Type: pailv1.ConditionReady, Status: metav1.ConditionFalse, Reason: pailv1.ReasonUnreachable}}, true},
		{"already loading", []metav1.Condition{{Type: pailv1.ConditionReady, Status: metav1.ConditionFalse, Reason: pailv1.ReasonDriverLoading}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keepWhileLoading(&pailv1.ProviderStatus{Conditions: tc.conds}); got != tc.keep {
				t.Errorf("keepWhileLoading = %v, want %v", got, tc.keep)
			}
		})
	}
}
