package bucket

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/policy"
)

// TestWebhookJudgesWithoutItsProvider: a Bucket whose Provider or
// ClusterProvider does not exist (yet) is judged with an unknown Provider,
// never with a nil Provider inside a non-nil interface, which panicked.
func TestWebhookJudgesWithoutItsProvider(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, pailv1.AddToScheme(scheme))
	for _, ref := range []pailv1.ProviderReference{{Name: "missing"}, {Kind: pailv1.KindClusterProvider, Name: "missing"}} {
		t.Run(ref.String(), func(t *testing.T) {
			v := &Validator{Reader: fake.NewClientBuilder().WithScheme(scheme).Build(), Engine: policy.NewEngine()}
			b := &pailv1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}, Spec: pailv1.BucketSpec{
				ProviderRef: ref, BucketName: "b-1",
				Policy: &runtime.RawExtension{Raw: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/*"}]}`)},
			}}
			_, err := v.ValidateCreate(context.Background(), b)
			require.NoError(t, err, "no pack is loaded, so nothing denies the document")
		})
	}
}
