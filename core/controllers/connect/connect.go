// Package connect turns a Provider or a ClusterProvider into a live
// connection: its credentials, its network policy and its driver. The
// Provider controller resolves it and the Bucket controller reuses the
// cached result, so Secrets are read once per Provider change rather than
// once per Bucket reconcile. Ready is how a referrer finds its Provider,
// including whether its namespace may use a ClusterProvider.
package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/guardrail"
	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/registry"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// Connection is everything needed to call a Provider's driver.
type Connection struct {
	Driver driver.Driver
	Config abi.ProviderConfig
	Policy *hosthttp.Policy

	// key is the Provider's RefKey, and secretNS where its Secrets live.
	key, secretNS string
	// uid and generation identify the Provider spec this was resolved from,
	// driverGen the driver (a plugin upgrade or removal changes it).
	uid        types.UID
	generation int64
	driverGen  uint64
	// secretVersions holds the resourceVersion of each Secret read, by name.
	secretVersions map[string]string
}

// Context attaches the network policy and call metadata for one reconcile.
func (c *Connection) Context(ctx context.Context, reconcileID string) context.Context {
	ctx = hosthttp.WithPolicy(ctx, c.Policy)
	return hosthttp.WithCallInfo(ctx, hosthttp.CallInfo{
		Provider:    c.Config.Name,
		ReconcileID: reconcileID,
		Secrets:     []string{c.Config.Credentials.SecretAccessKey},
	})
}

