// Package connect turns a Provider into a live connection: its credentials,
// its network policy and its driver. The Provider controller resolves it and
// the Bucket controller reuses the cached result, so Secrets are read once per
// Provider change rather than once per Bucket reconcile.
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

	key types.NamespacedName
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
		Provider:    c.key.String(),
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

	mu    sync.Mutex
	conns map[types.NamespacedName]*Connection
	// checked records, per Provider, the check its status describes
	// (MarkChecked).
	checked map[types.NamespacedName]checkRecord
	// resolving coalesces concurrent resolves of one Provider spec: after a
	// restart every worker asks for the same connection at once.
	resolving singleflight.Group
}

// Get returns the cached connection while the Provider's spec is unchanged,
// and resolves it otherwise.
func (c *Connector) Get(ctx context.Context, p *pailv1.Provider) (*Connection, error) {
	if conn := c.cached(ctx, p); conn != nil {
		return conn, nil
	}
	flight := fmt.Sprintf("%s/%s/%s/%d", p.Namespace, p.Name, p.UID, p.Generation)
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
		return nil, fmt.Errorf("resolve Provider %s/%s: got %T, not a connection", p.Namespace, p.Name, v)
	}
	return conn, nil
}

// cached returns the connection resolved from p's current spec, Secrets and
// driver, or nil.
func (c *Connector) cached(ctx context.Context, p *pailv1.Provider) *Connection {
	key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
	c.mu.Lock()
	conn := c.conns[key]
	c.mu.Unlock()
	if conn != nil && conn.uid == p.UID && conn.generation == p.Generation && conn.driverGen == c.Registry.Generation(p.Spec.Driver) &&
		c.secretsCurrent(ctx, conn) {
		return conn
	}
	return nil
}

// Forget drops the cached connection of a deleted Provider.
func (c *Connector) Forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[key]; ok {
		conn.Policy.Close()
		delete(c.conns, key)
	}
	delete(c.checked, key)
}

// Resolve reads the Provider's Secrets and driver afresh and caches the result.
func (c *Connector) Resolve(ctx context.Context, p *pailv1.Provider) (*Connection, error) {
	if _, err := c.Registry.Get(p.Spec.Driver); errors.Is(err, registry.ErrLoading) {
		// Checked first: referrers poll while the driver loads (after every
		// restart), and need not read the Secret on each poll.
		return nil, loadingError(p.Spec.Driver, err)
	}
	if err := checkEndpoints(p); err != nil {
		return nil, err
	}
	// The resourceVersion of each Secret read: a change of one makes the
	// cached connection stale (cached).
	versions := map[string]string{}
	creds, err := c.credentials(ctx, p, versions)
	if err != nil {
		return nil, err
	}
	tlsOpts, err := c.tlsOptions(ctx, p, versions)
	if err != nil {
		return nil, err
	}
	// The generation is read before the driver: a driver replaced in
	// between then fails the cache check (cached) and is resolved again.
	driverGen := c.Registry.Generation(p.Spec.Driver)
	d, err := c.driver(p)
	if err != nil {
		return nil, err
	}
	// The IAM endpoint joins the allow-list only when AccessKeys can use it:
	// the Provider names one, or the driver declares its default.
	iam := p.Spec.IAMEndpoint
	if iam == "" {
		iam = d.Describe().DefaultIAMEndpoint
	}
	dial, err := c.dialRules(ctx, p)
	if err != nil {
		return nil, err
	}
	policy, err := c.networkPolicy(p, iam, tlsOpts, dial)
	if err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
	conn := &Connection{
		Driver: d,
		Config: abi.ProviderConfig{
			Name:        key.String(),
			Endpoint:    p.Spec.Endpoint,
			Region:      p.Spec.Region,
			PathStyle:   p.Spec.PathStyle,
			IAMEndpoint: iam,
			Credentials: creds,
		},
		Policy:     policy,
		key:        key,
		uid:        p.UID,
		generation: p.Generation,
		driverGen:  driverGen,

		secretVersions: versions,
	}
	c.store(conn)
	return conn, nil
}

