package chart

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pail-dev/pail/test/env"
)

const (
	releaseName = "pail"
	releaseNS   = "pail-system"
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func chartDir() string { return filepath.Join(repoRoot(), "charts", "pail") }

// helm returns the helm binary: $PAIL_HELM (the Makefile exports the cached
// one), else it installs it the way the Makefile does, so `go test` works
// alone in a fresh checkout.
func helm(t *testing.T) string { return env.HelmForTest(t, repoRoot()) }

// render runs helm template on the chart with the given extra arguments
// (-f FILE, --set K=V) and returns its output, or helm's error text.
func render(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return env.HelmTemplate(t.Context(), helm(t), append([]string{releaseName, chartDir(), "--namespace", releaseNS}, args...)...)
}

// objects parses a multi-document manifest; every document must parse.
func objects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "rendered YAML parses")
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// renderObjects renders and parses, failing the test on a render error.
func renderObjects(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := render(t, args...)
	require.NoError(t, err)
	return objects(t, out)
}

// find returns the one object of kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// typed converts a rendered object into its Go type, which also checks that
// every field the chart writes is a real field of that kind.
func typed[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	require.NotNil(t, o)
	var v T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &v, true), "%s %s", o.GetKind(), o.GetName())
	return &v
}
