package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderSpec says how to reach one S3-compatible endpoint and which driver
// speaks to it.
type ProviderSpec struct {
	// Driver names the driver module that serves this Provider: a built-in
	// one (minio, aws, wasabi) or a custom driver installed by the platform team.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
	Driver string `json:"driver"`

	// Endpoint is the S3 API URL, for example https://s3.us-east-1.amazonaws.com
	// or http://minio.storage.svc:9000: a scheme (http or https), a host and
	// an optional port, nothing else. A path other than "/", a query, a
	// fragment and user info (user:password@) are refused: the credentials
	// belong in the Secret named by credentialsSecretRef, where they are never
	// printed. The driver may reach only this host.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host, e.g. https://s3.us-east-1.amazonaws.com or http://minio.storage.svc:9000"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^/?#]*//[^/?#]*@')",message="endpoint must not carry user info (user:password@): put the access key pair in the Secret named by spec.credentialsSecretRef"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || url(self).getEscapedPath() in ['', '/']",message="endpoint must not have a path: give only scheme, host and port"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="endpoint must not have a query or fragment: give only scheme, host and port"
	Endpoint string `json:"endpoint"`

	// IAMEndpoint is the AWS-IAM-compatible API URL used by AccessKeys, for
	// example https://iam.amazonaws.com or https://iam.wasabisys.com. Empty
	// means the driver's default, if it has one; drivers that manage users
	// through the S3 endpoint (minio) ignore it. The driver may reach this
	// host too. The same rules as for endpoint apply: scheme, host and port
	// only, no user info, path, query or fragment.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self == '' || (isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != '')",message="iamEndpoint must be an http:// or https:// URL with a host, e.g. https://iam.amazonaws.com"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[^/?#]*//[^/?#]*@')",message="iamEndpoint must not carry user info (user:password@): put the access key pair in the Secret named by spec.credentialsSecretRef"
	// +kubebuilder:validation:XValidation:rule="self == '' || !isURL(self) || url(self).getEscapedPath() in ['', '/']",message="iamEndpoint must not have a path: give only scheme, host and port"
	// +kubebuilder:validation:XValidation:rule="!self.contains('?') && !self.contains('#')",message="iamEndpoint must not have a query or fragment: give only scheme, host and port"
	// +optional
	IAMEndpoint string `json:"iamEndpoint,omitempty"`

	// Region is the signing region.
	// +kubebuilder:default=us-east-1
	// +optional
	Region string `json:"region,omitempty"`

	// CredentialsSecretRef names the Secret, in the Provider's namespace,
	// that holds the access key pair.
	CredentialsSecretRef CredentialsSecretRef `json:"credentialsSecretRef"`

	// TLS configures how the host verifies the endpoint's certificate.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`

	// RateLimit bounds the requests every driver call of this Provider makes
	// together, with a token bucket on the host's HTTP: bursts of reconciles
	// queue instead of tripping the provider's own throttling.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// PathStyle addresses buckets as endpoint/bucket instead of
	// bucket.endpoint. MinIO and most self-hosted servers need it.
	// +optional
	PathStyle bool `json:"pathStyle,omitempty"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	// RequestsPerSecond refills the bucket.
	// +kubebuilder:validation:Minimum=1
	RequestsPerSecond int32 `json:"requestsPerSecond"`
	// Burst is the bucket's size: requests that may go at once. Defaults to
	// RequestsPerSecond.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Burst int32 `json:"burst,omitempty"`
}

// CredentialsSecretRef points at the keys of a Secret holding an access key pair.
type CredentialsSecretRef struct {
	// Name of the Secret in the Provider's namespace.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// AccessKeyIDKey is the Secret key holding the access key id.
	// +kubebuilder:default=AWS_ACCESS_KEY_ID
	// +optional
	AccessKeyIDKey string `json:"accessKeyIDKey,omitempty"`
	// SecretAccessKeyKey is the Secret key holding the secret access key.
	// +kubebuilder:default=AWS_SECRET_ACCESS_KEY
	// +optional
	SecretAccessKeyKey string `json:"secretAccessKeyKey,omitempty"`
}

// TLSConfig controls certificate verification of the endpoint.
type TLSConfig struct {
	// CASecretRef names a Secret whose key holds the PEM CA bundle that signs
	// the endpoint's certificate.
	// +optional
	CASecretRef *SecretKeyRef `json:"caSecretRef,omitempty"`
	// InsecureSkipVerify turns certificate verification off. Never use it
	// outside a lab: it lets anyone on the path read the credentials' signatures
	// and the traffic.
	// +kubebuilder:default=false
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// SecretKeyRef selects one key of a Secret in the same namespace.
type SecretKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=ca.crt
	// +optional
	Key string `json:"key,omitempty"`
}

// ProviderStatus reports the connectivity and auth check.
type ProviderStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, EndpointReachable, AuthValid, DriverReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// DriverVersion is the version of the driver module serving this Provider.
	// +optional
	DriverVersion string `json:"driverVersion,omitempty"`
	// LastCheckTime is when the connectivity and auth check last ran.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`
	// ConsecutiveFailures counts failed checks since the last success; the
	// retry delay doubles with each one.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// Account identifies the account or deployment behind the credentials,
	// as the driver's check reported it; empty when the driver reports none.
	// Buckets and AccessKeys record it, with the endpoint, where they
	// establish ownership (their status.location).
	// +optional
	Account string `json:"account,omitempty"`
}

// Provider is an S3-compatible endpoint, its credentials and the driver that
// speaks to it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=s3p;pailprovider,categories=pail
// +kubebuilder:printcolumn:name="Driver",type=string,JSONPath=`.spec.driver`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Provider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderSpec   `json:"spec"`
	Status ProviderStatus `json:"status,omitempty"`

	// decodeError is why the stored spec could not be read (see DecodeError).
	decodeError string `json:"-"`
}

// ProviderList is a list of Providers.
// +kubebuilder:object:root=true
type ProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Provider `json:"items"`
}
