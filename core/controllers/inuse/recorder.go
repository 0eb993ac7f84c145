package inuse

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// NamespaceRecorder returns a recorder that records like rec, except that
// an event about an object being deleted in a namespace being deleted is
// recorded about the Namespace, with the object as the related one, and
// the note prefixed with the object's kind and name. The apiserver refuses
// new content, events included, in a terminating namespace, and its events
// would go with it anyway: these events (the bucket Pail left in place, and
// why) are the ones a user must still find afterwards, in namespace
// default. reader is uncached: it is asked only when an object is being
// deleted.
func NamespaceRecorder(rec events.EventRecorder, reader client.Reader, scheme *runtime.Scheme) events.EventRecorder {
	return &namespaceRecorder{rec: rec, reader: reader, scheme: scheme}
}

type namespaceRecorder struct {
	rec    events.EventRecorder
	reader client.Reader
	scheme *runtime.Scheme
}

func (r *namespaceRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	// Only an object with metadata (a client.Object) has a namespace.
	if o, ok := regarding.(client.Object); ok {
		if ns := r.terminating(o); ns != nil {
			kind := fmt.Sprintf("%T", o)
			if gvk, err := apiutil.GVKForObject(o, r.scheme); err == nil {
				kind = gvk.Kind
			}
			r.rec.Eventf(ns, regarding, eventtype, reason, action, "%s %s/%s: %s", kind, o.GetNamespace(), o.GetName(), fmt.Sprintf(note, args...))
			return
		}
	}
	r.rec.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// terminating returns the namespace of o when o is being deleted and so is
// its namespace, else nil.
func (r *namespaceRecorder) terminating(o runtime.Object) *corev1.Namespace {
	m, ok := o.(metav1.Object)
	if !ok || m.GetNamespace() == "" || m.GetDeletionTimestamp().IsZero() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ns corev1.Namespace
	if err := r.reader.Get(ctx, types.NamespacedName{Name: m.GetNamespace()}, &ns); err != nil || !Terminating(&ns) {
		return nil
	}
	return &ns
}

// Terminating reports whether ns is being deleted: nothing can be created
// in it any more, so nothing a user would create to fix a resource can come.
func Terminating(ns *corev1.Namespace) bool {
	return !ns.DeletionTimestamp.IsZero() || ns.Status.Phase == corev1.NamespaceTerminating
}
