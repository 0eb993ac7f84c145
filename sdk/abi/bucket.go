package abi

// Sub-resources of a bucket. Each is also the capability a driver declares
// when it can read and write it; SubResources (subresources.go) describes
// each one.
const (
	SubVersioning        = "versioning"
	SubMFADelete         = "mfaDelete"
	SubEncryption        = "encryption"
	SubSSEKMS            = "sseKms"
	SubPublicAccessBlock = "publicAccessBlock"
	SubLifecycle         = "lifecycle"
	SubCORS              = "cors"
	SubTagging           = "tagging"
	SubPolicy            = "policy"
	SubObjectLock        = "objectLock"
	// CapForceDelete: the driver can empty a bucket (all versions and delete
	// markers) before deleting it.
	CapForceDelete = "forceDelete"
)

// BucketConfig is a bucket's configuration, one field per sub-resource.
//
// In a desired config (ApplyBucket), a nil field is not managed and never
// written. In an observation, a nil field was not read; a non-nil zero value
// means the provider has none (no lifecycle rules, no policy, …).
type BucketConfig struct {
	Versioning        *Versioning        `json:"versioning,omitempty"`
	Encryption        *Encryption        `json:"encryption,omitempty"`
	PublicAccessBlock *PublicAccessBlock `json:"publicAccessBlock,omitempty"`
	Lifecycle         *Lifecycle         `json:"lifecycle,omitempty"`
	CORS              *CORS              `json:"cors,omitempty"`
	Tagging           *Tagging           `json:"tagging,omitempty"`
	Policy            *Policy            `json:"policy,omitempty"`
	ObjectLock        *ObjectLock        `json:"objectLock,omitempty"`
}

// Versioning of a bucket. Status "" means never enabled.
type Versioning struct {
	Status    string `json:"status,omitempty"`    // Enabled | Suspended
	MFADelete string `json:"mfaDelete,omitempty"` // Enabled | Disabled
}

// Encryption is the default server-side encryption. Algorithm "" means none.
type Encryption struct {
	Algorithm        string `json:"algorithm,omitempty"` // AES256 | aws:kms
	KMSKeyID         string `json:"kmsKeyID,omitempty"`
	BucketKeyEnabled bool   `json:"bucketKeyEnabled,omitempty"`
}

// PublicAccessBlock holds the four S3 flags.
type PublicAccessBlock struct {
	BlockPublicAcls       bool `json:"blockPublicAcls"`
	IgnorePublicAcls      bool `json:"ignorePublicAcls"`
	BlockPublicPolicy     bool `json:"blockPublicPolicy"`
	RestrictPublicBuckets bool `json:"restrictPublicBuckets"`
}

// Lifecycle is the bucket's lifecycle configuration.
type Lifecycle struct {
	Rules []LifecycleRule `json:"rules,omitempty"`
}

// LifecycleRule is one S3 lifecycle rule.
type LifecycleRule struct {
	ID                             string                          `json:"id"`
	Status                         string                          `json:"status"` // Enabled | Disabled
	Prefix                         string                          `json:"prefix,omitempty"`
	Tags                           map[string]string               `json:"tags,omitempty"`
	Expiration                     *LifecycleExpiration            `json:"expiration,omitempty"`
	NoncurrentVersionExpiration    *NoncurrentVersionExpiration    `json:"noncurrentVersionExpiration,omitempty"`
	Transitions                    []LifecycleTransition           `json:"transitions,omitempty"`
	AbortIncompleteMultipartUpload *AbortIncompleteMultipartUpload `json:"abortIncompleteMultipartUpload,omitempty"`
}

// LifecycleExpiration expires current versions after Days or on Date (YYYY-MM-DD).
type LifecycleExpiration struct {
	Days                      int32  `json:"days,omitempty"`
	Date                      string `json:"date,omitempty"`
	ExpiredObjectDeleteMarker bool   `json:"expiredObjectDeleteMarker,omitempty"`
}

// NoncurrentVersionExpiration expires noncurrent versions.
type NoncurrentVersionExpiration struct {
	NoncurrentDays          int32 `json:"noncurrentDays"`
	NewerNoncurrentVersions int32 `json:"newerNoncurrentVersions,omitempty"`
}

// LifecycleTransition moves objects to another storage class.
type LifecycleTransition struct {
	Days         int32  `json:"days,omitempty"`
	Date         string `json:"date,omitempty"`
	StorageClass string `json:"storageClass"`
}

// AbortIncompleteMultipartUpload cleans up abandoned multipart uploads.
type AbortIncompleteMultipartUpload struct {
	DaysAfterInitiation int32 `json:"daysAfterInitiation"`
}

// CORS is the bucket's CORS configuration; rule order matters (first match wins).
type CORS struct {
	Rules []CORSRule `json:"rules,omitempty"`
}

// CORSRule is one CORS rule.
type CORSRule struct {
	ID             string   `json:"id,omitempty"`
	AllowedMethods []string `json:"allowedMethods"`
	AllowedOrigins []string `json:"allowedOrigins"`
	AllowedHeaders []string `json:"allowedHeaders,omitempty"`
	ExposeHeaders  []string `json:"exposeHeaders,omitempty"`
	MaxAgeSeconds  int32    `json:"maxAgeSeconds,omitempty"`
}

// Tagging is the bucket's tag set.
type Tagging struct {
	Tags map[string]string `json:"tags,omitempty"`
}

// Policy is the bucket policy document as JSON; "" means none.
type Policy struct {
	Document string `json:"document,omitempty"`
}

// ObjectLock is enabled at creation only; DefaultRetention (optional) may be
// written later to a bucket that has it enabled. See SubResources.
type ObjectLock struct {
	Enabled          bool              `json:"enabled"`
	DefaultRetention *ObjectLockPeriod `json:"defaultRetention,omitempty"`
}

// ObjectLockPeriod is a default retention: Mode GOVERNANCE|COMPLIANCE, Days or Years.
type ObjectLockPeriod struct {
	Mode  string `json:"mode"`
	Days  int32  `json:"days,omitempty"`
	Years int32  `json:"years,omitempty"`
}
