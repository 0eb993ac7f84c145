package v1alpha1

// Condition types. Ready summarises; the others explain it.
const (
	ConditionReady             = "Ready"
	ConditionEndpointReachable = "EndpointReachable"
	ConditionAuthValid         = "AuthValid"
	ConditionDriverReady       = "DriverReady"
	ConditionProviderReady     = "ProviderReady"
	ConditionSynced            = "Synced"
	ConditionUnsupported       = "Unsupported"
	ConditionConflict          = "Conflict"
	ConditionPolicyValid       = "PolicyValid"
	ConditionRotating          = "Rotating"
)

// Condition reasons. They are CamelCase and stable: docs/troubleshooting.md
// is organised by them.
const (
	ReasonAvailable           = "Available"
	ReasonReachable           = "Reachable"
	ReasonUnreachable         = "Unreachable"
	ReasonEndpointForbidden   = "EndpointForbidden"
	ReasonNotS3Endpoint       = "NotS3Endpoint"
	ReasonCredentialsAccepted = "CredentialsAccepted"
	ReasonCredentialsRefused  = "CredentialsRefused"
	ReasonCredentialsMissing  = "CredentialsMissing"
	ReasonTLSConfigInvalid    = "TLSConfigInvalid"
	ReasonUnknown             = "Unknown"
	ReasonDriverLoaded        = "DriverLoaded"
	ReasonDriverLoading       = "DriverLoading"
	ReasonDriverNotFound      = "DriverNotFound"
	ReasonDriverFailed        = "DriverFailed"
	ReasonDriverTrapped       = "DriverTrapped"
	ReasonProviderNotFound    = "ProviderNotFound"
	ReasonProviderNotReady    = "ProviderNotReady"
	ReasonProviderReady       = "ProviderReady"
	ReasonCreated             = "Created"
	ReasonObserved            = "Observed"
	ReasonBackendError        = "BackendError"
	ReasonBucketNotEmpty      = "BucketNotEmpty"
	ReasonDeleting            = "Deleting"
	ReasonInvalidSpec         = "InvalidSpec"
	ReasonInSync              = "InSync"
	ReasonDriftCorrected      = "DriftCorrected"
	ReasonDriftLoop           = "DriftLoop"
	ReasonDrift               = "Drift"
	ReasonApplied             = "Applied"
	ReasonUnsupported         = "Unsupported"
	ReasonAllSupported        = "AllSupported"
	ReasonBucketExists        = "BucketExists"
	ReasonNoConflict          = "NoConflict"
	ReasonAdopted             = "Adopted"
	ReasonBucketNotFound      = "BucketNotFound"
	ReasonMFAUnavailable      = "MFAUnavailable"
	ReasonEmptying            = "Emptying"
	ReasonBucketNotReady      = "BucketNotReady"
	ReasonPolicyDenied        = "PolicyDenied"
	ReasonPolicyWarnings      = "PolicyWarnings"
	ReasonPolicyAllowed       = "PolicyAllowed"
	ReasonPolicyNotJSON       = "PolicyNotJSON"
	ReasonInlinePolicy        = "InlinePolicy"
	ReasonOtherBucketPolicy   = "OtherBucketPolicy"
	ReasonPacksUnavailable    = "PacksUnavailable"
	ReasonUserCreated         = "UserCreated"
	ReasonKeyCreated          = "KeyCreated"
	ReasonKeyRotated          = "KeyRotated"
	ReasonKeyDeactivated      = "KeyDeactivated"
	ReasonKeyDeleted          = "KeyDeleted"
	ReasonLeakedKeyRemoved    = "LeakedKeyRemoved"
	ReasonRotationScheduled   = "RotationScheduled"
	ReasonWaitingForRetention = "WaitingForRetention"
	ReasonPreviousKeyActive   = "PreviousKeyActive"
	ReasonBucketRefNotFound   = "BucketRefNotFound"
	ReasonSecretConflict      = "SecretConflict"
	ReasonUserDeleted         = "UserDeleted"
	ReasonRetained            = "Retained"
	ReasonUserConflict        = "UserConflict"
	// ReasonLocationChanged: the Provider now points somewhere other than
	// where Pail established its ownership; nothing is written or deleted.
	ReasonLocationChanged = "LocationChanged"
	// ReasonAlreadyManaged: another Bucket already manages the same bucket
	// at the same location; the newcomer touches nothing.
	ReasonAlreadyManaged = "AlreadyManaged"
	// ReasonBackendRefusedPolicy: the backend (or its driver, knowing the
	// backend's gaps) refused a policy document; nothing was written.
	ReasonBackendRefusedPolicy = "BackendRefusedPolicy"
	// ReasonGrantRefused: an AccessKey grants a bucket across tenants (a
	// Bucket of another Provider on another backend in spec.buckets, or in
	// spec.policy a bucket
	// of another namespace, or a wildcard over buckets on a shared
	// Provider); no user is written.
	ReasonGrantRefused = "GrantRefused"
)

