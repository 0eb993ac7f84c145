package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// EnforcementMode says what a policy-pack violation does.
// +kubebuilder:validation:Enum=Enforce;Warn
type EnforcementMode string

const (
	// EnforcementEnforce blocks the apply on any violation.
	EnforcementEnforce EnforcementMode = "Enforce"
	// EnforcementWarn applies anyway and reports violations as warnings.
	EnforcementWarn EnforcementMode = "Warn"
)

// BucketReference names a Bucket in the same namespace.
type BucketReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// BucketPolicySpec is an IAM bucket policy for one Bucket.
type BucketPolicySpec struct {
	// BucketRef names the Bucket, in this namespace, the policy applies to.
	BucketRef BucketReference `json:"bucketRef"`

	// Policy is the IAM policy document, kept exactly as written: Version,
	// Id, and Statement with Sid, Effect, Principal/NotPrincipal,
	// Action/NotAction, Resource/NotResource and Condition, each in its
	// string or list form. Write it as YAML or JSON.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Policy runtime.RawExtension `json:"policy"`

	// EnforcementMode: Enforce (the default) blocks the apply when a policy
	// pack denies the document; Warn applies it and reports the violations.
	// +kubebuilder:default=Enforce
	// +optional
	EnforcementMode EnforcementMode `json:"enforcementMode,omitempty"`

	// Packs selects the policy packs to evaluate; empty means every loaded pack.
	// +optional
	// +listType=set
	Packs []string `json:"packs,omitempty"`
}

// BucketPolicyStatus reports validation and the last apply.
type BucketPolicyStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, PolicyValid, Synced, Conflict.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Violations are the deny messages of the packs at the last evaluation.
	// +optional
	Violations []string `json:"violations,omitempty"`
	// Warnings are the warn messages of the packs (and, in Warn mode, the
	// violations) at the last evaluation.
	// +optional
	Warnings []string `json:"warnings,omitempty"`
	// LastAppliedDiff lists the statements added and removed by the last
	// write of the policy to the bucket.
	// +optional
	LastAppliedDiff []string `json:"lastAppliedDiff,omitempty"`
	// AppliedHash identifies the canonical form of the policy in place.
	// +optional
	AppliedHash string `json:"appliedHash,omitempty"`
}

// BucketPolicy is an IAM bucket policy, validated by policy packs before it
// is applied and re-applied only when it really changed.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=s3bp;pailbucketpolicy,categories=pail
// +kubebuilder:printcolumn:name="Bucket",type=string,JSONPath=`.spec.bucketRef.name`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.enforcementMode`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="PolicyValid")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BucketPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BucketPolicySpec   `json:"spec"`
	Status BucketPolicyStatus `json:"status,omitempty"`

	// decodeError is why the stored spec could not be read (see DecodeError).
	decodeError string `json:"-"`
}

// BucketPolicyList is a list of BucketPolicies.
// +kubebuilder:object:root=true
type BucketPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BucketPolicy `json:"items"`
}
