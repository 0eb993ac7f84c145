package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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

// ProviderReference names a Provider in the same namespace, or a
// ClusterProvider that an admin shares with the namespace.
type ProviderReference struct {
	// Kind is Provider (the default: a Provider in this namespace) or
	// ClusterProvider (a cluster-scoped Provider whose spec.allowedNamespaces
	// admits this namespace).
	// +kubebuilder:validation:Enum=Provider;ClusterProvider
	// +kubebuilder:default=Provider
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name of the Provider or ClusterProvider.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// The kinds a ProviderReference may name.
const (
	KindProvider        = "Provider"
	KindClusterProvider = "ClusterProvider"
)

// KindOrDefault is the kind the reference names: Provider when unset (as
// objects stored before ClusterProviders existed are).
func (r ProviderReference) KindOrDefault() string {
	if r.Kind == "" {
		return KindProvider
	}
	return r.Kind
}

// Cluster reports whether the reference names a ClusterProvider.
func (r ProviderReference) Cluster() bool { return r.Kind == KindClusterProvider }

// String names the reference for messages: "Provider x" or "ClusterProvider x".
func (r ProviderReference) String() string { return r.KindOrDefault() + " " + r.Name }

// BucketSpec is the desired state of one S3 bucket.
type BucketSpec struct {
	// ProviderRef names the Provider, in this namespace, or the
	// ClusterProvider (kind: ClusterProvider) that hosts the bucket.
	// It is immutable: a Bucket never moves to another Provider, so Pail can
	// never mistake a same-named bucket elsewhere for the one it manages. To
	// manage a bucket at another Provider, create a new Bucket (with adopt if
	// the bucket exists there).
	// +kubebuilder:validation:XValidation:rule="self.name == oldSelf.name && (has(self.kind) ? self.kind : 'Provider') == (has(oldSelf.kind) ? oldSelf.kind : 'Provider')",message="providerRef is immutable; to manage a bucket at another Provider, create a new Bucket"
	ProviderRef ProviderReference `json:"providerRef"`

	// BucketName is the bucket's name at the provider. It follows S3's
	// naming rules (3 to 63 lowercase letters, digits, dots and hyphens).
	// Immutable: it cannot change once set.
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
	// empty unless forceDelete is set.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// ForceDelete, with deletionPolicy Delete, empties the bucket first: every
	// object version and delete marker is deleted, then the bucket. This
	// destroys data and cannot be undone.
	// +optional
	ForceDelete bool `json:"forceDelete,omitempty"`

	// Region overrides the Provider's region for this bucket.
	// +optional
	Region string `json:"region,omitempty"`

	// ManagementPolicy: Manage (the default) creates the bucket and corrects
	// drift; ObserveOnly never writes, and reports drift in the Synced condition.
	// +kubebuilder:default=Manage
	// +optional
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// Adopt lets Pail take over a bucket that already exists and that it did
	// not create. Without it such a bucket is left untouched and the Bucket
	// reports Conflict.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// Versioning of objects, and MFA delete.
	// +optional
	Versioning *VersioningSpec `json:"versioning,omitempty"`

	// Encryption is the default server-side encryption.
	// +optional
	Encryption *EncryptionSpec `json:"encryption,omitempty"`

	// PublicAccessBlock sets the four S3 public access block flags.
	// +optional
	PublicAccessBlock *PublicAccessBlockSpec `json:"publicAccessBlock,omitempty"`

	// Lifecycle rules. An empty list removes every rule.
	// +optional
	Lifecycle *LifecycleSpec `json:"lifecycle,omitempty"`

	// CORS rules, in order: the first match wins. An empty list removes them.
	// +optional
	CORS *CORSSpec `json:"cors,omitempty"`

	// Tags of the bucket, at most 50. When set, Pail owns the whole tag set;
	// when absent, Pail leaves the bucket's tags alone. Keys are 1 to 128
	// characters, values 0 to 256; both may hold letters, digits, spaces and
	// + - = . _ : / @; keys must not start with aws: (AWS reserves it). The
	// apiserver checks all of it but the characters of values (a rule on
	// unbounded map values exceeds its CEL cost budget): the provider
	// refuses a bad one, and the driver's error names the tag and the rule.
	// Some providers accept less (MinIO: ASCII letters only). Keys starting
	// with pail.dev/ are Pail's ownership mark, which Pail adds to the tag
	// set, keeps out of the diff and never removes: spec.tags may not set
	// them (see docs/buckets.md).
	// +kubebuilder:validation:MaxProperties=50
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() >= 1 && k.size() <= 128)",message="tag keys must be 1 to 128 characters long"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 256)",message="tag values must be at most 256 characters long"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k.matches('^[\\p{L}\\p{Z}\\p{N}_.:/=+@-]*$'))`,message="tag keys may contain only letters, digits, spaces and the characters + - = . _ : / @"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.lowerAscii().startsWith('aws:'))",message="tag keys must not start with aws:, a prefix AWS reserves for its own tags"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('pail.dev/'))",message="spec.tags may not set keys starting with pail.dev/: Pail keeps them for its ownership mark"
	// +optional
	Tags map[string]string `json:"tags,omitempty"`

	// Policy is an inline bucket policy document (IAM JSON, written as YAML
	// or JSON). A Bucket with an inline policy cannot also be the target of a
	// BucketPolicy; use one or the other. Removing it deletes the policy.
	// It is checked by every loaded policy pack in Enforce mode, as a
	// BucketPolicy is: a document the packs deny is refused at admission and,
	// if stored before a pack denied it, is not applied (the PolicyValid
	// condition says why; the rest of the spec is still applied).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Policy *runtime.RawExtension `json:"policy,omitempty"`

	// ObjectLock can only be enabled when the bucket is created. Immutable:
	// it cannot be added to, changed on, or removed from an existing Bucket.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="objectLock is create-only and cannot change"
	// +optional
	ObjectLock *ObjectLockSpec `json:"objectLock,omitempty"`
}

// ManagementPolicy says whether Pail writes to the bucket.
// +kubebuilder:validation:Enum=Manage;ObserveOnly
type ManagementPolicy string

const (
	// ManagementManage creates the bucket and corrects drift.
	ManagementManage ManagementPolicy = "Manage"
	// ManagementObserveOnly only reads, and reports drift.
	ManagementObserveOnly ManagementPolicy = "ObserveOnly"
)

// VersioningSpec configures object versioning.
type VersioningSpec struct {
	// Status is Enabled or Suspended. Versioning can be suspended but never
	// turned off once enabled.
	// +kubebuilder:validation:Enum=Enabled;Suspended
	Status string `json:"status"`
	// MFADelete requires an MFA code to change versioning or delete versions.
	// +optional
	MFADelete *MFADeleteSpec `json:"mfaDelete,omitempty"`
}

// MFADeleteSpec turns MFA delete on or off. The device serial and its TOTP
// seed come from a Secret; Pail computes the code when it calls.
type MFADeleteSpec struct {
	Enabled bool `json:"enabled"`
	// SecretRef names a Secret in the Bucket's namespace with keys serial and seed.
	SecretRef MFASecretRef `json:"secretRef"`
}

// MFASecretRef selects the MFA device serial and TOTP seed.
type MFASecretRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=serial
	// +optional
	SerialKey string `json:"serialKey,omitempty"`
	// +kubebuilder:default=seed
	// +optional
	SeedKey string `json:"seedKey,omitempty"`
}

// EncryptionSpec is the default server-side encryption.
// +kubebuilder:validation:XValidation:rule="self.algorithm == 'aws:kms' || !has(self.kmsKeyID)",message="kmsKeyID is only valid with algorithm aws:kms"
// +kubebuilder:validation:XValidation:rule="self.algorithm == 'aws:kms' || !has(self.bucketKeyEnabled) || !self.bucketKeyEnabled",message="bucketKeyEnabled is only valid with algorithm aws:kms"
type EncryptionSpec struct {
	// Algorithm is AES256 (SSE-S3) or aws:kms (SSE-KMS).
	// +kubebuilder:validation:Enum=AES256;aws:kms
	Algorithm string `json:"algorithm"`
	// KMSKeyID is the KMS key id or ARN for aws:kms.
	// +optional
	KMSKeyID string `json:"kmsKeyID,omitempty"`
	// BucketKeyEnabled reduces KMS requests with an S3 bucket key.
	// +optional
	BucketKeyEnabled bool `json:"bucketKeyEnabled,omitempty"`
}

// PublicAccessBlockSpec holds the four S3 flags.
type PublicAccessBlockSpec struct {
	// +optional
	BlockPublicAcls bool `json:"blockPublicAcls,omitempty"`
	// +optional
	IgnorePublicAcls bool `json:"ignorePublicAcls,omitempty"`
	// +optional
	BlockPublicPolicy bool `json:"blockPublicPolicy,omitempty"`
	// +optional
	RestrictPublicBuckets bool `json:"restrictPublicBuckets,omitempty"`
}

// LifecycleSpec holds lifecycle rules.
type LifecycleSpec struct {
	// +kubebuilder:validation:MaxItems=1000
	// +listType=map
	// +listMapKey=id
	// +optional
	Rules []LifecycleRule `json:"rules,omitempty"`
}

// LifecycleRule is one lifecycle rule.
// +kubebuilder:validation:XValidation:rule="has(self.expiration) || has(self.noncurrentVersionExpiration) || has(self.transitions) || has(self.abortIncompleteMultipartUpload)",message="a lifecycle rule needs at least one action: expiration, noncurrentVersionExpiration, transitions or abortIncompleteMultipartUpload"
type LifecycleRule struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ID string `json:"id"`
	// +kubebuilder:validation:Enum=Enabled;Disabled
	// +kubebuilder:default=Enabled
	// +optional
	Status string `json:"status,omitempty"`
	// Filter selects objects by prefix and/or tags; empty selects all.
	// +optional
	Filter *LifecycleFilter `json:"filter,omitempty"`
	// +optional
	Expiration *LifecycleExpiration `json:"expiration,omitempty"`
	// +optional
	NoncurrentVersionExpiration *NoncurrentVersionExpiration `json:"noncurrentVersionExpiration,omitempty"`
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Transitions []LifecycleTransition `json:"transitions,omitempty"`
	// +optional
	AbortIncompleteMultipartUpload *AbortIncompleteMultipartUpload `json:"abortIncompleteMultipartUpload,omitempty"`
}

// LifecycleFilter selects the objects a rule applies to.
type LifecycleFilter struct {
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// Tags select objects carrying all of them, at most 10, under the same
	// rules as the Bucket's spec.tags.
	// +kubebuilder:validation:MaxProperties=10
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() >= 1 && k.size() <= 128)",message="tag keys must be 1 to 128 characters long"
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 256)",message="tag values must be at most 256 characters long"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k.matches('^[\\p{L}\\p{Z}\\p{N}_.:/=+@-]*$'))`,message="tag keys may contain only letters, digits, spaces and the characters + - = . _ : / @"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.lowerAscii().startsWith('aws:'))",message="tag keys must not start with aws:, a prefix AWS reserves for its own tags"
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
}