// credentials reads the access key pair from the Secret the Provider
// names, recording the Secret's resourceVersion in versions.
func (c *Connector) credentials(ctx context.Context, p *pailv1.Provider, versions map[string]string) (abi.Credentials, error) {
	ref := p.Spec.CredentialsSecretRef
	idKey, secretKey := ref.AccessKeyIDKey, ref.SecretAccessKeyKey
	if idKey == "" {
		idKey = pailv1.DefaultAccessKeyIDKey
	}
	if secretKey == "" {
		secretKey = pailv1.DefaultSecretAccessKeyKey
	}
	var sec corev1.Secret
	if err := c.Reader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return abi.Credentials{}, &Error{Reason: pailv1.ReasonCredentialsMissing, Message: fmt.Sprintf("Secret %s/%s named in spec.credentialsSecretRef does not exist; create it with the keys %s and %s.", p.Namespace, ref.Name, idKey, secretKey), Err: err}
		}
		return abi.Credentials{}, fmt.Errorf("read credentials Secret: %w", err)
	}
	versions[ref.Name] = sec.ResourceVersion
	id, secret := string(sec.Data[idKey]), string(sec.Data[secretKey])
	if id == "" || secret == "" {
		return abi.Credentials{}, &Error{Reason: pailv1.ReasonCredentialsMissing, Message: fmt.Sprintf("Secret %s/%s lacks a non-empty %s or %s key.", p.Namespace, ref.Name, idKey, secretKey)}
	}
	return abi.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
}

// tlsOptions reads spec.tls, and the CA bundle from the Secret it names
// (recording its resourceVersion in versions).
func (c *Connector) tlsOptions(ctx context.Context, p *pailv1.Provider, versions map[string]string) (hosthttp.TLSOptions, error) {
	var opts hosthttp.TLSOptions
	t := p.Spec.TLS
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
	if err := c.Reader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: t.CASecretRef.Name}, &ca); err != nil {
		if apierrors.IsNotFound(err) {
			return opts, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: fmt.Sprintf("CA Secret %s/%s named in spec.tls.caSecretRef does not exist.", p.Namespace, t.CASecretRef.Name), Err: err}
		}
		return opts, fmt.Errorf("read CA Secret: %w", err)
	}
	versions[t.CASecretRef.Name] = ca.ResourceVersion
	opts.CAPEM = ca.Data[caKey]
	if len(opts.CAPEM) == 0 {
		return opts, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: fmt.Sprintf("CA Secret %s/%s has no key %s.", p.Namespace, t.CASecretRef.Name, caKey)}
	}
	return opts, nil
}

// driver returns the Provider's driver, or why it cannot be used.
func (c *Connector) driver(p *pailv1.Provider) (driver.Driver, error) {
	d, err := c.Registry.Get(p.Spec.Driver)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, registry.ErrLoading):
		return nil, loadingError(p.Spec.Driver, err)
	case errors.Is(err, registry.ErrNotFound):
		return nil, &Error{Reason: pailv1.ReasonDriverNotFound, Message: status.Sentence(fmt.Sprintf("No driver named %s is installed: %v", p.Spec.Driver, err)), Err: err}
	default:
		return nil, &Error{Reason: pailv1.ReasonDriverFailed, Message: status.Sentence(fmt.Sprintf("Driver %s failed to load: %v", p.Spec.Driver, err)), Err: err}
	}
}

// dialRules is what the Guardrails of p's namespace let its dialer reach.
func (c *Connector) dialRules(ctx context.Context, p *pailv1.Provider) (guardrail.Dial, error) {
	if c.Guardrails == nil {
		return guardrail.Dial{}, nil
	}
	r, err := c.Guardrails(ctx, p.Namespace)
	if err != nil {
		return guardrail.Dial{}, fmt.Errorf("read the Guardrails of namespace %s: %w", p.Namespace, err)
	}
	return r.DialFor(p.Reference(), &p.Spec), nil
}

