package connect

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestSecretNames(t *testing.T) {
	provider := func(creds string, tls *pailv1.TLSConfig) *pailv1.Provider {
		return &pailv1.Provider{Spec: pailv1.ProviderSpec{CredentialsSecretRef: pailv1.CredentialsSecretRef{Name: creds}, TLS: tls}}
	}
	tests := []struct {
		name string
		p    *pailv1.Provider
		want []string
	}{
		{"credentials only", provider("creds", nil), []string{"creds"}},
		{"TLS without a CA Secret", provider("creds", &pailv1.TLSConfig{InsecureSkipVerify: true}), []string{"creds"}},
		{"credentials and CA", provider("creds", &pailv1.TLSConfig{CASecretRef: &pailv1.SecretKeyRef{Name: "ca"}}), []string{"creds", "ca"}},
		{"one Secret for both", provider("both", &pailv1.TLSConfig{CASecretRef: &pailv1.SecretKeyRef{Name: "both"}}), []string{"both"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SecretNames(tc.p); !slices.Equal(got, tc.want) {
				t.Errorf("SecretNames = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSecretsCurrent(t *testing.T) {
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"}}
	cl := fake.NewClientBuilder().WithObjects(sec).Build()
	m := SecretMeta()
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "ns", Name: "creds"}, m); err != nil {
		t.Fatal(err)
	}
	conn := func(versions map[string]string) *Connection {
		return &Connection{key: "Provider/ns/p", secretNS: "ns", secretVersions: versions}
	}
	c := &Connector{Meta: cl}
	if !c.secretsCurrent(ctx, conn(map[string]string{"creds": m.ResourceVersion})) {
		t.Error("a connection built from the Secret as it is now is current")
	}
	if c.secretsCurrent(ctx, conn(map[string]string{"creds": "0"})) {
		t.Error("a connection built from an older version of the Secret is stale")
	}
	if c.secretsCurrent(ctx, conn(map[string]string{"gone": "1"})) {
		t.Error("a connection built from a Secret that no longer exists is stale")
	}
	if !(&Connector{}).secretsCurrent(ctx, conn(map[string]string{"creds": "0"})) {
		t.Error("without a metadata reader the generation alone decides")
	}
}
