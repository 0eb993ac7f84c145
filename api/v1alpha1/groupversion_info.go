// Package v1alpha1 holds the pail.dev/v1alpha1 API: Provider, ClusterProvider,
// Bucket, BucketPolicy, AccessKey and Guardrail.
// +kubebuilder:object:generate=true
// +groupName=pail.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every Pail kind.
	GroupVersion = schema.GroupVersion{Group: "pail.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Pail kinds. The api module depends only on
	// apimachinery, so anything can import it cheaply.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the Pail kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Provider{}, &ProviderList{}, &Bucket{}, &BucketList{}, &BucketPolicy{}, &BucketPolicyList{}, &AccessKey{}, &AccessKeyList{},
		&ClusterProvider{}, &ClusterProviderList{}, &Guardrail{}, &GuardrailList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
