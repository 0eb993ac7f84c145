package chart

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/test/env"
)

// helmCmd runs helm against the test apiserver.
func helmCmd(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(helm(t), append(args, "--kubeconfig", kubeconfig)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "helm %s:\n%s", strings.Join(args, " "), out.String())
	return out.String()
}

// TestHelmInstallAndUpgrade installs the chart with helm into a real
// apiserver (no kubelet, so no pod runs: this is about what helm applies)
// and checks the CRDs arrive and the webhook certificate survives upgrades
// because the chart looks the existing Secret up.
func TestHelmInstallAndUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	kube := env.KubeForTest(t, env.KubeOptions{})
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, apiextensionsv1.AddToScheme(scheme))
	k8s, err := client.New(kube.Config, client.Options{Scheme: scheme})
	require.NoError(t, err)
	ctx := context.Background()

	install := []string{"upgrade", "--install", releaseName, chartDir(), "--namespace", releaseNS, "--create-namespace"}
	notes := helmCmd(t, kube.Kubeconfig, install...)
	assert.Contains(t, notes, "kubectl -n pail-system rollout status deployment/pail", "NOTES.txt is shown")

	for _, crd := range []string{"providers.pail.dev", "buckets.pail.dev", "bucketpolicies.pail.dev"} {
		var c apiextensionsv1.CustomResourceDefinition
		require.NoError(t, k8s.Get(ctx, client.ObjectKey{Name: crd}, &c), "helm installed CRD %s from crds/", crd)
	}

	certs := func() (secret map[string][]byte, caBundle []byte) {
		var s corev1.Secret
		require.NoError(t, k8s.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "pail-webhook-tls"}, &s))
		var vwc admissionv1.ValidatingWebhookConfiguration
		require.NoError(t, k8s.Get(ctx, client.ObjectKey{Name: "pail"}, &vwc))
		require.NotEmpty(t, vwc.Webhooks)
		for _, w := range vwc.Webhooks {
			require.Equal(t, vwc.Webhooks[0].ClientConfig.CABundle, w.ClientConfig.CABundle, "every webhook trusts the one CA")
		}
		return s.Data, vwc.Webhooks[0].ClientConfig.CABundle
	}
	first, firstCA := certs()
	require.Equal(t, first["ca.crt"], firstCA, "the caBundle is the Secret's CA")

	helmCmd(t, kube.Kubeconfig, append(install, "--set", "operator.logLevel=debug")...)
	second, secondCA := certs()
	assert.Equal(t, first, second, "an upgrade keeps the certificate the running pod serves")
	assert.Equal(t, firstCA, secondCA)

	// Without the Secret there is nothing to keep: a new pair is made, and
	// the caBundle follows it.
	require.NoError(t, k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metaName(releaseNS, "pail-webhook-tls")}))
	helmCmd(t, kube.Kubeconfig, install...)
	third, thirdCA := certs()
	assert.NotEqual(t, first["tls.crt"], third["tls.crt"])
	assert.Equal(t, third["ca.crt"], thirdCA)
}

func metaName(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
