package provider

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// keepAtStart decides the first reconcile of a Provider after the operator
// starts. A Provider that is Ready for its current generation and was
// checked less than interval ago keeps its status: checking it again would
// only write a new lastCheckTime, and a restart must write nothing. It
// returns whether to keep the status and how long until the check is due.
// A check time in the future (a clock stepped back) is not trusted.
func keepAtStart(st *pailv1.ProviderStatus, gen int64, now time.Time, interval time.Duration) (bool, time.Duration) {
	ready := meta.FindStatusCondition(st.Conditions, pailv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != gen ||
		st.ObservedGeneration != gen || st.LastCheckTime == nil {
		return false, 0
	}
	age := now.Sub(st.LastCheckTime.Time)
	if age < 0 || age >= interval {
		return false, 0
	}
	return true, interval - age
}

// keepWhileLoading reports whether a Provider whose driver is still loading
// keeps the status it has. Only a Provider never checked says DriverLoading:
// for any other, that would flip it (and every Bucket using it) to not
// Ready and back, on every restart and every plugin upgrade.
func keepWhileLoading(st *pailv1.ProviderStatus) bool {
	return meta.FindStatusCondition(st.Conditions, pailv1.ConditionReady) != nil
}
