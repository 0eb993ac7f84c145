package v1alpha1

// Condition types. Ready summarises; the others explain it.
const (
	ConditionReady             = "Ready"
	ConditionEndpointReachable = "EndpointReachable"
	ConditionAuthValid         = "AuthValid"
	ConditionDriverReady       = "DriverReady"
	ConditionProviderReady     = "ProviderReady"
	ConditionSynced            = "Synced"
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
)

// Finalizer keeps a Bucket until its deletionPolicy has been honoured.
const BucketFinalizer = "pail.dev/bucket"
