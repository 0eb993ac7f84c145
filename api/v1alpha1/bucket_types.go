package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens to the bucket when its Bucket is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain leaves the bucket and its data in place.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete deletes the bucket, but only when it is empty.
	DeletionDelete DeletionPolicy = "Delete"
)

// ProviderReference names a Provider in the same namespace.
type ProviderReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// BucketSpec is the desired state of one S3 bucket.
type BucketSpec struct {
	// ProviderRef names the Provider, in this namespace, that hosts the bucket.
	ProviderRef ProviderReference `json:"providerRef"`

	// BucketName is the bucket's name at the provider. It follows S3's
	// naming rules and cannot change once set.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="bucketName is immutable"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..') && !self.contains('.-') && !self.contains('-.')",message="bucketName must not contain '..', '.-' or '-.'"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$')",message="bucketName must not be formatted as an IP address"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('xn--') && !self.startsWith('sthree-') && !self.startsWith('amzn-s3-demo-')",message="bucketName must not start with 'xn--', 'sthree-' or 'amzn-s3-demo-'"
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('-s3alias') && !self.endsWith('--ol-s3') && !self.endsWith('.mrap') && !self.endsWith('--x-s3') && !self.endsWith('--table-s3')",message="bucketName must not end with a suffix S3 reserves ('-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3')"
	BucketName string `json:"bucketName"`

	// DeletionPolicy says what deleting this Bucket does to the bucket:
	// Retain (the default) leaves it; Delete deletes it, and only when it is
	// empty.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// BucketStatus is the observed state of the bucket.
type BucketStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, ProviderReady, Synced.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Endpoint is the Provider endpoint serving the bucket.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Region is the region the bucket was created in.
	// +optional
	Region string `json:"region,omitempty"`
}

// Bucket is an S3 bucket managed by Pail.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=s3b;pailbucket,categories=pail
// +kubebuilder:printcolumn:name="Bucket",type=string,JSONPath=`.spec.bucketName`
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.providerRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.deletionPolicy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BucketSpec   `json:"spec"`
	Status BucketStatus `json:"status,omitempty"`
}

// BucketList is a list of Buckets.
// +kubebuilder:object:root=true
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}

func init() { SchemeBuilder.Register(&Bucket{}, &BucketList{}) }
