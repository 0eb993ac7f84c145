package connect

import (
	"errors"
	"strings"
	"testing"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestCheckEndpointsRefusesWhatAdmissionRefuses: a Provider stored before
// the admission rules never reaches a driver with a password in its
// endpoint, and the message that says so does not print the password.
func TestCheckEndpointsRefusesWhatAdmissionRefuses(t *testing.T) {
	for _, tc := range []struct {
		endpoint, iam string
		field         string
	}{
		{"http://user:secret@127.0.0.1:9000", "", "spec.endpoint"},
		{"http://127.0.0.1:9000/path", "", "spec.endpoint"},
		{"http://", "", "spec.endpoint"},
		{"https://s3.example.com", "https://admin:secret@iam.example.com", "spec.iamEndpoint"},
		{"https://s3.example.com", "https://iam.example.com?x", "spec.iamEndpoint"},
	} {
		p := &pailv1.Provider{Spec: pailv1.ProviderSpec{Endpoint: tc.endpoint, IAMEndpoint: tc.iam}}
		err := checkEndpoints(p)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s %s: got %v, want a *connect.Error", tc.endpoint, tc.iam, err)
			continue
		}
		if ce.Reason != pailv1.ReasonInvalidSpec || !strings.Contains(ce.Message, tc.field) {
			t.Errorf("%s %s: got %s %q, want InvalidSpec naming %s", tc.endpoint, tc.iam, ce.Reason, ce.Message, tc.field)
		}
		if strings.Contains(ce.Message, "secret") || strings.Contains(ce.Message, "..") {
			t.Errorf("message %q leaks the password or doubles a full stop", ce.Message)
		}
	}
	for _, ok := range []string{"http://127.0.0.1:9000", "https://s3.us-east-1.amazonaws.com/"} {
		if err := checkEndpoints(&pailv1.Provider{Spec: pailv1.ProviderSpec{Endpoint: ok}}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
