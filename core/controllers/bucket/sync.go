package bucket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/sdk/abi"
)

func locationPtr(l pailv1.Location) *pailv1.Location { return &l }

// owned reports whether Pail created or adopted the bucket.
func owned(b *pailv1.Bucket) bool {
	return b.Status.Ownership != "" || b.Annotations[pailv1.AnnotationCreateIntent] != ""
}

func (r *Reconciler) sync(ctx context.Context, b *pailv1.Bucket) (ctrl.Result, error) {
	gen := b.Generation
	conds := &b.Status.Conditions
	b.Status.ObservedGeneration = gen
	p, conn, err := r.provider(ctx, b)
	if err != nil || p == nil {
		// Not ready: the Provider watch brings the Bucket back.
		return ctrl.Result{}, err
	}
	desired, err := bucketdiff.Desired(&b.Spec)
	if err != nil {
		msg := status.Sentence(fmt.Sprintf("The spec cannot be applied: %v", err))
		status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInvalidSpec, msg)
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonInvalidSpec, msg)
		return ctrl.Result{}, reconcile.TerminalError(err)
	}

	// Features the driver does not declare are refused up front, by name;
	// everything else is still applied.
	info := conn.Driver.Describe()
	unsupported := map[string]string{}
	for _, c := range bucketdiff.Required(desired) {
		if !info.Supports(c) {
			unsupported[c] = fmt.Sprintf("driver %s does not support %s", info.Name, c)
		}
	}
	managed := slices.DeleteFunc(bucketdiff.Managed(desired), func(s string) bool { _, bad := unsupported[s]; return bad })
	observeOnly := b.Spec.ManagementPolicy == pailv1.ManagementObserveOnly

	// Where the Provider points now must be where the ownership was
	// established, and no other Bucket may manage the same bucket there:
	// both are checked before anything is read, written or adopted.
	cur := connect.LocationOf(p)
	rec, moved, why := movedFrom(b, cur)
	if moved {
		r.refuseMoved(b, rec, cur, why)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
	}
	if !observeOnly {
		other, err := r.otherManager(ctx, b, cur)
		if err != nil {
			return ctrl.Result{}, err
		}
		if other != nil {
			r.refuseManaged(b, other, cur)
			return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
		}
	}

	region := b.Spec.Region
	if region == "" {
		region = p.Spec.Region
	}
	cctx := conn.Context(ctx, string(controller.ReconcileIDFromContext(ctx)))
	args := abi.BucketArgs{Name: b.Spec.BucketName, Region: region, Observe: managed}
	obs, err := conn.Driver.ObserveBucket(cctx, conn.Config, args)
	if err != nil {
		return ctrl.Result{}, r.backendError(b, "observe", err)
	}
	for s, why := range obs.Unsupported {
		unsupported[s] = why
	}
	managed = slices.DeleteFunc(managed, func(s string) bool { _, bad := unsupported[s]; return bad })
	apply := bucketdiff.Only(desired, managed)
	// No "last synced" timestamp in status: it would turn every in-sync
	// resync into a status write.
	b.Status.Endpoint = p.Spec.Endpoint
	b.Status.Region = region
	if owned(b) {
		// The record made with the ownership (or, after an upgrade, the
		// endpoint last synced at), with an account learnt since.
		b.Status.Location = locationPtr(connect.Backfill(rec, cur))
	}

	switch {
	case !obs.Exists && observeOnly:
		msg := fmt.Sprintf("Bucket %s does not exist at %s, and managementPolicy ObserveOnly forbids creating it.", b.Spec.BucketName, p.Spec.Endpoint)
		status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonBucketNotFound, msg)
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonBucketNotFound, msg)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil

	case !obs.Exists:
		if err := r.recordCreateIntent(ctx, b, cur); err != nil {
			return ctrl.Result{}, err
		}
		// The create itself sets object lock (abi.SubResources: enabled is
		// create-only), so it travels as BucketArgs.ObjectLock, not as a write.
		args := abi.BucketArgs{Name: b.Spec.BucketName, Region: region, Create: true, Config: apply, ObjectLock: apply.ObjectLock}
		args.Config.ObjectLock = nil
		if apply.Versioning != nil && apply.Versioning.MFADelete != "" {
			mfa, err := r.mfa(ctx, b)
			if err != nil {
				return ctrl.Result{}, err
			}
			args.MFA = mfa
		}
		if err := conn.Driver.ApplyBucket(cctx, conn.Config, args); err != nil {
			if abi.CodeOf(err) == abi.CodeAlreadyExists {
				msg := fmt.Sprintf("Bucket name %s is taken by another account at %s; choose another spec.bucketName.", b.Spec.BucketName, p.Spec.Endpoint)
				status.True(conds, gen, pailv1.ConditionConflict, "BucketNameTaken", msg)
				status.False(conds, gen, pailv1.ConditionSynced, "BucketNameTaken", msg)
				status.False(conds, gen, pailv1.ConditionReady, "BucketNameTaken", msg)
				return ctrl.Result{}, reconcile.TerminalError(err)
			}
			return ctrl.Result{}, r.backendError(b, "create", err)
		}
		b.Status.Ownership = pailv1.OwnershipCreated
		b.Status.Location = locationPtr(connect.Backfill(rec, cur))
		b.Status.Drift = nil
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonCreated, "Create", "Created bucket %s at %s", b.Spec.BucketName, p.Spec.Endpoint)

	case !owned(b) && !b.Spec.Adopt && !observeOnly:
		msg := fmt.Sprintf("Bucket %s already exists at %s and Pail did not create it. Pail leaves it untouched; set spec.adopt: true to manage it, or spec.managementPolicy: ObserveOnly to watch it.", b.Spec.BucketName, p.Spec.Endpoint)
		if c := meta.FindStatusCondition(*conds, pailv1.ConditionConflict); c == nil || c.Status != metav1.ConditionTrue {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonBucketExists, "Observe", "%s", msg)
		}
		status.True(conds, gen, pailv1.ConditionConflict, pailv1.ReasonBucketExists, msg)
		status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonBucketExists, msg)
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonBucketExists, msg)
		return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil

	default:
		// ObserveOnly never takes ownership: an owner may delete the bucket,
		// and an observer must be able to sit beside the Bucket that manages it.
		if !owned(b) && b.Spec.Adopt && !observeOnly {
			if err := r.ensureFinalizer(ctx, b); err != nil {
				return ctrl.Result{}, err
			}
			b.Status.Ownership = pailv1.OwnershipAdopted
			b.Status.Location = locationPtr(cur)
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonAdopted, "Adopt", "Adopted existing bucket %s at %s (spec.adopt)", b.Spec.BucketName, p.Spec.Endpoint)
		}
		if owned(b) && !observeOnly {
			if err := r.ensureFinalizer(ctx, b); err != nil {
				return ctrl.Result{}, err
			}
			if b.Status.Ownership == "" {
				// The create intent was recorded and the bucket exists: the
				// create went through even though its answer was lost (an
				// outage or a crash between the call and the status write).
				b.Status.Ownership = pailv1.OwnershipCreated
			}
		}
		// fields names every difference; changes are those a write can make
		// (a create-only one, such as objectLock.enabled, is only reported).
		all := bucketdiff.Diff(apply, obs.Config)
		fields := bucketdiff.Fields(all)
		changes := bucketdiff.Writable(all)
		if observeOnly {
			if len(fields) > 0 {
				msg := "Observed values differ from the spec (managementPolicy ObserveOnly, nothing written): " + strings.Join(fields, ", ") + "."
				if !slices.Equal(b.Status.Drift, fields) {
					r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDrift, "Observe", "%s", msg)
				}
				b.Status.Drift = fields
				status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonDrift, msg)
				status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonDrift, msg)
				return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
			}
			b.Status.Drift = nil
			break
		}
		if len(changes) > 0 {
			// The spec the status last described is in sync with the bucket, so
			// a difference now was made behind Pail's back: that is drift.
			synced := meta.FindStatusCondition(*conds, pailv1.ConditionSynced)
			drift := synced != nil && synced.ObservedGeneration == gen &&
				(synced.Status == metav1.ConditionTrue || synced.Reason == pailv1.ReasonDriftLoop)
			key := types.NamespacedName{Namespace: b.Namespace, Name: b.Name}
			var paused bool
			var until time.Time
			var n int
			if drift { // a spec change is not the breaker's business
				paused, until, n = r.DriftLoop.Paused(key, gen, time.Now())
			}
			if paused {
				msg := fmt.Sprintf("Drift loop: Pail corrected this bucket %d times within %s, so another writer keeps changing %s. Writes are paused until the spec changes or %s; stop the other writer, or change the spec to what it writes.",
					n, r.DriftLoop.Window, strings.Join(fields, ", "), until.UTC().Format(time.RFC3339))
				if synced.Reason != pailv1.ReasonDriftLoop {
					r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDriftLoop, "Update", "%s", msg)
				}
				r.Metrics.SetDriftLoop(b.Namespace, b.Name, true)
				b.Status.Drift = fields
				status.False(conds, gen, pailv1.ConditionSynced, pailv1.ReasonDriftLoop, msg)
				status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonDriftLoop, msg)
				return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
			}
			r.Metrics.SetDriftLoop(b.Namespace, b.Name, false)
			args := abi.BucketArgs{Name: b.Spec.BucketName, Region: region, Config: bucketdiff.Only(apply, bucketdiff.SubResources(changes))}
			if args.Config.Versioning != nil && args.Config.Versioning.MFADelete != "" {
				mfa, err := r.mfa(ctx, b)
				if err != nil {
					return ctrl.Result{}, err
				}
				args.MFA = mfa
			}
			if err := conn.Driver.ApplyBucket(cctx, conn.Config, args); err != nil {
				return ctrl.Result{}, r.backendError(b, "update", err)
			}
			if drift {
				r.DriftLoop.Corrected(key, gen, time.Now())
				r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonDriftCorrected, "Update", "Corrected drift on bucket %s: %s", b.Spec.BucketName, strings.Join(fields, ", "))
				r.Metrics.ObserveDriftCorrected(b.Namespace, b.Name)
			} else {
				r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, pailv1.ReasonApplied, "Update", "Applied %s to bucket %s", strings.Join(fields, ", "), b.Spec.BucketName)
			}
		}
		b.Status.Drift = nil
	}

	// Report what could not be done, by name, and still call the rest applied.
	if len(unsupported) > 0 {
		names := make([]string, 0, len(unsupported))
		for n := range unsupported {
			names = append(names, n)
		}
		slices.Sort(names)
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s (%s)", n, unsupported[n]))
		}
		msg := fmt.Sprintf("Not applied, because the provider cannot do it: %s. Everything else in the spec is applied.", strings.Join(parts, "; "))
		if c := meta.FindStatusCondition(*conds, pailv1.ConditionUnsupported); c == nil || c.Status != metav1.ConditionTrue || c.Message != msg {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, pailv1.ReasonUnsupported, "Observe", "%s", msg)
		}
		b.Status.Unsupported = names
		status.True(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonUnsupported, msg)
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, "Every supported field of the spec is in place.")
		status.False(conds, gen, pailv1.ConditionReady, pailv1.ReasonUnsupported, msg)
	} else {
		b.Status.Unsupported = nil
		status.False(conds, gen, pailv1.ConditionUnsupported, pailv1.ReasonAllSupported, "The provider supports every requested feature.")
		status.True(conds, gen, pailv1.ConditionSynced, pailv1.ReasonInSync, fmt.Sprintf("Bucket %s matches the spec.", b.Spec.BucketName))
		status.True(conds, gen, pailv1.ConditionReady, pailv1.ReasonAvailable, fmt.Sprintf("Bucket %s is ready.", b.Spec.BucketName))
	}
	status.False(conds, gen, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "Pail owns this bucket.")
	if observeOnly {
		status.False(conds, gen, pailv1.ConditionConflict, pailv1.ReasonNoConflict, "Observed only; Pail never writes to this bucket.")
	}
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
}