// Error says why a Provider cannot be connected, as a condition reason.
type Error struct {
	Reason  string
	Message string
	// Wait is true when the cause fixes itself (a driver still loading).
	Wait bool
	Err  error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// DriverPoll is how soon a referrer looks again while its Provider's driver
// loads (from the compilation cache: about a second).
const DriverPoll = time.Second

// Waiting reports whether err says that a Ready Provider's connection cannot
// be built yet for a cause that fixes itself (its driver is loading, as
// after every restart), and how soon to look again. The referrer then keeps
// the status it has: writing DriverLoading would flip every Bucket to not
// Ready and back on each restart.
func Waiting(err error) (time.Duration, bool) {
	var ce *Error
	if errors.As(err, &ce) && ce.Wait {
		return DriverPoll, true
	}
	return 0, false
}

// DeniedAddrs are addresses the host never dials for a Provider, and what
// they are, as refusals name it ("the Kubernetes API server").
type DeniedAddrs struct {
	Addrs []netip.AddrPort
	What  string
}

// Connector resolves and caches connections.
type Connector struct {
	// Reader reads Secrets; the operator passes an uncached reader so it needs
	// no cluster-wide Secret informer.
	Reader   client.Reader
	Registry *registry.Registry
	// Meta reads Secret metadata from the manager's cache, to notice a
	// Secret that changed since its connection was resolved; nil trusts
	// the Provider's generation alone.
	Meta client.Reader
	// Resolver resolves the hosts a driver calls, at dial time; nil is the
	// system's resolver.
	Resolver *net.Resolver
	// Denied are addresses no Provider may reach, whatever name resolves
	// to them: the Kubernetes API server's, at least (the operator's).
	Denied []DeniedAddrs
	// Guardrails returns the Guardrails' rules for a namespace, whose
	// endpoint rules the dialer enforces for its Providers
	// (guardrail.Rules.DialFor); nil enforces none.
	Guardrails func(ctx context.Context, namespace string) (guardrail.Rules, error)
	// Namespace is the operator's own namespace, where a ClusterProvider's
	// Secrets live when it names no spec.secretNamespace.
	Namespace string

	mu sync.Mutex
	// conns holds the connections, by RefKey.
	conns map[string]*Connection
	// checked records, per Provider (by RefKey), the check its status
	// describes (MarkChecked).
	checked map[string]checkRecord
	// resolving coalesces concurrent resolves of one Provider spec: after a
	// restart every worker asks for the same connection at once.
	resolving singleflight.Group
}

// Get returns the cached connection while the Provider's spec is unchanged,
// and resolves it otherwise.
func (c *Connector) Get(ctx context.Context, p pailv1.ProviderObject) (*Connection, error) {
	if conn := c.cached(ctx, p); conn != nil {
		return conn, nil
	}
	flight := fmt.Sprintf("%s/%s/%d", ProviderKey(p), p.GetUID(), p.GetGeneration())
	v, err, _ := c.resolving.Do(flight, func() (any, error) {
		if conn := c.cached(ctx, p); conn != nil {
			return conn, nil
		}
		return c.Resolve(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	conn, ok := v.(*Connection)
	if !ok { // the flight above returns only connections
		return nil, fmt.Errorf("resolve %s: got %T, not a connection", ProviderKey(p), v)
	}
	return conn, nil
}

// cached returns the connection resolved from p's current spec, Secrets and
// driver, or nil.
func (c *Connector) cached(ctx context.Context, p pailv1.ProviderObject) *Connection {
	c.mu.Lock()
	conn := c.conns[ProviderKey(p)]
	c.mu.Unlock()
	if conn != nil && conn.uid == p.GetUID() && conn.generation == p.GetGeneration() && conn.driverGen == c.Registry.Generation(p.ProviderSpec().Driver) &&
		c.secretsCurrent(ctx, conn) {
		return conn
	}
	return nil
}

// Forget drops the cached connection of a deleted Provider, by its RefKey.
func (c *Connector) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[key]; ok {
		conn.Policy.Close()
		delete(c.conns, key)
	}
	delete(c.checked, key)
}

// Resolve reads the Provider's Secrets and driver afresh and caches the result.
func (c *Connector) Resolve(ctx context.Context, p pailv1.ProviderObject) (*Connection, error) {
	spec := p.ProviderSpec()
	if _, err := c.Registry.Get(spec.Driver); errors.Is(err, registry.ErrLoading) {
		// Checked first: referrers poll while the driver loads (after every
		// restart), and need not read the Secret on each poll.
		return nil, loadingError(spec.Driver, err)
	}
	if err := checkEndpoints(p); err != nil {
		return nil, err
	}
	secretNS, err := c.secretNamespace(p)
	if err != nil {
		return nil, err
	}
	// The resourceVersion of each Secret read: a change of one makes the
	// cached connection stale (cached).
	versions := map[string]string{}
	creds, err := c.credentials(ctx, spec, secretNS, versions)
	if err != nil {
		return nil, err
	}
	tlsOpts, err := c.tlsOptions(ctx, spec, secretNS, versions)
	if err != nil {
		return nil, err
	}
	// The generation is read before the driver: a driver replaced in
	// between then fails the cache check (cached) and is resolved again.
	driverGen := c.Registry.Generation(spec.Driver)
	d, err := c.driver(spec)
	if err != nil {
		return nil, err
	}
	// The IAM endpoint joins the allow-list only when AccessKeys can use it:
	// the Provider names one, or the driver declares its default.
	iam := spec.IAMEndpoint
	if iam == "" {
		iam = d.Describe().DefaultIAMEndpoint
	}
	dial, err := c.dialRules(ctx, p)
	if err != nil {
		return nil, err
	}
	policy, err := c.networkPolicy(spec, iam, tlsOpts, dial)
	if err != nil {
		return nil, err
	}
	conn := &Connection{
		Driver: d,
		Config: abi.ProviderConfig{
			Name:        displayName(p),
			Endpoint:    spec.Endpoint,
			Region:      spec.Region,
			PathStyle:   spec.PathStyle,
			IAMEndpoint: iam,
			Credentials: creds,
		},
		Policy:     policy,
		key:        ProviderKey(p),
		secretNS:   secretNS,
		uid:        p.GetUID(),
		generation: p.GetGeneration(),
		driverGen:  driverGen,

		secretVersions: versions,
	}
	c.store(conn)
	return conn, nil
}

// displayName names p in logs and to its driver: namespace/name for a
// Provider (as always), ClusterProvider/name for a ClusterProvider.
func displayName(p pailv1.ProviderObject) string {
	if p.Reference().Cluster() {
		return ProviderKey(p)
	}
	return p.GetNamespace() + "/" + p.GetName()
}

// secretNamespace is where p's Secrets are read (SecretNamespace), or why
// they cannot be.
func (c *Connector) secretNamespace(p pailv1.ProviderObject) (string, error) {
	if ns := SecretNamespace(p, c.Namespace); ns != "" {
		return ns, nil
	}
	return "", &Error{Reason: pailv1.ReasonCredentialsMissing, Message: fmt.Sprintf("ClusterProvider %s names no spec.secretNamespace, and the operator was started without --namespace, so its Secrets cannot be found; set spec.secretNamespace to the namespace that holds them.", p.GetName())}
}

// credentials reads the access key pair from the Secret the Provider
// names, in namespace ns, recording the Secret's resourceVersion in
// versions.
func (c *Connector) credentials(ctx context.Context, spec *pailv1.ProviderSpec, ns string, versions map[string]string) (abi.Credentials, error) {
	ref := spec.CredentialsSecretRef
	idKey, secretKey := ref.AccessKeyIDKey, ref.SecretAccessKeyKey
	if idKey == "" {
		idKey = pailv1.DefaultAccessKeyIDKey
	}
	if secretKey == "" {
		secretKey = pailv1.DefaultSecretAccessKeyKey
	}
	var sec corev1.Secret
	if err := c.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return abi.Credentials{}, &Error{Reason: pailv1.ReasonCredentialsMissing, Message: fmt.Sprintf("Secret %s/%s named in spec.credentialsSecretRef does not exist; create it with the keys %s and %s.", ns, ref.Name, idKey, secretKey), Err: err}
		}
		return abi.Credentials{}, fmt.Errorf("read credentials Secret: %w", err)
	}
	versions[ref.Name] = sec.ResourceVersion
	id, secret := string(sec.Data[idKey]), string(sec.Data[secretKey])
	if id == "" || secret == "" {
		return abi.Credentials{}, &Error{Reason: pailv1.ReasonCredentialsMissing, Message: fmt.Sprintf("Secret %s/%s lacks a non-empty %s or %s key.", ns, ref.Name, idKey, secretKey)}
	}
	return abi.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
}

// tlsOptions reads spec.tls, and the CA bundle from the Secret it names in
// namespace ns (recording its resourceVersion in versions).
func (c *Connector) tlsOptions(ctx context.Context, spec *pailv1.ProviderSpec, ns string, versions map[string]string) (hosthttp.TLSOptions, error) {
	var opts hosthttp.TLSOptions
	t := spec.TLS
	if t == nil {
		return opts, nil
	}
	opts.InsecureSkipVerify = t.InsecureSkipVerify
	if t.CASecretRef == nil {
		return opts, nil
	}
	caKey := t.CASecretRef.Key
	if caKey == "" {
		caKey = "ca.crt"
	}
	var ca corev1.Secret
	if err := c.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: t.CASecretRef.Name}, &ca); err != nil {
		if apierrors.IsNotFound(err) {
			return opts, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: fmt.Sprintf("CA Secret %s/%s named in spec.tls.caSecretRef does not exist.", ns, t.CASecretRef.Name), Err: err}
		}
		return opts, fmt.Errorf("read CA Secret: %w", err)
	}
	versions[t.CASecretRef.Name] = ca.ResourceVersion
	opts.CAPEM = ca.Data[caKey]
	if len(opts.CAPEM) == 0 {
		return opts, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: fmt.Sprintf("CA Secret %s/%s has no key %s.", ns, t.CASecretRef.Name, caKey)}
	}
	return opts, nil
}