// Reasons of the key protocol: a lost key, a key Pail leaves alone, an
// interrupted create.
const (
	ReasonKeyLost              = "KeyLost"
	ReasonForeignKey           = "ForeignKey"
	ReasonKeyCreateInterrupted = "KeyCreateInterrupted"
)

// Reasons for inputs and in-use protection.
const (
	// ReasonNamespaceDeleted: a resource was released, what it manages
	// left in place, because its namespace is being deleted and the cause
	// that blocked its deletion can no longer be fixed there.
	ReasonNamespaceDeleted = "NamespaceDeleted"
)

// AccessKeyFinalizer keeps an AccessKey until its deletionPolicy has been honoured.
const AccessKeyFinalizer = "pail.dev/accesskey"

// Annotations and labels on an AccessKey's Secret. The Secret, not the
// status, is the record of which keys exist: it is written in the same
// update that stores a new key's secret, so a crash cannot separate them.
const (
	// LabelAccessKey marks Secrets written for an AccessKey (value: its name).
	LabelAccessKey = "pail.dev/access-key"
	// AnnotationKeyCreated is the RFC 3339 creation time of the current key.
	AnnotationKeyCreated = "pail.dev/key-created-at"
	// AnnotationPreviousExpires is when the previous key is retired.
	AnnotationPreviousExpires = "pail.dev/previous-key-expires-at"
	// AnnotationRotationTrigger is the spec.rotation.trigger value the
	// current key answered.
	AnnotationRotationTrigger = "pail.dev/rotation-trigger"
	// AnnotationUser is the provider user the keys belong to.
	AnnotationUser = "pail.dev/user"
	// AnnotationPendingKey records a key creation in progress (JSON: when
	// it began and which keys the user held then). It is written before
	// CreateAccessKey and removed in the update that stores the new key, so
	// a key an interrupted create left can be told apart from another's.
	AnnotationPendingKey = "pail.dev/pending-key"
	// AnnotationRetiredKeys lists, comma-separated, keys taken out of the
	// Secret whose deletion at the provider is not yet confirmed.
	AnnotationRetiredKeys = "pail.dev/retired-keys"
	// AnnotationForeignKeys lists, comma-separated, keys of the user that
	// Pail did not record creating for this AccessKey and leaves alone; it
	// has named each in a Warning event.
	AnnotationForeignKeys = "pail.dev/foreign-keys"
)

// TagOwner is the user tag that marks a provider user as an AccessKey's,
// where the driver supports user tags (value: namespace/name/uid, or
// namespace/uid when that would pass IAM's 256 characters). Pail adds it to
// spec.tags, which may not set it.
const TagOwner = "pail.dev/owner"

// BucketPolicyFinalizer removes the policy from the bucket on deletion.
const BucketPolicyFinalizer = "pail.dev/bucketpolicy"

// AnnotationPublic on a Bucket opts it into public read: the security pack
// then allows public read statements without a warning.
const AnnotationPublic = "pail.dev/public"

// AnnotationRequireTLS on a Bucket ("true") asks the security pack to warn
// about a policy that does not deny requests without TLS; without it the
// pack does not ask.
const AnnotationRequireTLS = "pail.dev/require-tls"

// Ownership values.
const (
	OwnershipCreated = "Created"
	OwnershipAdopted = "Adopted"
)

// AnnotationCreateIntent is written before Pail creates a bucket, so a crash
// between the create call and the status write never makes Pail mistake its
// own bucket for a foreign one.
const AnnotationCreateIntent = "pail.dev/create-intent"

// BucketFinalizer keeps a Bucket until its deletionPolicy has been honoured.
const BucketFinalizer = "pail.dev/bucket"

// The Secret keys of an access key pair when a spec names none (the CRDs
// default them too; objects stored without the default still read these).
const (
	DefaultAccessKeyIDKey     = "AWS_ACCESS_KEY_ID"
	DefaultSecretAccessKeyKey = "AWS_SECRET_ACCESS_KEY" //nolint:gosec // the name of a key in the Secret, not a credential
)

// Reasons of tenancy: what an admin's ClusterProvider grants and
// Guardrails allow (docs/multi-tenancy.md).
const (
	// ReasonProviderNotAllowed: the namespace may not use the Provider or
	// ClusterProvider it names (the ClusterProvider's allowedNamespaces or
	// a Guardrail says so); nothing is written.
	ReasonProviderNotAllowed = "ProviderNotAllowed"
	// ReasonGuardrailDenied: a Guardrail that selects the namespace forbids
	// what the spec asks; nothing is written until the spec or the
	// Guardrail changes.
	ReasonGuardrailDenied = "GuardrailDenied"
)
