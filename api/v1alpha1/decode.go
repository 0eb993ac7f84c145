package v1alpha1

import (
	"encoding/json"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// Every kind decodes through decodeTolerant when its normal decoding fails.
// The operator lists and watches each kind as a whole: one stored object it
// cannot decode (written before a CRD rule existed, or through an older
// CRD) would fail every list and watch of that kind, in every namespace.
// Instead such an object decodes with a zero spec and reports why through
// DecodeError, so its controller refuses it alone; a status field that
// does not decode is dropped (the controller rebuilds the status).

// decodeTolerant decodes what it can of data: the type and object meta
// (which the apiserver itself validates) must decode; a spec that does not
// is left zero and its error returned as text; status fields that do not
// decode are skipped one by one.
func decodeTolerant(data []byte, tm *metav1.TypeMeta, om *metav1.ObjectMeta, spec, status any) (string, error) {
	var parts map[string]json.RawMessage
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &parts); err != nil {
		return "", err
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, tm); err != nil {
		return "", err
	}
	if raw, ok := parts["metadata"]; ok {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, om); err != nil {
			return "", err
		}
	}
	specErr := ""
	if _, ok := parts["spec"]; ok {
		// Decoded inside a struct of its own, so the error's field path
		// starts at "spec.".
		typ := reflect.TypeOf(spec).Elem()
		wrap := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "Spec", Type: typ, Tag: `json:"spec"`}}))
		if err := kjson.UnmarshalCaseSensitivePreserveInts(data, wrap.Interface()); err != nil {
			specErr = err.Error()
		} else {
			reflect.ValueOf(spec).Elem().Set(wrap.Elem().Field(0))
		}
	}
	if raw, ok := parts["status"]; ok {
		var fields map[string]json.RawMessage
		if kjson.UnmarshalCaseSensitivePreserveInts(raw, &fields) == nil {
			for k, v := range fields {
				one, _ := json.Marshal(map[string]json.RawMessage{k: v}) //nolint:errchkjson // raw messages from a decoded object re-encode
				_ = decodeOrKeep(one, status)
			}
		}
	}
	return specErr, nil
}

// decodeOrKeep decodes raw into a fresh value of target's type and, only
// when that succeeds, into target, so a failure leaves target as it was.
func decodeOrKeep(raw []byte, target any) error {
	fresh := reflect.New(reflect.TypeOf(target).Elem()).Interface()
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, fresh); err != nil {
		return err
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(raw, target)
}

// UnmarshalJSON decodes an AccessKey; see decodeTolerant.
func (in *AccessKey) UnmarshalJSON(b []byte) error {
	type plain AccessKey
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, (*plain)(in)); err == nil {
		in.decodeError = ""
		return nil
	}
	*in = AccessKey{}
	msg, err := decodeTolerant(b, &in.TypeMeta, &in.ObjectMeta, &in.Spec, &in.Status)
	in.decodeError = msg
	return err
}

// DecodeError says why the stored spec could not be read; "" when it could.
func (in *AccessKey) DecodeError() string { return in.decodeError }

// UnmarshalJSON decodes a Bucket; see decodeTolerant.
func (in *Bucket) UnmarshalJSON(b []byte) error {
	type plain Bucket
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, (*plain)(in)); err == nil {
		in.decodeError = ""
		return nil
	}
	*in = Bucket{}
	msg, err := decodeTolerant(b, &in.TypeMeta, &in.ObjectMeta, &in.Spec, &in.Status)
	in.decodeError = msg
	return err
}

// DecodeError says why the stored spec could not be read; "" when it could.
func (in *Bucket) DecodeError() string { return in.decodeError }

// UnmarshalJSON decodes a BucketPolicy; see decodeTolerant.
func (in *BucketPolicy) UnmarshalJSON(b []byte) error {
	type plain BucketPolicy
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, (*plain)(in)); err == nil {
		in.decodeError = ""
		return nil
	}
	*in = BucketPolicy{}
	msg, err := decodeTolerant(b, &in.TypeMeta, &in.ObjectMeta, &in.Spec, &in.Status)
	in.decodeError = msg
	return err
}

// DecodeError says why the stored spec could not be read; "" when it could.
func (in *BucketPolicy) DecodeError() string { return in.decodeError }

// UnmarshalJSON decodes a Provider; see decodeTolerant.
func (in *Provider) UnmarshalJSON(b []byte) error {
	type plain Provider
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, (*plain)(in)); err == nil {
		in.decodeError = ""
		return nil
	}
	*in = Provider{}
	msg, err := decodeTolerant(b, &in.TypeMeta, &in.ObjectMeta, &in.Spec, &in.Status)
	in.decodeError = msg
	return err
}

// DecodeError says why the stored spec could not be read; "" when it could.
func (in *Provider) DecodeError() string { return in.decodeError }