// recordCreateIntent persists the intent to create, and where, before the
// create call, so a crash in between can neither turn Pail's own bucket into
// a Conflict nor leave the ownership without its location.
func (r *Reconciler) recordCreateIntent(ctx context.Context, b *pailv1.Bucket, loc pailv1.Location) error {
	if b.Annotations[pailv1.AnnotationCreateIntent] != "" {
		return nil
	}
	err := status.PatchMetadata(ctx, r.Client, b, func(obj *pailv1.Bucket) {
		if obj.Annotations == nil {
			obj.Annotations = map[string]string{}
		}
		obj.Annotations[pailv1.AnnotationCreateIntent] = intentValue(time.Now(), loc)
		controllerutil.AddFinalizer(obj, pailv1.BucketFinalizer)
	})
	if err != nil {
		return fmt.Errorf("record create intent: %w", err)
	}
	return nil
}

// ensureFinalizer adds the finalizer, keeping the status being built.
func (r *Reconciler) ensureFinalizer(ctx context.Context, b *pailv1.Bucket) error {
	if controllerutil.ContainsFinalizer(b, pailv1.BucketFinalizer) {
		return nil
	}
	if err := status.PatchMetadata(ctx, r.Client, b, func(obj *pailv1.Bucket) {
		controllerutil.AddFinalizer(obj, pailv1.BucketFinalizer)
	}); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// mfa computes "<serial> <code>" from the Secret the spec names.
func (r *Reconciler) mfa(ctx context.Context, b *pailv1.Bucket) (string, error) {
	ref := b.Spec.Versioning.MFADelete.SecretRef
	serialKey, seedKey := ref.SerialKey, ref.SeedKey
	if serialKey == "" {
		serialKey = "serial"
	}
	if seedKey == "" {
		seedKey = "seed"
	}
	var sec corev1.Secret
	fail := func(msg string, err error) (string, error) {
		status.False(&b.Status.Conditions, b.Generation, pailv1.ConditionSynced, pailv1.ReasonMFAUnavailable, msg)
		status.False(&b.Status.Conditions, b.Generation, pailv1.ConditionReady, pailv1.ReasonMFAUnavailable, msg)
		return "", err
	}
	if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: ref.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return fail(fmt.Sprintf("MFA Secret %s named in spec.versioning.mfaDelete.secretRef does not exist.", ref.Name), reconcile.TerminalError(err))
		}
		return "", err
	}
	serial, seed := string(sec.Data[serialKey]), string(sec.Data[seedKey])
	if serial == "" || seed == "" {
		err := fmt.Errorf("MFA Secret %s lacks %s or %s", ref.Name, serialKey, seedKey)
		return fail(fmt.Sprintf("MFA Secret %s must hold the device serial in %s and the TOTP seed in %s.", ref.Name, serialKey, seedKey), reconcile.TerminalError(err))
	}
	v, err := mfaValue(serial, seed, time.Now())
	if err != nil {
		return fail(fmt.Sprintf("The TOTP seed in MFA Secret %s is not a valid base32 secret.", ref.Name), reconcile.TerminalError(err))
	}
	return v, nil
}

// mfaValue is the x-amz-mfa header value: the device serial, a space and the
// TOTP code for now.
func mfaValue(serial, seed string, now time.Time) (string, error) {
	code, err := totp.GenerateCode(seed, now)
	if err != nil {
		return "", err
	}
	return serial + " " + code, nil
}
