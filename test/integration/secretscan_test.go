package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// secretSet collects every secret value an AccessKey's Secret held during
// the run, so the end-of-run scan can look for them where they must never be.
type secretSet struct {
	mu     sync.Mutex
	values map[string]bool
}

var secrets = &secretSet{values: map[string]bool{}}

func (s *secretSet) record(sec *corev1.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range sec.Data {
		if strings.Contains(k, "SECRET") && len(v) >= 8 {
			s.values[string(v)] = true
		}
	}
}

func (s *secretSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.values))
	for v := range s.values {
		out = append(out, v)
	}
	return out
}

// watchSecrets records the secrets of every AccessKey Secret until ctx ends,
// including keys that a rotation replaced before any test read them.
func watchSecrets(ctx context.Context, c client.Client) {
	for {
		var list corev1.SecretList
		if err := c.List(ctx, &list, client.HasLabels{pailv1.LabelAccessKey}); err == nil {
			for i := range list.Items {
				secrets.record(&list.Items[i])
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scanForSecrets looks for every recorded secret value in the operator's
// logs, in every event, in every AccessKey's status and in the metrics. It
// returns a description of each leak.
func scanForSecrets(ctx context.Context, c client.Client, logs string, values []string) ([]string, int, error) {
	var events corev1.EventList
	if err := c.List(ctx, &events); err != nil {
		return nil, 0, err
	}
	var eventText strings.Builder
	for _, e := range events.Items {
		fmt.Fprintf(&eventText, "%s %s\n", e.Reason, e.Message)
	}
	var keys pailv1.AccessKeyList
	if err := c.List(ctx, &keys); err != nil {
		return nil, 0, err
	}
	statusText := fmt.Sprintf("%+v", keys.Items)
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		return nil, 0, err
	}
	var metricText strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&metricText, mf); err != nil {
			return nil, 0, err
		}
	}
	places := map[string]string{"operator logs": logs, "events": eventText.String(), "AccessKey status": statusText, "metrics": metricText.String()}
	var leaks []string
	for _, v := range values {
		for where, text := range places {
			if strings.Contains(text, v) {
				leaks = append(leaks, fmt.Sprintf("a secret access key (%d chars, starting %q) appears in the %s", len(v), v[:2], where))
			}
		}
	}
	return leaks, len(values), nil
}

// secretScan runs the scan at the end of the suite and reports on stderr.
func secretScan(ctx context.Context) int {
	leaks, n, err := scanForSecrets(ctx, suite.k8s, suite.logs.String(), secrets.all())
	if err != nil {
		fmt.Fprintln(os.Stderr, "secret scan:", err)
		return 1
	}
	if len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "secret scan FAILED:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		return 1
	}
	fmt.Printf("secret scan: %d secret values checked against the operator logs, events, AccessKey status and metrics: none found\n", n)
	return 0
}

// TestSecretScanFindsAPlantedSecret proves the end-of-run scan can fail.
func TestSecretScanFindsAPlantedSecret(t *testing.T) {
	planted := "PLANTED-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	leaks, n, err := scanForSecrets(context.Background(), suite.k8s, "some log line "+planted+" more", []string{planted})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.Len(t, leaks, 1)
	assert.Contains(t, leaks[0], "operator logs")
	assert.NotContains(t, leaks[0], planted, "the report itself does not repeat the secret")
}
