package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// The managed kinds hand their status to the operator's reconcile skeleton
// (core/controllers/managed) through these methods, so the skeleton needs no
// per-kind accessors: the conditions and observed generation it writes, and
// the whole status it compares to tell whether anything changed.

// ManagedStatus returns the AccessKey's conditions and observed generation.
func (in *AccessKey) ManagedStatus() (*[]metav1.Condition, *int64) {
	return &in.Status.Conditions, &in.Status.ObservedGeneration
}

// StatusValue returns the AccessKey's status by value (sharing its slices).
func (in *AccessKey) StatusValue() any { return in.Status }

// ManagedStatus returns the Bucket's conditions and observed generation.
func (in *Bucket) ManagedStatus() (*[]metav1.Condition, *int64) {
	return &in.Status.Conditions, &in.Status.ObservedGeneration
}

// StatusValue returns the Bucket's status by value (sharing its slices).
func (in *Bucket) StatusValue() any { return in.Status }

// ManagedStatus returns the BucketPolicy's conditions and observed generation.
func (in *BucketPolicy) ManagedStatus() (*[]metav1.Condition, *int64) {
	return &in.Status.Conditions, &in.Status.ObservedGeneration
}

// StatusValue returns the BucketPolicy's status by value (sharing its slices).
func (in *BucketPolicy) StatusValue() any { return in.Status }
