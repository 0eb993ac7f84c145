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
)

// Condition reasons. They are CamelCase and stable: docs/troubleshooting.md
// is organised by them.
const (
	ReasonAvailable           = "Available"
	ReasonReachable           = "Reachable"
	ReasonUnreachable         = "Unreachable"
	ReasonCredentialsAccepted = "CredentialsAccepted"
	ReasonCredentialsRefused  = "CredentialsRefused"
	ReasonCredentialsMissing  = "CredentialsMissing"
	ReasonTLSConfigInvalid    = "TLSConfigInvalid"
	ReasonUnknown             = "Unknown"
	ReasonDriverLoaded        = "DriverLoaded"
	ReasonDriverLoading       = "DriverLoading"
	ReasonDriverNotFound      = "DriverNotFound"
	ReasonDriverFailed        = "DriverFailed"
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
)

// BucketPolicyFinalizer removes the policy from the bucket on deletion.
const BucketPolicyFinalizer = "pail.dev/bucketpolicy"

// AnnotationPublic on a Bucket opts it into public read: the security pack
// then allows public read statements without a warning.
const AnnotationPublic = "pail.dev/public"

// Ownership values.
const (
	OwnershipCreated = "Created"
	OwnershipAdopted = "Adopted"
)

// AnnotationCreateIntent is written before Pail creates a bucket, so a crash
// between the create call and the status write never makes Pail mistake its
// own bucket for a foreign one.
const AnnotationCreateIntent = "pail.dev/create-intent"

// Finalizer keeps a Bucket until its deletionPolicy has been honoured.
const BucketFinalizer = "pail.dev/bucket"
