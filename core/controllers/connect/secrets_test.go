package connect

import (
	"slices"
	"testing"

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
