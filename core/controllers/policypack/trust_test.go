package policypack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	const operatorNS = "pail-system"
	builtin := func(name string) bool { return name == "security" || name == "baseline" }
	cm := func(ns, name, label string, annotations map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, Labels: map[string]string{Label: label}, Annotations: annotations,
		}}
	}
	replace := map[string]string{ReplaceAnnotation: "true"}
	tests := []struct {
		name      string
		cm        *corev1.ConfigMap
		namespace string
		want      Trust
		pack      string
		message   []string // each must be in the message
	}{
		{name: "a new pack in the operator's namespace", cm: cm(operatorNS, "naming-pack", "naming", nil), namespace: operatorNS, want: Load, pack: "naming"},
		{name: "an empty label names the pack after the ConfigMap", cm: cm(operatorNS, "naming", "", nil), namespace: operatorNS, want: Load, pack: "naming"},
		{name: "the annotation on a pack that is not built in changes nothing", cm: cm(operatorNS, "naming", "", replace), namespace: operatorNS, want: Load, pack: "naming"},
		{name: "a built-in's name with the annotation replaces it", cm: cm(operatorNS, "our-security", "security", replace), namespace: operatorNS, want: Replace, pack: "security"},
		{
			name: "a built-in's name without the annotation is refused", cm: cm(operatorNS, "security", "", nil), namespace: operatorNS,
			want: Refuse, pack: "security", message: []string{"built-in", "stays in force", ReplaceAnnotation},
		},
		{
			name: "the annotation must say true", cm: cm(operatorNS, "s", "security", map[string]string{ReplaceAnnotation: "yes"}), namespace: operatorNS,
			want: Refuse, pack: "security", message: []string{ReplaceAnnotation + `: "true"`},
		},
		{
			name: "a tenant's pack named like a built-in is ignored", cm: cm("tenant-a", "security", "", replace), namespace: operatorNS,
			want: Ignore, pack: "security", message: []string{"only from the operator's namespace " + operatorNS},
		},
		{
			name: "a tenant's new pack is ignored", cm: cm("tenant-a", "naming-pack", "naming", nil), namespace: operatorNS,
			want: Ignore, pack: "naming", message: []string{"not loaded", operatorNS},
		},
		{
			name: "no operator namespace trusts no ConfigMap", cm: cm(operatorNS, "naming-pack", "naming", nil), namespace: "",
			want: Ignore, pack: "naming", message: []string{"--namespace", "only the built-in ones"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.cm, tt.namespace, builtin)
			assert.Equal(t, tt.want, d.Trust)
			assert.Equal(t, tt.pack, d.Pack)
			if tt.want == Load || tt.want == Replace {
				assert.Empty(t, d.Message)
				return
			}
			for _, m := range tt.message {
				assert.Contains(t, d.Message, m)
			}
			assert.Contains(t, d.Message, "Policy pack "+tt.pack+" is not loaded")
			wantReason := map[Trust]string{Ignore: ReasonIgnored, Refuse: ReasonRefused}[tt.want]
			assert.Equal(t, wantReason, d.Reason())
		})
	}
}

// Pack changes on a standby, where nobody drains the channels, never
// block, and coalesce into one pending repack.
func TestRepackNeverBlocks(t *testing.T) {
	r := &Reconciler{pending: make(chan struct{}, 1)}
	for range 1000 {
		r.repack()
	}
	assert.Len(t, r.pending, 1)
	(&Reconciler{}).repack() // without SetupWithManager too
}