// driver returns the Provider's driver, or why it cannot be used.
func (c *Connector) driver(spec *pailv1.ProviderSpec) (driver.Driver, error) {
	d, err := c.Registry.Get(spec.Driver)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, registry.ErrLoading):
		return nil, loadingError(spec.Driver, err)
	case errors.Is(err, registry.ErrNotFound):
		return nil, &Error{Reason: pailv1.ReasonDriverNotFound, Message: status.Sentence(fmt.Sprintf("No driver named %s is installed: %v", spec.Driver, err)), Err: err}
	default:
		return nil, &Error{Reason: pailv1.ReasonDriverFailed, Message: status.Sentence(fmt.Sprintf("Driver %s failed to load: %v", spec.Driver, err)), Err: err}
	}
}

// dialRules is what the Guardrails of p's namespace let its dialer reach;
// a ClusterProvider's endpoints are the admin's, restricted by none.
func (c *Connector) dialRules(ctx context.Context, p pailv1.ProviderObject) (guardrail.Dial, error) {
	if c.Guardrails == nil || p.Reference().Cluster() {
		return guardrail.Dial{}, nil
	}
	r, err := c.Guardrails(ctx, p.GetNamespace())
	if err != nil {
		return guardrail.Dial{}, fmt.Errorf("read the Guardrails of namespace %s: %w", p.GetNamespace(), err)
	}
	return r.DialFor(p.Reference(), p.ProviderSpec()), nil
}

