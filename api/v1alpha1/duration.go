package v1alpha1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Duration is a Go duration such as 720h or 90m, as spec fields take it.
//
// Unlike metav1.Duration, decoding never fails: text that does not parse is
// kept as written and reported by Err. One object stored with a bad value
// (before admission checked it, or through an older CRD) would otherwise
// make every list and watch of its kind fail to decode, stopping the
// operator for all namespaces. The controller refuses such an object with a
// condition instead. Encoding writes the text as it was read, so a round
// trip through JSON or unstructured is exact.
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=64
type Duration struct {
	time.Duration `json:"-"`
	// raw is the text as decoded; empty for a Duration built in Go.
	raw string
	// invalid says why raw does not parse; empty when it does.
	invalid string
}

// NewDuration returns a Duration of d.
func NewDuration(d time.Duration) *Duration { return &Duration{Duration: d} }

// Err says why the stored text is not a Go duration, or nil.
func (d *Duration) Err() error {
	if d == nil || d.invalid == "" {
		return nil
	}
	return errors.New(d.invalid)
}

// Raw is the text as stored, or the duration formatted when built in Go.
func (d Duration) Raw() string {
	if d.raw != "" || d.invalid != "" {
		return d.raw
	}
	return d.String()
}

// UnmarshalJSON takes a JSON string holding a Go duration. Anything else,
// even a non-string, is kept and marked invalid rather than failing.
func (d *Duration) UnmarshalJSON(b []byte) error {
	*d = Duration{}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		d.raw = string(bytes.TrimSpace(b))
		d.invalid = d.raw + " is not a string"
		return nil //nolint:nilerr // kept and marked invalid: one bad field must not stop the informer
	}
	d.raw = s
	v, err := time.ParseDuration(s)
	if err != nil {
		d.invalid = fmt.Sprintf("%q is not a Go duration such as 720h or 90m", s)
		return nil //nolint:nilerr // as above: reported by the controller as InvalidSpec
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the text as it was read.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Raw())
}

// ToUnstructured makes the unstructured converter write the same text as
// MarshalJSON.
func (d Duration) ToUnstructured() any { return d.Raw() }

// Minimums of spec.rotation, the same as the CRD's admission rules; the
// controller applies them to objects stored before those rules existed.
const (
	MinRotationInterval = time.Hour
	MinRetention        = time.Second
)
