package status

import (
	"errors"
	"fmt"
	"testing"
)

func TestSentence(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{".", ""},
		{"Bucket is ready", "Bucket is ready."},
		{"Bucket is ready.", "Bucket is ready."},
		{"Bucket is ready..", "Bucket is ready."},
		{"Bucket is ready. ", "Bucket is ready."},
		{"Is it ready?", "Is it ready?"},
		{"Is it ready?.", "Is it ready?"},
		{"Stop!", "Stop!"},
		{"e.g. 720h", "e.g. 720h."},
		{"wait for it...", "wait for it."},
	} {
		if got := Sentence(tc.in); got != tc.want {
			t.Errorf("Sentence(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSentenceWrappingAnError is how controllers use it: an error whose text
// already ends in a full stop gets no second one.
func TestSentenceWrappingAnError(t *testing.T) {
	err := errors.New("No driver named x is installed.") //nolint:revive // the driver messages this guards against look like this
	got := Sentence(fmt.Sprintf("Cannot connect: %v.", err))
	if want := "Cannot connect: No driver named x is installed."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
