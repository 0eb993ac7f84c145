package bucket

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp/totp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/managed"
)

// mfa computes "<serial> <code>" from the Secret the spec names. A missing
// or malformed Secret stops the sync with MFAUnavailable until the Secret
// changes (the Secret is watched).
func (r *Reconciler) mfa(ctx context.Context, b *pailv1.Bucket, s *state) (string, error) {
	ref := b.Spec.Versioning.MFADelete.SecretRef
	serialKey, seedKey := ref.SerialKey, ref.SeedKey
	if serialKey == "" {
		serialKey = "serial"
	}
	if seedKey == "" {
		seedKey = "seed"
	}
	fail := func(msg string, err error) (string, error) {
		s.verdict = managed.NotSynced(pailv1.ReasonMFAUnavailable, msg)
		return "", managed.Spec(err)
	}
	var sec corev1.Secret
	if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: b.Namespace, Name: ref.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return fail(fmt.Sprintf("MFA Secret %s named in spec.versioning.mfaDelete.secretRef does not exist.", ref.Name), err)
		}
		return "", err
	}
	serial, seed := string(sec.Data[serialKey]), string(sec.Data[seedKey])
	if serial == "" || seed == "" {
		err := fmt.Errorf("MFA Secret %s lacks %s or %s", ref.Name, serialKey, seedKey)
		return fail(fmt.Sprintf("MFA Secret %s must hold the device serial in %s and the TOTP seed in %s.", ref.Name, serialKey, seedKey), err)
	}
	v, err := mfaValue(serial, seed, time.Now())
	if err != nil {
		return fail(fmt.Sprintf("The TOTP seed in MFA Secret %s is not a valid base32 secret.", ref.Name), err)
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
