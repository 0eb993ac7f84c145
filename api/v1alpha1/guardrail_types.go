package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Feature is something a Guardrail may allow a namespace to use.
// +kubebuilder:validation:Enum=PublicPolicies;ForceDelete;Adoption;ObserveOnly
type Feature string

// The features a Guardrail governs. In a namespace that a Guardrail
// selects, each is refused unless one of its Guardrails allows it.
const (
	// FeaturePublicPolicies: bucket policies (BucketPolicy or a Bucket's
	// inline spec.policy) that grant access to everyone (Principal "*").
	FeaturePublicPolicies Feature = "PublicPolicies"
	// FeatureForceDelete: Bucket spec.forceDelete, which destroys data.
	FeatureForceDelete Feature = "ForceDelete"
	// FeatureAdoption: Bucket spec.adopt, taking over a bucket Pail did not
	// create.
	FeatureAdoption Feature = "Adoption"
	// FeatureObserveOnly: Bucket spec.managementPolicy ObserveOnly, which
	// reads a bucket without managing it.
	FeatureObserveOnly Feature = "ObserveOnly"
)

// Features lists every Feature, in the order docs and messages use.
var Features = []Feature{FeaturePublicPolicies, FeatureForceDelete, FeatureAdoption, FeatureObserveOnly}

// EndpointRules restrict where namespaced Providers may point.
type EndpointRules struct {
	// Hosts are host names a Provider's endpoint and iamEndpoint may use:
	// an exact name (s3.example.com) or a wildcard for one or more leading
	// labels (*.example.com, which does not match example.com itself).
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	Hosts []string `json:"hosts,omitempty"`
	// CIDRs are address ranges a Provider's endpoint may be or resolve to,
	// such as 10.20.0.0/16; checked at admission for literal addresses and
	// by the host at dial time, after DNS resolution, for every endpoint.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="every entry of cidrs must be a CIDR such as 10.0.0.0/8 or fd00::/8"
	// +listType=set
	// +optional
	CIDRs []string `json:"cidrs,omitempty"`
	// AllowLinkLocal lets Providers reach link-local and cloud metadata
	// addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254), which the
	// operator never calls otherwise.
	// +optional
	AllowLinkLocal bool `json:"allowLinkLocal,omitempty"`
}

// NamespacedProviders lets selected namespaces create their own Providers.
type NamespacedProviders struct {
	// Endpoints restrict where those Providers may point. With neither hosts
	// nor cidrs, any endpoint but link-local is allowed.
	// +optional
	Endpoints EndpointRules `json:"endpoints,omitempty"`
}

// BucketNameRule says what bucket names a namespace may claim.
type BucketNameRule struct {
	// Prefix every spec.bucketName must start with. "{namespace}" in it is
	// replaced by the namespace's name, so "{namespace}-" gives each
	// namespace names of its own.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Prefix string `json:"prefix"`
}

// PolicyRequirements are the policy checks a namespace cannot weaken.
type PolicyRequirements struct {
	// RequiredPacks run on every BucketPolicy, inline bucket policy and
	// AccessKey identity policy of the namespace, whatever the object's own
	// spec.packs says.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	RequiredPacks []string `json:"requiredPacks,omitempty"`
	// ForceEnforce makes every pack's deny block the apply:
	// enforcementMode Warn is refused.
	// +optional
	ForceEnforce bool `json:"forceEnforce,omitempty"`
}

// GuardrailSpec is what an admin allows and requires in the namespaces it
// selects. In a namespace no Guardrail selects, Pail behaves as a
// single-tenant operator: everything is allowed. In a namespace one or
// more Guardrails select, allowances add up (what any of them allows is
// allowed, nothing else), and so do requirements (each one's must hold).
type GuardrailSpec struct {
	// NamespaceSelector picks the namespaces, by label. An empty selector
	// picks every namespace.
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// AllowedProviders are the ClusterProviders, and the Providers (by name,
	// in the namespace itself, typically made by the admin), that Buckets
	// and AccessKeys of the namespace may use. A name of "*" allows every
	// one of that kind.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	AllowedProviders []ProviderReference `json:"allowedProviders,omitempty"`

	// NamespacedProviders, when set, lets the namespace create Providers of
	// its own (which its Buckets and AccessKeys may then use), aimed only at
	// the endpoints it allows. Unset, creating a Provider is refused.
	// +optional
	NamespacedProviders *NamespacedProviders `json:"namespacedProviders,omitempty"`

	// BucketNames is a rule every spec.bucketName must follow.
	// +optional
	BucketNames *BucketNameRule `json:"bucketNames,omitempty"`

	// MaxBuckets is the most Buckets the namespace may hold.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxBuckets *int32 `json:"maxBuckets,omitempty"`

	// MaxAccessKeys is the most AccessKeys the namespace may hold.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxAccessKeys *int32 `json:"maxAccessKeys,omitempty"`

	// AllowedFeatures are the features the namespace may use; the others
	// are refused.
	// +listType=set
	// +optional
	AllowedFeatures []Feature `json:"allowedFeatures,omitempty"`

	// Policy requires packs and enforcement.
	// +optional
	Policy *PolicyRequirements `json:"policy,omitempty"`
}

// GuardrailStatus reports what the Guardrail selects.
type GuardrailStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready (the Guardrail is valid and enforced).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Namespaces is how many namespaces it selects.
	// +optional
	Namespaces int32 `json:"namespaces,omitempty"`
}

// Guardrail is an admin's rules for the namespaces it selects: which
// Providers they may use or create, bucket names, how many Buckets and
// AccessKeys, which features, and which policy packs always run. Only
// cluster admins may write it. It is enforced at admission, with a message
// naming the Guardrail and the field, and again at reconcile, where an
// object admitted before the rule changed gets a GuardrailDenied condition
// rather than a write.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=pgr;pailguardrail,categories=pail
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaces`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Guardrail struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   GuardrailSpec   `json:"spec"`
	Status GuardrailStatus `json:"status,omitempty"`
}

// GuardrailList is a list of Guardrails.
// +kubebuilder:object:root=true
type GuardrailList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Guardrail `json:"items"`
}
