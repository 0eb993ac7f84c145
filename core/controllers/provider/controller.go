// Package provider reconciles Providers and ClusterProviders: it resolves
// the connection and runs the driver's connectivity and auth check, backing
// off while it fails. Both kinds go through one code path, over
// pailv1.ProviderObject: the operator runs one Reconciler per kind.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/guardrails"
	"github.com/pail-dev/pail/core/controllers/managed"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// Index names.
const (
	indexSecret = "pail.dev/provider-secret" //nolint:gosec // an index name, not a credential
)

// Reconciler checks Providers, or ClusterProviders.
type Reconciler struct {
	// Kind is the kind checked: pailv1.KindProvider ("" means it) or
	// pailv1.KindClusterProvider.
	Kind      string
	Client    client.Client
	Connector *connect.Connector
	Recorder  events.EventRecorder
	// RecheckInterval re-runs the check of a healthy Provider.
	RecheckInterval time.Duration
	// RetryBase and RetryMax bound the backoff of a failing check.
	RetryBase, RetryMax time.Duration
	// DriverPoll is how soon to look again while a driver loads.
	DriverPoll              time.Duration
	MaxConcurrentReconciles int
	// Recheck receives a Provider (of Kind) to check again now, for
	// example when its driver plugin was upgraded or removed.
	Recheck chan event.GenericEvent
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	// started holds the Providers (by UID) reconciled since this process
	// started; the first reconcile of each may keep a recent check.
	mu      sync.Mutex
	started map[types.NamespacedName]types.UID
}

// +kubebuilder:rbac:groups=pail.dev,resources=providers,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=providers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders,verbs=get;list;watch
// +kubebuilder:rbac:groups=pail.dev,resources=clusterproviders/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// kind is the kind r checks.
func (r *Reconciler) kind() string {
	if r.Kind == "" {
		return pailv1.KindProvider
	}
	return r.Kind
}

// key is the connection cache's key (connect.RefKey) of the object req names.
func (r *Reconciler) key(req types.NamespacedName) string {
	return connect.RefKey(req.Namespace, pailv1.ProviderReference{Kind: r.kind(), Name: req.Name})
}

// secretKeys index a Provider by the Secrets it reads, as namespace/name:
// a ClusterProvider's live in its secret namespace.
func (r *Reconciler) secretKeys(p pailv1.ProviderObject) []string {
	secrets := connect.Secrets(p, r.Connector.Namespace)
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		out = append(out, s.String())
	}
	return out
}

