package provider

import (
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// generationOrDeletion ignores the controller's own status writes, which
// would otherwise re-run the check (and defeat the backoff) on every write.
func generationOrDeletion() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				!e.ObjectNew.GetDeletionTimestamp().IsZero() ||
				e.ObjectOld.GetUID() != e.ObjectNew.GetUID()
		},
	}
}