// networkPolicy builds the host's allow-list and limits for the driver's
// calls: the endpoint, the IAM endpoint (iam, when used), a plugin's own
// hosts, the Provider's rate limit and the plugin's call limit, and what
// the Guardrails let the dialer reach (dial).
func (c *Connector) networkPolicy(spec *pailv1.ProviderSpec, iam string, tlsOpts hosthttp.TLSOptions, dial guardrail.Dial) (*hosthttp.Policy, error) {
	endpoints := []string{spec.Endpoint}
	if iam != "" {
		endpoints = append(endpoints, iam)
	}
	plugin, isPlugin := c.Registry.PluginOf(spec.Driver)
	if isPlugin {
		endpoints = append(endpoints, plugin.AllowedHosts...)
	}
	policy, err := hosthttp.NewPolicy(endpoints, tlsOpts)
	if err != nil {
		return nil, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: status.Sentence(hosthttp.RedactUserinfo(fmt.Sprintf("Cannot build the connection to %s: %v", strings.Join(endpoints, " and "), err))), Err: err}
	}
	if rl := spec.RateLimit; rl != nil {
		burst := int(rl.Burst)
		if burst == 0 {
			burst = int(rl.RequestsPerSecond)
		}
		policy = policy.WithRateLimit(float64(rl.RequestsPerSecond), burst)
	}
	if isPlugin && plugin.Limits.MaxHTTPCallsPerOp > 0 {
		policy = policy.WithLimits(0, plugin.Limits.MaxHTTPCallsPerOp, 0)
	}
	if !spec.PathStyle {
		policy = policy.WithSubdomains()
	}
	policy = withDial(policy, dial).WithResolver(c.Resolver)
	for _, d := range c.Denied {
		policy = policy.WithDeniedAddrs(d.Addrs, d.What)
	}
	return policy, nil
}

// withDial is policy with what the Guardrails let its dialer reach:
// link-local and metadata addresses stay refused (NewPolicy's default)
// unless a Guardrail allows them, and a Provider admitted only for its
// cidrs reaches nothing outside them, wherever its name resolves.
func withDial(policy *hosthttp.Policy, dial guardrail.Dial) *hosthttp.Policy {
	if dial.LinkLocal {
		policy = policy.WithLinkLocal()
	}
	if len(dial.Networks) > 0 {
		policy = policy.WithAllowedNetworks(dial.Networks)
	}
	return policy
}

// store caches conn, closing the policy of the connection it replaces.
func (c *Connector) store(conn *Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[string]*Connection{}
	}
	if old := c.conns[conn.key]; old != nil {
		conn.Policy = conn.Policy.SharingLimiter(old.Policy)
		old.Policy.Close()
	}
	c.conns[conn.key] = conn
}

func loadingError(driver string, err error) *Error {
	return &Error{Reason: pailv1.ReasonDriverLoading, Message: fmt.Sprintf("Driver %s is loading.", driver), Wait: true, Err: err}
}

// checkEndpoints refuses what admission refuses in spec.endpoint and
// spec.iamEndpoint, for Providers stored before those rules: a driver must
// never be handed a URL with a password in it, and no message may print one.
func checkEndpoints(p pailv1.ProviderObject) error {
	spec := p.ProviderSpec()
	for _, f := range []struct{ field, value string }{{"spec.endpoint", spec.Endpoint}, {"spec.iamEndpoint", spec.IAMEndpoint}} {
		if f.value == "" && f.field == "spec.iamEndpoint" {
			continue
		}
		if err := hosthttp.CheckEndpoint(f.value); err != nil {
			return &Error{Reason: pailv1.ReasonInvalidSpec, Err: err,
				Message: status.Sentence(fmt.Sprintf("%s %v", f.field, err)) + " Fix the Provider; Pail checks it again when it changes."}
		}
	}
	return nil
}

