package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// NamespacesFrom says which namespaces a ClusterProvider admits.
// +kubebuilder:validation:Enum=None;All;Selector;List
type NamespacesFrom string

// The ways a ClusterProvider admits namespaces, after Gateway API's
// allowedRoutes.
const (
	// NamespacesFromNone admits no namespace (the default: an admin grants
	// a ClusterProvider explicitly).
	NamespacesFromNone NamespacesFrom = "None"
	// NamespacesFromAll admits every namespace.
	NamespacesFromAll NamespacesFrom = "All"
	// NamespacesFromSelector admits the namespaces whose labels match selector.
	NamespacesFromSelector NamespacesFrom = "Selector"
	// NamespacesFromList admits the namespaces named in names.
	NamespacesFromList NamespacesFrom = "List"
)

// AllowedNamespaces says which namespaces' Buckets and AccessKeys may use a
// ClusterProvider.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.selector)",message="allowedNamespaces.from Selector needs allowedNamespaces.selector"
// +kubebuilder:validation:XValidation:rule="self.from != 'List' || (has(self.names) && size(self.names) > 0)",message="allowedNamespaces.from List needs at least one name in allowedNamespaces.names"
type AllowedNamespaces struct {
	// From is None (the default: no namespace), All, Selector (the
	// namespaces whose labels match selector) or List (the namespaces in
	// names).
	// +kubebuilder:default=None
	// +optional
	From NamespacesFrom `json:"from,omitempty"`
	// Selector picks namespaces by label, with from: Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Names lists namespaces, with from: List.
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	// +optional
	Names []string `json:"names,omitempty"`
}

// Admits reports whether the namespace ns, with the given labels, may use
// the ClusterProvider. A selector that does not parse admits nothing; its
// error says why.
func (a AllowedNamespaces) Admits(ns string, nsLabels map[string]string) (bool, error) {
	switch a.From {
	case NamespacesFromAll:
		return true, nil
	case NamespacesFromList:
		for _, n := range a.Names {
			if n == ns {
				return true, nil
			}
		}
		return false, nil
	case NamespacesFromSelector:
		if a.Selector == nil {
			return false, nil
		}
		sel, err := metav1.LabelSelectorAsSelector(a.Selector)
		if err != nil {
			return false, err
		}
		return sel.Matches(labels.Set(nsLabels)), nil
	default:
		return false, nil
	}
}

// ClusterProviderSpec is a Provider's spec, shared by an admin with chosen
// namespaces. Its Secrets live in secretNamespace, which tenants cannot
// read.
type ClusterProviderSpec struct {
	ProviderSpec `json:",inline"`

	// SecretNamespace holds the Secrets named by credentialsSecretRef and
	// tls.caSecretRef. Empty means the operator's own namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	SecretNamespace string `json:"secretNamespace,omitempty"`

	// AllowedNamespaces says whose Buckets and AccessKeys may use this
	// ClusterProvider. By default none may: grant it explicitly.
	// +kubebuilder:default={from: None}
	// +optional
	AllowedNamespaces AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}

// ClusterProvider is a cluster-scoped Provider: an S3-compatible endpoint,
// its credentials (in a namespace of the admin's) and its driver, which the
// admin lets chosen namespaces use. It has the same checks and conditions
// as a Provider.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=s3cp;pailclusterprovider,categories=pail
// +kubebuilder:printcolumn:name="Driver",type=string,JSONPath=`.spec.driver`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Namespaces",type=string,JSONPath=`.spec.allowedNamespaces.from`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterProviderSpec `json:"spec"`
	Status ProviderStatus      `json:"status,omitempty"`

	// decodeError is why the stored spec could not be read (see DecodeError).
	decodeError string `json:"-"`
}

// ClusterProviderList is a list of ClusterProviders.
// +kubebuilder:object:root=true
type ClusterProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProvider `json:"items"`
}

// +kubebuilder:object:generate=false

// ProviderObject is what a Provider and a ClusterProvider share, so that
// the Provider check, the connection cache and in-use protection handle
// both through one path.
type ProviderObject interface {
	metav1.Object
	runtime.Object
	// ProviderSpec is the endpoint, credentials and driver.
	ProviderSpec() *ProviderSpec
	// ProviderStatus is the check's result.
	ProviderStatus() *ProviderStatus
	// SecretNamespace is where its Secrets live; "" for a ClusterProvider
	// that leaves it to the operator's namespace.
	SecretNamespace() string
	// Reference is how a Bucket or AccessKey names it.
	Reference() ProviderReference
	// DecodeError says why the stored spec could not be read.
	DecodeError() string
}

// ProviderSpec returns the Provider's spec.
func (in *Provider) ProviderSpec() *ProviderSpec { return &in.Spec }

// ProviderStatus returns the Provider's status.
func (in *Provider) ProviderStatus() *ProviderStatus { return &in.Status }

// SecretNamespace is the Provider's own namespace.
func (in *Provider) SecretNamespace() string { return in.Namespace }

// Reference names the Provider for its referrers.
func (in *Provider) Reference() ProviderReference {
	return ProviderReference{Kind: KindProvider, Name: in.Name}
}

// ProviderSpec returns the ClusterProvider's Provider spec.
func (in *ClusterProvider) ProviderSpec() *ProviderSpec { return &in.Spec.ProviderSpec }

// ProviderStatus returns the ClusterProvider's status.
func (in *ClusterProvider) ProviderStatus() *ProviderStatus { return &in.Status }

// SecretNamespace is spec.secretNamespace ("" means the operator's).
func (in *ClusterProvider) SecretNamespace() string { return in.Spec.SecretNamespace }

// Reference names the ClusterProvider for its referrers.
func (in *ClusterProvider) Reference() ProviderReference {
	return ProviderReference{Kind: KindClusterProvider, Name: in.Name}
}

// UnmarshalJSON decodes a ClusterProvider; see decodeTolerant.
func (in *ClusterProvider) UnmarshalJSON(b []byte) error {
	type plain ClusterProvider
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, (*plain)(in)); err == nil {
		in.decodeError = ""
		return nil
	}
	*in = ClusterProvider{}
	msg, err := decodeTolerant(b, &in.TypeMeta, &in.ObjectMeta, &in.Spec, &in.Status)
	in.decodeError = msg
	return err
}

// DecodeError says why the stored spec could not be read; "" when it could.
func (in *ClusterProvider) DecodeError() string { return in.decodeError }