// forSecret queues the Providers (of r's kind) that read Secret o.
func (r *Reconciler) forSecret(ctx context.Context, o client.Object) []reconcile.Request {
	return managed.Requests(ctx, r.Client, connect.NewList(r.kind()), "", indexSecret, client.ObjectKeyFromObject(o).String())
}

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	managed.Default(&r.RecheckInterval, 5*time.Minute)
	managed.Default(&r.RetryBase, 2*time.Second)
	managed.Default(&r.RetryMax, 5*time.Minute)
	managed.Default(&r.DriverPoll, connect.DriverPoll)
	if r.Now == nil {
		r.Now = time.Now
	}
	if err := managed.Index(mgr, connect.NewObject(r.kind()), indexSecret, r.secretKeys); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(connect.NewObject(r.kind()), builder.WithPredicates(generationOrDeletion())).
		// Metadata only: the operator never caches Secret contents.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forSecret)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles})
	if r.kind() == pailv1.KindProvider {
		// A ClusterProvider is the admin's: no Guardrail speaks of it.
		b = guardrails.Watch(b, r.Client, func() client.ObjectList { return &pailv1.ProviderList{} })
	}
	if r.Recheck != nil {
		b = b.WatchesRawSource(source.Channel(r.Recheck, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

// Reconcile runs the connectivity and auth check.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := connect.NewObject(r.kind())
	if err := r.Client.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !p.GetDeletionTimestamp().IsZero() {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if msg := p.DecodeError(); msg != "" {
		r.Connector.Forget(r.key(req.NamespacedName))
		st := p.ProviderStatus()
		return ctrl.Result{}, status.Unreadable(ctx, r.Client, r.Recorder, p, &st.Conditions, &st.ObservedGeneration, r.kind(), msg)
	}
	if p, ok := p.(*pailv1.Provider); ok {
		if denied, err := r.refuseDenied(ctx, p); denied || err != nil {
			return ctrl.Result{}, err
		}
	}
	if res, done := r.start(ctx, p); done {
		return res, nil
	}
	return r.checkAndReport(ctx, p)
}

// copyOf is a deep copy of p.
func copyOf(p pailv1.ProviderObject) (pailv1.ProviderObject, error) {
	cp, ok := p.DeepCopyObject().(pailv1.ProviderObject)
	if !ok { // a deep copy is of the same kind
		return nil, fmt.Errorf("copy %T: not a Provider", p)
	}
	return cp, nil
}

// checkAndReport runs the check, sets Ready from its outcome and writes the
// status when it changed.
func (r *Reconciler) checkAndReport(ctx context.Context, p pailv1.ProviderObject) (ctrl.Result, error) {
	before, err := copyOf(p)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := p.ProviderStatus()
	if st.ObservedGeneration != p.GetGeneration() {
		// The account belongs to the spec it was checked with; a new
		// endpoint or Secret must be checked before it names one again.
		st.Account = ""
	}
	st.ObservedGeneration = p.GetGeneration()
	// Every message below may print the endpoint: never its user info.
	endpoint := hosthttp.RedactUserinfo(p.ProviderSpec().Endpoint)

	conn, checkErr := r.check(ctx, p, endpoint)
	var ce *checkError
	loading := errors.As(checkErr, &ce) && ce.wait
	if loading && keepWhileLoading(before.ProviderStatus()) {
		// The driver loads (a restart, a plugin upgrade): the Provider and
		// everything using it keep the state they had until it is loaded.
		return ctrl.Result{RequeueAfter: r.DriverPoll}, nil
	}
	if !loading {
		// Requeue marks a driver still loading: no check ran.
		now := metav1.NewTime(r.Now())
		st.LastCheckTime = &now
	}
	var result ctrl.Result
	switch {
	case checkErr == nil:
		result = r.reportReady(p, before, endpoint)
	case ce == nil:
		// Not a verdict on the Provider (a Secret read failed): retried.
		return ctrl.Result{}, checkErr
	default:
		result = r.reportFailed(ctx, p, before, ce)
	}
	if err := status.Patch(ctx, r.Client, before, p, *before.ProviderStatus(), *st); err != nil {
		if res, stale := status.Stale(err); stale {
			return res, nil
		}
		return ctrl.Result{}, fmt.Errorf("write %s status: %w", r.kind(), err)
	}
	// The status now describes a check with conn: referrers may use it.
	r.Connector.MarkChecked(p, conn)
	return result, nil
}

// reportReady sets Ready after a check that passed, with an event when
// Ready changes, and rechecks on the healthy schedule.
func (r *Reconciler) reportReady(p, before pailv1.ProviderObject, endpoint string) ctrl.Result {
	st := p.ProviderStatus()
	st.ConsecutiveFailures = 0
	status.True(&st.Conditions, p.GetGeneration(), pailv1.ConditionReady, pailv1.ReasonAvailable,
		fmt.Sprintf("Endpoint %s is reachable and accepted the credentials.", endpoint))
	if status.Changed(before.ProviderStatus().Conditions, st.Conditions, pailv1.ConditionReady) {
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, pailv1.ReasonAvailable, "Check", "%s is ready: %s accepted the credentials.", r.kind(), endpoint)
	}
	return ctrl.Result{RequeueAfter: r.RecheckInterval}
}

// reportFailed sets Ready after a check that failed. A driver still
// loading is polled; any other failure counts towards the backoff, and only
// the first of a run emits an event, so a flapping endpoint is not a storm.
func (r *Reconciler) reportFailed(ctx context.Context, p, before pailv1.ProviderObject, ce *checkError) ctrl.Result {
	st := p.ProviderStatus()
	msg := ce.message
	var result ctrl.Result
	if ce.wait {
		result = ctrl.Result{RequeueAfter: r.DriverPoll}
	} else {
		st.ConsecutiveFailures++
		delay := status.Backoff(st.ConsecutiveFailures, r.RetryBase, r.RetryMax)
		if ce.spec {
			delay = r.RecheckInterval
		}
		msg = fmt.Sprintf("%s Check %d failed; next check in %s.", status.Sentence(msg), st.ConsecutiveFailures, delay)
		result = ctrl.Result{RequeueAfter: delay}
	}
	status.False(&st.Conditions, p.GetGeneration(), pailv1.ConditionReady, ce.reason, msg)
	if status.Changed(before.ProviderStatus().Conditions, st.Conditions, pailv1.ConditionReady) &&
		!ce.wait && before.ProviderStatus().ConsecutiveFailures == 0 {
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, ce.reason, "Check", "%s", ce.message)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("provider check failed", "reason", ce.reason, "failures", st.ConsecutiveFailures, "retry_in", result.RequeueAfter.String())
	return result
}

// start handles the first reconcile of p since the operator started. A
// Provider checked recently keeps its status (see keepAtStart); only its
// connection is resolved, which reads the Secret and loads the driver
// without a request to the endpoint. done means the reconcile ends with res.
func (r *Reconciler) start(ctx context.Context, p pailv1.ProviderObject) (ctrl.Result, bool) {
	key := client.ObjectKeyFromObject(p)
	r.mu.Lock()
	seen := r.started[key] == p.GetUID()
	r.mu.Unlock()
	if seen {
		return ctrl.Result{}, false
	}
	keep, after := keepAtStart(p.ProviderStatus(), p.GetGeneration(), r.Now(), r.RecheckInterval)
	var conn *connect.Connection
	if keep {
		var err error
		conn, err = r.Connector.Resolve(ctx, p)
		if _, wait := connect.Waiting(err); wait {
			return ctrl.Result{RequeueAfter: r.DriverPoll}, true
		}
		keep = err == nil // a missing Secret or driver is checked and reported now
	}
	r.mu.Lock()
	if r.started == nil {
		r.started = map[types.NamespacedName]types.UID{}
	}
	r.started[key] = p.GetUID()
	r.mu.Unlock()
	if keep {
		// The status, from a check shortly before the restart, is taken to
		// describe the Secrets as they are now.
		r.Connector.MarkChecked(p, conn)
		ctrl.LoggerFrom(ctx).V(1).Info("provider checked recently; keeping its status", "next_check_in", after.String())
		return ctrl.Result{RequeueAfter: after}, true
	}
	return ctrl.Result{}, false
}

func (r *Reconciler) forget(key types.NamespacedName) {
	r.Connector.Forget(r.key(key))
	r.mu.Lock()
	delete(r.started, key)
	r.mu.Unlock()
}

type checkError struct {
	reason, message string
	wait            bool
	// spec is a failure only a change fixes: it is checked again on the
	// recheck schedule, not with backoff.
	spec bool
}

func (e *checkError) Error() string { return e.message }

// check sets EndpointReachable, AuthValid and DriverReady, and returns the
// connection it checked with and a checkError naming the Ready reason when
// the Provider is not ready.
func (r *Reconciler) check(ctx context.Context, p pailv1.ProviderObject, endpoint string) (*connect.Connection, error) {
	st, spec := p.ProviderStatus(), p.ProviderSpec()
	gen := p.GetGeneration()
	conn, err := r.Connector.Resolve(ctx, p)
	if err != nil {
		var ce *connect.Error
		if !errors.As(err, &ce) {
			return nil, err
		}
		switch ce.Reason {
		case pailv1.ReasonDriverLoading, pailv1.ReasonDriverNotFound, pailv1.ReasonDriverFailed:
			status.False(&st.Conditions, gen, pailv1.ConditionDriverReady, ce.Reason, ce.Message)
		case pailv1.ReasonCredentialsMissing:
			status.False(&st.Conditions, gen, pailv1.ConditionAuthValid, ce.Reason, ce.Message)
		case pailv1.ReasonInvalidSpec:
			status.False(&st.Conditions, gen, pailv1.ConditionEndpointReachable, ce.Reason, ce.Message)
		}
		return conn, &checkError{reason: ce.Reason, message: ce.Message, wait: ce.Wait}
	}
	info := conn.Driver.Describe()
	st.DriverVersion = info.Version
	status.True(&st.Conditions, gen, pailv1.ConditionDriverReady, pailv1.ReasonDriverLoaded,
		fmt.Sprintf("Driver %s %s (ABI %s) is loaded.", info.Name, info.Version, info.ABI))

	reconcileID := string(controller.ReconcileIDFromContext(ctx))
	callCtx, refusals := hosthttp.RecordRefusals(conn.Context(ctx, reconcileID))
	res, err := driver.CheckProviderAccount(callCtx, conn.Driver, conn.Config)
	code := abi.CodeOf(err)
	switch {
	case err != nil && refusals.First() != nil:
		// Whatever the driver made of it, the host refused the dial.
		return conn, forbidden(st, gen, endpoint, refusals.First())
	case err == nil:
		st.Account = res.Account
		status.True(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonReachable,
			fmt.Sprintf("Endpoint %s answered.", endpoint))
		status.True(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonCredentialsAccepted,
			fmt.Sprintf("The provider accepted the credentials in Secret %s.", spec.CredentialsSecretRef.Name))
		return conn, nil
	case code == abi.CodeAccessDenied:
		status.True(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonReachable,
			fmt.Sprintf("Endpoint %s answered.", endpoint))
		msg := status.Sentence(fmt.Sprintf("The provider refused the credentials in Secret %s: %s", spec.CredentialsSecretRef.Name, driverMessage(err))) +
			" Fix the access key pair in the Secret; Pail rechecks when it changes."
		status.False(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonCredentialsRefused, msg)
		return conn, &checkError{reason: pailv1.ReasonCredentialsRefused, message: msg}
	case wasmhost.IsTrap(err):
		// The driver, not the endpoint, failed: say so, so nobody debugs a
		// network that is fine.
		msg := status.Sentence(fmt.Sprintf("Driver %s failed the connectivity check: %s", spec.Driver, driverMessage(err))) +
			" The instance was discarded; Pail retries with backoff."
		status.False(&st.Conditions, gen, pailv1.ConditionDriverReady, pailv1.ReasonDriverTrapped, msg)
		status.Unknown(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonUnknown, "The endpoint cannot be checked while the driver fails.")
		status.Unknown(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonUnknown, "The credentials cannot be checked while the driver fails.")
		return conn, &checkError{reason: pailv1.ReasonDriverTrapped, message: msg}
	case code == abi.CodeUnavailable || code == "":
		msg := status.Sentence(fmt.Sprintf("Endpoint %s could not be reached: %s", endpoint, driverMessage(err)))
		status.False(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonUnreachable, msg)
		status.Unknown(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonUnknown, "The credentials cannot be checked while the endpoint is unreachable.")
		return conn, &checkError{reason: pailv1.ReasonUnreachable, message: msg}
	case providerCode(err) == abi.ProviderCodeNotS3:
		// It answered, but not as S3: a web server, a console port or a
		// proxy's error page. Nothing about the credentials is known.
		msg := status.Sentence(fmt.Sprintf("Endpoint %s answered, but not as an S3 API: %s", endpoint, driverMessage(err))) +
			" Check that spec.endpoint is the S3 API URL (not a console or web page) and spec.driver matches the server."
		status.True(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonReachable,
			fmt.Sprintf("Endpoint %s answered.", endpoint))
		status.Unknown(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonNotS3Endpoint, "The credentials cannot be checked: the endpoint does not speak S3.")
		return conn, &checkError{reason: pailv1.ReasonNotS3Endpoint, message: msg}
	default:
		msg := status.Sentence(fmt.Sprintf("The connectivity check against %s failed: %s", endpoint, driverMessage(err)))
		status.True(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonReachable,
			fmt.Sprintf("Endpoint %s answered.", endpoint))
		status.Unknown(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonBackendError, msg)
		return conn, &checkError{reason: pailv1.ReasonBackendError, message: msg}
	}
}

// forbidden reports a check whose request the host refused to dial: the
// endpoint resolved to an address no Provider may reach. Nothing was sent,
// and only a new spec or DNS record changes that, so it is a spec error.
func forbidden(st *pailv1.ProviderStatus, gen int64, endpoint string, refusal *hosthttp.DialRefusedError) *checkError {
	msg := status.Sentence(fmt.Sprintf("Endpoint %s is forbidden: %s", endpoint, hosthttp.RedactUserinfo(refusal.Detail()))) +
		" Point the Provider at the storage service; Pail checks again when it changes, and on the recheck schedule in case DNS changes."
	status.False(&st.Conditions, gen, pailv1.ConditionEndpointReachable, pailv1.ReasonEndpointForbidden, msg)
	status.Unknown(&st.Conditions, gen, pailv1.ConditionAuthValid, pailv1.ReasonUnknown, "The credentials cannot be checked: the host refuses the endpoint's address.")
	return &checkError{reason: pailv1.ReasonEndpointForbidden, message: msg, spec: true}
}

// driverMessage is the driver's message for err, with the user info of any
// URL in it redacted.
func driverMessage(err error) string { return hosthttp.RedactUserinfo(abi.MessageOf(err)) }

// providerCode is the provider code of the *abi.Error in err's chain.
func providerCode(err error) string {
	if e, ok := errors.AsType[*abi.Error](err); ok {
		return e.ProviderCode
	}
	return ""
}