// NotReady says why a referenced Provider cannot be used yet, as a
// condition reason and message for the referring object.
type NotReady struct {
	Reason, Message string
}

// Ready resolves the Provider or ClusterProvider ref names for an object
// (a what, such as "Bucket") in namespace ns that refers to it. It returns
// the Provider and its connection when the namespace may use it and it is
// Ready; a NotReady when it is missing, not admitted (ProviderNotAllowed:
// a ClusterProvider whose spec.allowedNamespaces leaves ns out) or not
// Ready (the Provider, ClusterProvider and Namespace watches bring the
// referrer back); or an error to retry, for which Waiting is true while
// the driver of a Ready Provider loads.
//
// A Provider being deleted is resolved like any other: in-use protection
// (core/controllers/inuse) keeps it, and its Secrets, so that its referrers
// can finish deleting through it, and its status keeps its last check.
func (c *Connector) Ready(ctx context.Context, cl client.Reader, ns string, ref pailv1.ProviderReference, what string) (pailv1.ProviderObject, *Connection, *NotReady, error) {
	p, nr, err := usable(ctx, cl, ns, ref, what)
	if err != nil || nr != nil {
		return nil, nil, nr, err
	}
	conn, err := c.Get(ctx, p)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && !ce.Wait {
			return nil, nil, &NotReady{ce.Reason, ce.Message}, err
		}
		return nil, nil, nil, err
	}
	if p.GetDeletionTimestamp().IsZero() && !c.describes(p, conn) {
		// A deleting Provider is checked no more: its referrers finish
		// deleting through the status it has.
		return nil, nil, nil, uncheckedError(p)
	}
	return p, conn, nil, nil
}

// usable reads what ref names and says whether a referrer in ns may use
// it now: it exists, can be read, admits ns and is Ready.
func usable(ctx context.Context, cl client.Reader, ns string, ref pailv1.ProviderReference, what string) (pailv1.ProviderObject, *NotReady, error) {
	p, err := Lookup(ctx, cl, ns, ref)
	if apierrors.IsNotFound(err) {
		where := " in namespace " + ns
		if ref.Cluster() {
			where = ""
		}
		return nil, &NotReady{pailv1.ReasonProviderNotFound, fmt.Sprintf("%s does not exist%s; the %s will proceed once it is created and Ready.", ref, where, what)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if p.DecodeError() != "" {
		// Its spec is empty in memory, whatever its status still says.
		return nil, &NotReady{pailv1.ReasonProviderNotReady, fmt.Sprintf("%s cannot be read (its InvalidSpec condition says why); the %s will proceed once it is fixed.", ref, what)}, nil
	}
	// Admission first: a namespace a ClusterProvider does not admit learns
	// nothing of its state.
	if nr, err := Admitted(ctx, cl, ns, p, what); err != nil || nr != nil {
		return nil, nr, err
	}
	ready := meta.FindStatusCondition(p.ProviderStatus().Conditions, pailv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		why := "it has not been checked yet."
		if ready != nil {
			why = fmt.Sprintf("%s: %s", ready.Reason, status.Sentence(hosthttp.RedactUserinfo(ready.Message)))
		}
		return nil, &NotReady{pailv1.ReasonProviderNotReady, fmt.Sprintf("%s is not Ready, %s", ref, why)}, nil
	}
	return p, nil, nil
}

// ReadinessChanged passes Provider and ClusterProvider events that can
// change what a referring object sees: creation, deletion, a flip of the
// Ready condition, a spec change (a ClusterProvider's allowedNamespaces
// included), and a change of account (which moves every bucket and user
// recorded under the old one).
func ReadinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(pailv1.ProviderObject)
			n, ok2 := e.ObjectNew.(pailv1.ProviderObject)
			if !ok1 || !ok2 {
				return true
			}
			was, is := o.ProviderStatus(), n.ProviderStatus()
			return meta.IsStatusConditionTrue(was.Conditions, pailv1.ConditionReady) !=
				meta.IsStatusConditionTrue(is.Conditions, pailv1.ConditionReady) ||
				o.GetGeneration() != n.GetGeneration() || was.Account != is.Account
		},
	}
}
