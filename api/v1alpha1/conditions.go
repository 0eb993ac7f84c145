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
)

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
