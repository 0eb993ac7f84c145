package bucket

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/sdk/abi"
)

// TestBackendErrorEventOncePerTransition: the first failure after Ready
// emits a Warning event; the retries that follow, still failing, do not.
func TestBackendErrorEventOncePerTransition(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &Reconciler{Recorder: rec}
	b := &pailv1.Bucket{Spec: pailv1.BucketSpec{BucketName: "data"}}
	b.Generation = 1
	b.Status.Conditions = []metav1.Condition{{Type: pailv1.ConditionReady, Status: metav1.ConditionTrue, Reason: pailv1.ReasonAvailable}}
	down := abi.Errorf(abi.CodeUnavailable, "connection refused")
	for range 3 {
		s := &state{}
		err := r.backendError(b, s, "observe", down)
		report(b, s, err)
	}
	if n := len(rec.Events); n != 1 {
		t.Fatalf("%d events for three failures in a row, want 1", n)
	}
	if e := <-rec.Events; !strings.HasPrefix(e, "Warning BackendError Could not observe bucket data") {
		t.Errorf("event %q", e)
	}
	// A refusal the driver reports as Unimplemented is Unsupported, not BackendError.
	b.Status.Conditions = nil
	_ = r.backendError(b, &state{}, "update", abi.Errorf(abi.CodeUnimplemented, "no CORS"))
	if n := len(rec.Events); n != 0 {
		t.Errorf("%d BackendError events for an unsupported feature, want 0", n)
	}
}
