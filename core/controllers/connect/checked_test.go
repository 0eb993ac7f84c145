package connect

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestDescribedBy: a referrer uses a connection only when the Provider's
// status, as the referrer read it, reports the check made with that
// connection's Secrets.
func TestDescribedBy(t *testing.T) {
	p := &pailv1.Provider{ObjectMeta: metav1.ObjectMeta{UID: "u"}, Status: pailv1.ProviderStatus{Account: "a1"}}
	conn := &Connection{secretVersions: map[string]string{"creds": "7"}}
	rec := checkRecord{uid: "u", versions: map[string]string{"creds": "7"}, account: "a1"}
	tests := []struct {
		name string
		rec  checkRecord
		ok   bool
		want bool
	}{
		{name: "checked with these Secrets", rec: rec, ok: true, want: true},
		{name: "never checked in this process", ok: false, want: false},
		{name: "a Secret changed since the check", rec: checkRecord{uid: "u", versions: map[string]string{"creds": "6"}, account: "a1"}, ok: true, want: false},
		{name: "the referrer read the Provider before its new status", rec: checkRecord{uid: "u", versions: rec.versions, account: "a2"}, ok: true, want: false},
		{name: "another Provider of that name", rec: checkRecord{uid: "other", versions: rec.versions, account: "a1"}, ok: true, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describedBy(tc.rec, tc.ok, p, conn); got != tc.want {
				t.Errorf("describedBy = %v, want %v", got, tc.want)
			}
		})
	}
}
