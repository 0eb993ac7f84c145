// Package v1alpha1 holds the pail.dev/v1alpha1 API: Provider and Bucket.
// +kubebuilder:object:generate=true
// +groupName=pail.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every Pail kind.
	GroupVersion = schema.GroupVersion{Group: "pail.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Pail kinds.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Pail kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