// networkPolicy builds the host's allow-list and limits for the driver's
// calls: the endpoint, the IAM endpoint (iam, when used), a plugin's own
// hosts, the Provider's rate limit and the plugin's call limit, and what
// the Guardrails let the dialer reach (dial).
func (c *Connector) networkPolicy(p *pailv1.Provider, iam string, tlsOpts hosthttp.TLSOptions, dial guardrail.Dial) (*hosthttp.Policy, error) {
	endpoints := []string{p.Spec.Endpoint}
	if iam != "" {
		endpoints = append(endpoints, iam)
	}
	plugin, isPlugin := c.Registry.PluginOf(p.Spec.Driver)
	if isPlugin {
		endpoints = append(endpoints, plugin.AllowedHosts...)
	}
	policy, err := hosthttp.NewPolicy(endpoints, tlsOpts)
	if err != nil {
		return nil, &Error{Reason: pailv1.ReasonTLSConfigInvalid, Message: status.Sentence(hosthttp.RedactUserinfo(fmt.Sprintf("Cannot build the connection to %s: %v", strings.Join(endpoints, " and "), err))), Err: err}
	}
	if rl := p.Spec.RateLimit; rl != nil {
		burst := int(rl.Burst)
		if burst == 0 {
			burst = int(rl.RequestsPerSecond)
		}
		policy = policy.WithRateLimit(float64(rl.RequestsPerSecond), burst)
	}
	if isPlugin && plugin.Limits.MaxHTTPCallsPerOp > 0 {
		policy = policy.WithLimits(0, plugin.Limits.MaxHTTPCallsPerOp, 0)
	}
	if !p.Spec.PathStyle {
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
		c.conns = map[types.NamespacedName]*Connection{}
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
func checkEndpoints(p *pailv1.Provider) error {
	for _, f := range []struct{ field, value string }{{"spec.endpoint", p.Spec.Endpoint}, {"spec.iamEndpoint", p.Spec.IAMEndpoint}} {
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

// Ready resolves the Provider ns/name for an object that refers to it. It
// returns the Provider and its connection when the Provider is Ready; a
// NotReady when it is missing or not Ready (the Provider watch brings the
// referrer back); or an error to retry, for which Waiting is true while the
// driver of a Ready Provider loads.
//
// A Provider being deleted is resolved like any other: in-use protection
// (core/controllers/inuse) keeps it, and its Secrets, so that its referrers
// can finish deleting through it, and its status keeps its last check.
func (c *Connector) Ready(ctx context.Context, cl client.Reader, ns, name, what string) (*pailv1.Provider, *Connection, *NotReady, error) {
	var p pailv1.Provider
	err := cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &p)
	if apierrors.IsNotFound(err) {
		return nil, nil, &NotReady{pailv1.ReasonProviderNotFound, fmt.Sprintf("Provider %s does not exist in namespace %s; the %s will proceed once it is created and Ready.", name, ns, what)}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if p.DecodeError() != "" {
		// Its spec is empty in memory, whatever its status still says.
		return nil, nil, &NotReady{pailv1.ReasonProviderNotReady, fmt.Sprintf("Provider %s cannot be read (its InvalidSpec condition says why); the %s will proceed once it is fixed.", p.Name, what)}, nil
	}
	ready := meta.FindStatusCondition(p.Status.Conditions, pailv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue {
		why := "it has not been checked yet."
		if ready != nil {
			why = fmt.Sprintf("%s: %s", ready.Reason, status.Sentence(hosthttp.RedactUserinfo(ready.Message)))
		}
		return nil, nil, &NotReady{pailv1.ReasonProviderNotReady, fmt.Sprintf("Provider %s is not Ready, %s", p.Name, why)}, nil
	}
	conn, err := c.Get(ctx, &p)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && !ce.Wait {
			return nil, nil, &NotReady{ce.Reason, ce.Message}, err
		}
		return nil, nil, nil, err
	}
	if p.DeletionTimestamp.IsZero() && !c.describes(&p, conn) {
		// A deleting Provider is checked no more: its referrers finish
		// deleting through the status it has.
		return nil, nil, nil, uncheckedError(&p)
	}
	return &p, conn, nil, nil
}

// ReadinessChanged passes Provider events that can change what a
// referring object sees: creation, deletion, a flip of the Ready condition,
// a spec change, and a change of account (which moves every bucket and
// user recorded under the old one).
func ReadinessChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*pailv1.Provider)
			n, ok2 := e.ObjectNew.(*pailv1.Provider)
			if !ok1 || !ok2 {
				return true
			}
			return meta.IsStatusConditionTrue(o.Status.Conditions, pailv1.ConditionReady) !=
				meta.IsStatusConditionTrue(n.Status.Conditions, pailv1.ConditionReady) ||
				o.Generation != n.Generation || o.Status.Account != n.Status.Account
		},
	}
}
