package v1alpha1

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestDurationDecodesWhatItCan(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		invalid bool
		raw     string
	}{
		{`"720h"`, 720 * time.Hour, false, "720h"},
		{`"1h30m"`, 90 * time.Minute, false, "1h30m"},
		{`"0"`, 0, false, "0"},
		{`"-5m"`, -5 * time.Minute, false, "-5m"},
		{`"banana"`, 0, true, "banana"},
		{`"1 day"`, 0, true, "1 day"},
		{`""`, 0, true, ""},
		{`5`, 0, true, "5"},
		{`{"a":1}`, 0, true, `{"a":1}`},
	} {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Fatalf("%s: decoding failed: %v", tc.in, err)
		}
		if d.Duration != tc.want || (d.Err() != nil) != tc.invalid || d.Raw() != tc.raw {
			t.Errorf("%s: got %v err=%v raw=%q, want %v invalid=%v raw=%q", tc.in, d.Duration, d.Err(), d.Raw(), tc.want, tc.invalid, tc.raw)
		}
	}
}

// TestAccessKeyWithBadDurationDecodes: the object an older CRD let in
// decodes, so a list holding it does not fail.
func TestAccessKeyWithBadDurationDecodes(t *testing.T) {
	in := `{"apiVersion":"pail.dev/v1alpha1","kind":"AccessKey","metadata":{"name":"a"},"spec":{"providerRef":{"name":"p"},"rotation":{"interval":"banana","retention":"1 day"}}}`
	var ak AccessKey
	if err := json.Unmarshal([]byte(in), &ak); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ak.Spec.Rotation.Interval.Err() == nil || ak.Spec.Rotation.Retention.Err() == nil {
		t.Fatalf("bad durations not marked invalid: %+v", ak.Spec.Rotation)
	}
	out, err := json.Marshal(&ak)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal([]byte(in), &a)
	_ = json.Unmarshal(out, &b)
	if av, bv := a["spec"].(map[string]any)["rotation"], b["spec"].(map[string]any)["rotation"]; !jsonEqual(av, bv) {
		t.Errorf("rotation changed in a round trip: %v -> %v", av, bv)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// FuzzDurationRoundTrip: any JSON string decodes, and encodes back to the
// same text, through JSON and through the unstructured converter; a valid
// one means what time.ParseDuration says.
func FuzzDurationRoundTrip(f *testing.F) {
	for _, s := range []string{"720h", "1h30m", "0", "-1s", "banana", "1 day", "", "1.5h", "µs", "9999999999999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip() // JSON text, as the apiserver stores it, is UTF-8
		}
		in, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var d Duration
		if err := json.Unmarshal(in, &d); err != nil {
			t.Fatalf("decode %s: %v", in, err)
		}
		want, perr := time.ParseDuration(s)
		if (perr != nil) != (d.Err() != nil) || (perr == nil && d.Duration != want) {
			t.Fatalf("%q: got %v err=%v, ParseDuration %v err=%v", s, d.Duration, d.Err(), want, perr)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("JSON round trip of %q gave %s (%v)", s, out, err)
		}
		ro := &Rotation{Interval: &d}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ro)
		if err != nil {
			t.Fatalf("to unstructured: %v", err)
		}
		if u["interval"] != s {
			t.Fatalf("unstructured holds %#v, want %q", u["interval"], s)
		}
		var ro2 Rotation
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, &ro2); err != nil {
			t.Fatalf("from unstructured: %v", err)
		}
		if ro2.Interval.Raw() != s || ro2.Interval.Duration != d.Duration || (ro2.Interval.Err() == nil) != (d.Err() == nil) {
			t.Fatalf("unstructured round trip of %q gave %q %v %v", s, ro2.Interval.Raw(), ro2.Interval.Duration, ro2.Interval.Err())
		}
		cp := ro.DeepCopy()
		if cp.Interval.Raw() != s || cp.Interval == ro.Interval {
			t.Fatalf("deep copy of %q gave %q", s, cp.Interval.Raw())
		}
	})
}

func TestDurationBuiltInGo(t *testing.T) {
	d := NewDuration(90 * time.Minute)
	out, _ := json.Marshal(d)
	if string(out) != `"1h30m0s"` || d.Err() != nil {
		t.Fatalf("got %s %v", out, d.Err())
	}
}
