package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// BucketAccessLevel is a shorthand permission on one Bucket.
// +kubebuilder:validation:Enum=ReadOnly;ReadWrite;WriteOnly
type BucketAccessLevel string

// The access levels an AccessKey may have to a bucket.
const (
	AccessReadOnly  BucketAccessLevel = "ReadOnly"
	AccessReadWrite BucketAccessLevel = "ReadWrite"
	AccessWriteOnly BucketAccessLevel = "WriteOnly"
)

// BucketAccess grants one access level on one Bucket of the same namespace.
type BucketAccess struct {
	// BucketRef names a Bucket in this namespace; the policy uses its
	// spec.bucketName.
	BucketRef BucketReference `json:"bucketRef"`
	// Access is ReadOnly (list and get), ReadWrite (also put and delete) or
	// WriteOnly (put only).
	Access BucketAccessLevel `json:"access"`
}

// KeySecret says where the credentials go.
type KeySecret struct {
	// Name of the Secret in the AccessKey's namespace. Defaults to the
	// AccessKey's name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// AccessKeyIDKey is the Secret key of the access key id.
	// +kubebuilder:default=AWS_ACCESS_KEY_ID
	// +optional
	AccessKeyIDKey string `json:"accessKeyIDKey,omitempty"`
	// SecretAccessKeyKey is the Secret key of the secret access key.
	// +kubebuilder:default=AWS_SECRET_ACCESS_KEY
	// +optional
	SecretAccessKeyKey string `json:"secretAccessKeyKey,omitempty"`
	// IncludeEndpoint adds AWS_ENDPOINT_URL (the Provider's endpoint).
	// +optional
	IncludeEndpoint bool `json:"includeEndpoint,omitempty"`
	// IncludeRegion adds AWS_REGION (the Provider's region).
	// +optional
	IncludeRegion bool `json:"includeRegion,omitempty"`
	// IncludeBucketNames adds BUCKET_NAMES: the bucket names of spec.buckets,
	// comma-separated, in order.
	// +optional
	IncludeBucketNames bool `json:"includeBucketNames,omitempty"`
	// Labels and Annotations are added to the Secret.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rotation replaces the key on a schedule or on demand, with an overlap in
// which the previous key still works.
type Rotation struct {
	// Interval between rotations: a Go duration such as 720h (30 days), at
	// least 1h. Empty means rotate only on a trigger.
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$')",message="interval must be a Go duration such as 720h or 90m (units h, m, s, ms, us, ns)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[-+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1h')",message="interval must be at least 1h; rotating more often only churns keys (leave it empty to rotate only on a trigger)"
	// +optional
	Interval *Duration `json:"interval,omitempty"`
	// Retention is how long the previous key stays valid (and in the Secret
	// under the *_PREVIOUS keys) after a rotation: a Go duration such as 24h,
	// at least 1s. Then it is deactivated and deleted. Give apps time to
	// read the new key: the kubelet refreshes mounted Secrets about once a
	// minute.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$')",message="retention must be a Go duration such as 24h or 90m (units h, m, s, ms, us, ns)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[-+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$') || duration(self) >= duration('1s')",message="retention must be at least 1s"
	// +optional
	Retention *Duration `json:"retention,omitempty"`
	// Trigger rotates the key once each time its value changes; set it to a
	// timestamp or any new string.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Trigger string `json:"trigger,omitempty"`
}

