package bucket

import (
	"testing"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestReleaseBlocked(t *testing.T) {
	tests := []struct {
		why         blocker
		terminating bool
		want        bool
	}{
		// Outside a namespace being deleted a fix can always come: retry.
		{blockedNotEmpty, false, false},
		{blockedCannotEmpty, false, false},
		{blockedProviderGone, false, false},
		{blockedProviderNotReady, false, false},
		// In one, data is never deleted unasked and no Provider can be
		// created again: release, leaving the bucket in place.
		{blockedNotEmpty, true, true},
		{blockedCannotEmpty, true, true},
		{blockedProviderGone, true, true},
		// A Provider that is not Ready may recover by itself: keep trying.
		{blockedProviderNotReady, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.why.cause(), func(t *testing.T) {
			if got := releaseBlocked(tc.why, tc.terminating); got != tc.want {
				t.Errorf("releaseBlocked(%q, terminating=%v) = %v, want %v", tc.why.cause(), tc.terminating, got, tc.want)
			}
		})
	}
}

func TestProviderBlocker(t *testing.T) {
	if got := providerBlocker(pailv1.ReasonProviderNotFound); got != blockedProviderGone {
		t.Errorf("ProviderNotFound: got %v", got)
	}
	if got := providerBlocker(pailv1.ReasonProviderNotReady); got != blockedProviderNotReady {
		t.Errorf("ProviderNotReady: got %v", got)
	}
	if got := providerBlocker(""); got != blockedProviderNotReady {
		t.Errorf("no reason: got %v", got)
	}
}
