package env

import (
	"context"
	"testing"
	"time"
)

// startTimeout bounds the ForTest helpers; building a missing binary is not
// covered by it (tools.Ensure takes no context), only starting the servers.
const startTimeout = 3 * time.Minute

// MinIOForTest starts MinIO for t, failing the test if it cannot, and stops
// it when the test finishes.
func MinIOForTest(t testing.TB, opts MinIOOptions) *MinIO {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	m, err := StartMinIO(ctx, opts)
	if err != nil {
		t.Fatalf("start minio: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop minio: %v", err)
		}
	})
	return m
}

// KubeForTest starts etcd and kube-apiserver for t, failing the test if it
// cannot, and stops them when the test finishes.
func KubeForTest(t testing.TB, opts KubeOptions) *Kube {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	k, err := StartKube(ctx, opts)
	if err != nil {
		t.Fatalf("start kube: %v", err)
	}
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Errorf("stop kube: %v", err)
		}
	})
	return k
}
