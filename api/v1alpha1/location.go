package v1alpha1

// Location is where Pail established a bucket or a user: the Provider
// endpoint it reached it at and the account behind the credentials it used.
// Pail writes to, or deletes, a bucket or user only while its Provider still
// points at the recorded location, so that changing a Provider's endpoint (or
// a Bucket's Provider) can never make Pail treat a same-named bucket or user
// elsewhere as its own.
type Location struct {
	// Endpoint is the Provider's spec.endpoint, normalised (lower-case scheme
	// and host, no trailing slash).
	Endpoint string `json:"endpoint"`
	// Account identifies the account or deployment behind the Provider's
	// credentials, as the driver's check reports it (status.account of the
	// Provider). Empty when the driver reports none; then only the endpoint
	// is compared.
	// +optional
	Account string `json:"account,omitempty"`
}