// AccessKeySpec describes a user, its permissions and one access key.
// +kubebuilder:validation:XValidation:rule="has(self.userName) == has(oldSelf.userName) && (!has(self.userName) || self.userName == oldSelf.userName)",message="userName cannot be set, changed or removed after creation; create a new AccessKey"
// +kubebuilder:validation:XValidation:rule="oldSelf.providerRef.name == self.providerRef.name && (has(self.providerRef.kind) ? self.providerRef.kind : 'Provider') == (has(oldSelf.providerRef.kind) ? oldSelf.providerRef.kind : 'Provider')",message="providerRef cannot change; create a new AccessKey"
type AccessKeySpec struct {
	// ProviderRef names the Provider, in this namespace, or the
	// ClusterProvider (kind: ClusterProvider) whose IAM (or MinIO admin API)
	// holds the user. On a ClusterProvider the user's own key is written
	// into this namespace; the ClusterProvider's credentials never are.
	// Immutable: create a new AccessKey to use another Provider.
	ProviderRef ProviderReference `json:"providerRef"`

	// UserName is the user at the provider. Empty generates a stable name
	// from the namespace, name and UID (shown in status.userName). Pail
	// deletes only the keys it recorded creating for this AccessKey; any
	// other key of the user is left alone, with a ForeignKey warning.
	// Immutable: it cannot be set, changed or removed after creation.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+=,.@_-]+$`
	// +optional
	UserName string `json:"userName,omitempty"`

	// Policy is an inline identity policy (Version, Statement), checked by
	// the identity policy pack. It is combined with the statements generated
	// from Buckets.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Policy *runtime.RawExtension `json:"policy,omitempty"`

	// Buckets grants access to Buckets of this namespace by shorthand.
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Buckets []BucketAccess `json:"buckets,omitempty"`

	// Tags of the user, at most 49, under the same rules as a Bucket's
	// spec.tags: keys 1 to 128 characters, values 0 to 256, letters, digits,
	// spaces and + - = . _ : / @, and no aws: prefix (all checked by the
	// apiserver except the characters of values). Pail adds the tag
	// pail.dev/owner, which marks the user as this AccessKey's, so spec.tags
	// may not set it.
	// +kubebuilder:validation:MaxProperties=49
	// +kubebuilder:validation:XValidation:rule="!('pail.dev/owner' in self)",message="spec.tags may not set pail.dev/owner: Pail sets it to mark the user as this AccessKey's"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() >= 1 && k.size() <= 128)",message="tag keys must be 1 to 128 characters long"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 256)",message="tag values must be at most 256 characters long"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k.matches('^[\\p{L}\\p{Z}\\p{N}_.:/=+@-]*$'))`,message="tag keys may contain only letters, digits, spaces and the characters + - = . _ : / @"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.lowerAscii().startsWith('aws:'))",message="tag keys must not start with aws:, a prefix AWS reserves for its own tags"
	// +optional
	Tags map[string]string `json:"tags,omitempty"`

	// Secret configures the Secret that receives the credentials.
	// +optional
	Secret KeySecret `json:"secret,omitempty"`

	// Rotation replaces the key on a schedule or trigger.
	// +optional
	Rotation *Rotation `json:"rotation,omitempty"`

	// Packs selects the policy packs that check the identity policy; empty
	// means the built-in identity pack.
	// +listType=set
	// +optional
	Packs []string `json:"packs,omitempty"`

	// DeletionPolicy: Delete (the default) deletes the keys and the user when
	// the AccessKey is deleted; Retain leaves them and the Secret in place
	// (the Secret loses its owner reference so it is not garbage-collected).
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// AccessKeyStatus shows the key's id and dates, never its secret.
type AccessKeyStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, ProviderReady, PolicyValid, Synced, Rotating, Unsupported.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// UserName is the user at the provider.
	// +optional
	UserName string `json:"userName,omitempty"`
	// SecretName is the Secret holding the credentials.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// AccessKeyID is the current key's id.
	// +optional
	AccessKeyID string `json:"accessKeyID,omitempty"`
	// PreviousAccessKeyID is the key replaced by the last rotation while its
	// retention lasts.
	// +optional
	PreviousAccessKeyID string `json:"previousAccessKeyID,omitempty"`
	// PreviousKeyExpiresAt is when the previous key is deactivated and deleted.
	// +optional
	PreviousKeyExpiresAt *metav1.Time `json:"previousKeyExpiresAt,omitempty"`
	// CreatedAt is when the current key was created.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// LastRotatedAt is when the last rotation stored a new key.
	// +optional
	LastRotatedAt *metav1.Time `json:"lastRotatedAt,omitempty"`
	// NextRotationAt is when the interval rotates the key next.
	// +optional
	NextRotationAt *metav1.Time `json:"nextRotationAt,omitempty"`
	// LastUsedAt is when the provider last saw the current key used, where
	// the driver reports it.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
	// PolicyHash identifies the canonical identity policy in place.
	// +optional
	PolicyHash string `json:"policyHash,omitempty"`
	// Location is where Pail created or took the user: the Provider's
	// endpoint and account then. Pail writes to and deletes the user and its
	// keys only while the Provider still points there. An AccessKey made
	// before Pail recorded locations takes the Provider's current one.
	// +optional
	Location *Location `json:"location,omitempty"`
}

// AccessKey is a provider user with one access key, kept in a Secret and
// rotated with overlap.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=s3key;pailaccesskey,categories=pail
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.providerRef.name`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.status.userName`
// +kubebuilder:printcolumn:name="Key",type=string,JSONPath=`.status.accessKeyID`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Next-Rotation",type=date,JSONPath=`.status.nextRotationAt`,priority=1
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessKey struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AccessKeySpec   `json:"spec"`
	Status AccessKeyStatus `json:"status,omitempty"`

	// decodeError is why the stored spec could not be read (see DecodeError).
	decodeError string `json:"-"`
}

// AccessKeyList is a list of AccessKeys.
// +kubebuilder:object:root=true
type AccessKeyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessKey `json:"items"`
}
