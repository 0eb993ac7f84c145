package inuse

import "testing"

func TestDecide(t *testing.T) {
	tests := []struct {
		name                  string
		needed, has, deleting bool
		want                  action
	}{
		{"needed, unprotected: protect", true, false, false, add},
		{"needed, protected: keep", true, true, false, keep},
		{"needed, protected, being deleted: keep until the users are gone", true, true, true, keep},
		{"needed, deletion started unprotected: cannot add any more", true, false, true, keep},
		{"not needed, protected: release", false, true, false, remove},
		{"not needed, protected, being deleted: release so it goes", false, true, true, remove},
		{"not needed, unprotected: nothing", false, false, false, keep},
		{"not needed, unprotected, being deleted: nothing", false, false, true, keep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(tc.needed, tc.has, tc.deleting); got != tc.want {
				t.Errorf("decide(%v, %v, %v) = %v, want %v", tc.needed, tc.has, tc.deleting, got, tc.want)
			}
		})
	}
}
