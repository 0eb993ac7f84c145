package policypack

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Trust is what the controller does with a labelled ConfigMap.
type Trust int

const (
	// Load loads the ConfigMap's pack.
	Load Trust = iota
	// Replace loads it in place of the built-in pack of its name.
	Replace
	// Ignore leaves it alone: it is outside the operator's namespace.
	Ignore
	// Refuse leaves it alone: it names a built-in pack without
	// ReplaceAnnotation.
	Refuse
)

// Decision says what becomes of one labelled ConfigMap, and why (Message,
// for the event, when it is not loaded).
type Decision struct {
	Trust   Trust
	Pack    string
	Message string
}

// Reason is the event reason of a decision not to load.
func (d Decision) Reason() string {
	if d.Trust == Ignore {
		return ReasonIgnored
	}
	return ReasonRefused
}

// PackName is the pack a labelled ConfigMap holds: the label's value, or
// the ConfigMap's name when the value is empty.
func PackName(cm *corev1.ConfigMap) string {
	if name := cm.Labels[Label]; name != "" {
		return name
	}
	return cm.Name
}

// Decide says whether a labelled ConfigMap's pack is loaded. A pack runs
// inside the operator and judges every tenant's documents, so only the
// operator's namespace (namespace; "" trusts none) is trusted, and even
// there a built-in pack is replaced only on purpose: by a ConfigMap that
// carries ReplaceAnnotation "true". builtin says whether a pack name is a
// built-in pack's.
func Decide(cm *corev1.ConfigMap, namespace string, builtin func(string) bool) Decision {
	name := PackName(cm)
	switch {
	case namespace == "":
		return Decision{Trust: Ignore, Pack: name, Message: fmt.Sprintf(
			"Policy pack %s is not loaded: the operator has no namespace of its own (--namespace), so it loads no ConfigMap packs, only the built-in ones", name)}
	case cm.Namespace != namespace:
		return Decision{Trust: Ignore, Pack: name, Message: fmt.Sprintf(
			"Policy pack %s is not loaded: packs are read only from the operator's namespace %s, where only the platform team may write; ask them to ship it there", name, namespace)}
	case !builtin(name):
		return Decision{Trust: Load, Pack: name}
	case cm.Annotations[ReplaceAnnotation] == "true":
		return Decision{Trust: Replace, Pack: name}
	default:
		return Decision{Trust: Refuse, Pack: name, Message: fmt.Sprintf(
			"Policy pack %s is not loaded: %s is a built-in pack, and stays in force; to replace it, annotate this ConfigMap %s: \"true\", or give the pack another name", name, name, ReplaceAnnotation)}
	}
}