// LifecycleExpiration expires current object versions.
// +kubebuilder:validation:XValidation:rule="[has(self.days), has(self.date), has(self.expiredObjectDeleteMarker) && self.expiredObjectDeleteMarker].filter(x, x).size() == 1",message="set exactly one of days, date or expiredObjectDeleteMarker"
type LifecycleExpiration struct {
	// +kubebuilder:validation:Minimum=1
	// +optional
	Days int32 `json:"days,omitempty"`
	// Date is midnight UTC of YYYY-MM-DD.
	// +kubebuilder:validation:Format=date
	// +optional
	Date string `json:"date,omitempty"`
	// +optional
	ExpiredObjectDeleteMarker bool `json:"expiredObjectDeleteMarker,omitempty"`
}

// NoncurrentVersionExpiration expires noncurrent versions.
type NoncurrentVersionExpiration struct {
	// +kubebuilder:validation:Minimum=1
	NoncurrentDays int32 `json:"noncurrentDays"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	NewerNoncurrentVersions int32 `json:"newerNoncurrentVersions,omitempty"`
}

// LifecycleTransition moves objects to another storage class.
// +kubebuilder:validation:XValidation:rule="has(self.days) != has(self.date)",message="set exactly one of days or date"
type LifecycleTransition struct {
	// +kubebuilder:validation:Minimum=0
	// +optional
	Days *int32 `json:"days,omitempty"`
	// +kubebuilder:validation:Format=date
	// +optional
	Date string `json:"date,omitempty"`
	// +kubebuilder:validation:MinLength=1
	StorageClass string `json:"storageClass"`
}

// AbortIncompleteMultipartUpload cleans up abandoned uploads.
type AbortIncompleteMultipartUpload struct {
	// +kubebuilder:validation:Minimum=1
	DaysAfterInitiation int32 `json:"daysAfterInitiation"`
}

// CORSSpec holds CORS rules.
type CORSSpec struct {
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Rules []CORSRule `json:"rules,omitempty"`
}

// CORSRule is one CORS rule: which origins may use which methods.
type CORSRule struct {
	// +kubebuilder:validation:MaxLength=255
	// +optional
	ID string `json:"id,omitempty"`
	// AllowedMethods are the HTTP methods the rule allows, at least one of
	// GET, PUT, POST, DELETE and HEAD (the methods S3 CORS knows).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:items:Enum=GET;PUT;POST;DELETE;HEAD
	AllowedMethods []string `json:"allowedMethods"`
	// AllowedOrigins are the origins allowed to make cross-origin requests,
	// for example https://app.example.com; one * wildcard is allowed.
	// +kubebuilder:validation:MinItems=1
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowedHeaders are the request headers a preflight may ask for.
	// +optional
	AllowedHeaders []string `json:"allowedHeaders,omitempty"`
	// ExposeHeaders are the response headers browsers may read.
	// +optional
	ExposeHeaders []string `json:"exposeHeaders,omitempty"`
	// MaxAgeSeconds is how long browsers may cache a preflight answer.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxAgeSeconds int32 `json:"maxAgeSeconds,omitempty"`
}

// ObjectLockSpec enables S3 Object Lock at creation.
type ObjectLockSpec struct {
	Enabled bool `json:"enabled"`
	// +optional
	DefaultRetention *ObjectLockRetention `json:"defaultRetention,omitempty"`
}

// ObjectLockRetention is the default retention of new objects.
// +kubebuilder:validation:XValidation:rule="has(self.days) != has(self.years)",message="set exactly one of days or years"
type ObjectLockRetention struct {
	// +kubebuilder:validation:Enum=GOVERNANCE;COMPLIANCE
	Mode string `json:"mode"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	Days int32 `json:"days,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	Years int32 `json:"years,omitempty"`
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
	// Location is where Pail established its ownership of the bucket (the
	// Provider endpoint, and account when the driver reports one), written
	// with status.ownership. Pail writes to or deletes the bucket only while
	// its Provider still points there; otherwise the Bucket reports
	// LocationChanged and touches nothing.
	// +optional
	Location *Location `json:"location,omitempty"`
	// Region is the region the bucket was created in.
	// +optional
	Region string `json:"region,omitempty"`
	// Ownership is Created when Pail created the bucket and Adopted when it
	// took over an existing one; empty while neither is established.
	// +optional
	Ownership string `json:"ownership,omitempty"`
	// Unsupported lists requested features the driver or server cannot do.
	// +optional
	Unsupported []string `json:"unsupported,omitempty"`
	// Drift lists the fields whose observed value differed from the spec at
	// the last observation (corrected unless managementPolicy is ObserveOnly).
	// +optional
	Drift []string `json:"drift,omitempty"`
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
// +kubebuilder:printcolumn:name="Ownership",type=string,JSONPath=`.status.ownership`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Bucket struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BucketSpec   `json:"spec"`
	Status BucketStatus `json:"status,omitempty"`

	// decodeError is why the stored spec could not be read (see DecodeError).
	decodeError string `json:"-"`
}

// BucketList is a list of Buckets.
// +kubebuilder:object:root=true
type BucketList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Bucket `json:"items"`
}
