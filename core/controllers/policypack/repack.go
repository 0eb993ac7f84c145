package policypack

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// repack asks for every object the packs check to be evaluated again. It
// never blocks: the pack controller runs on every replica, but the
// BucketPolicy and AccessKey controllers that drain the channels run only
// on the leader. Changes coalesce into one pending repack, which the
// leader's repacker sends.
func (r *Reconciler) repack() {
	select {
	case r.pending <- struct{}{}:
	default: // one is pending already; it lists the objects when it runs
	}
}

// repacker sends the pending repacks. It is a leader-election runnable, so
// it runs only where the channels' consumers run, and there it may wait for
// them: nothing is dropped.
type repacker struct{ r *Reconciler }

// NeedLeaderElection: the consumers run only on the leader.
func (*repacker) NeedLeaderElection() bool { return true }

// Start sends each pending repack until ctx ends.
func (p *repacker) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.r.pending:
			p.r.send(ctx)
		}
	}
}

// send queues every BucketPolicy, every AccessKey with an identity policy
// and every Bucket with an inline policy, as they are now.
func (r *Reconciler) send(ctx context.Context) {
	if r.Repack != nil {
		var list pailv1.BucketPolicyList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if !sendTo(ctx, r.Repack, &list.Items[i]) {
					return
				}
			}
		}
	}
	if r.RepackAccessKeys != nil {
		var list pailv1.AccessKeyList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if s := list.Items[i].Spec; s.Policy != nil || len(s.Buckets) > 0 {
					if !sendTo(ctx, r.RepackAccessKeys, &list.Items[i]) {
						return
					}
				}
			}
		}
	}
	if r.RepackBuckets != nil {
		var list pailv1.BucketList
		if err := r.Client.List(ctx, &list); err == nil {
			for i := range list.Items {
				if list.Items[i].Spec.Policy != nil && !sendTo(ctx, r.RepackBuckets, &list.Items[i]) {
					return
				}
			}
		}
	}
}

// sendTo waits for the consumer, or for ctx to end (false).
func sendTo(ctx context.Context, ch chan<- event.GenericEvent, obj client.Object) bool {
	select {
	case ch <- event.GenericEvent{Object: obj}:
		return true
	case <-ctx.Done():
		return false
	}
}
