package plugin

import (
	"bytes"
	"compress/gzip"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/pail-dev/pail/core/registry"
)

const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestParse(t *testing.T) {
	base := map[string]string{KeyName: "custom", KeyVersion: "1.2.3", KeySHA256: strings.ToUpper(sum), KeyPath: "/plugins/custom.wasm"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		maps.Copy(m, base)
		if v == "-" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		data   map[string]string
		binary map[string][]byte
		want   registry.Plugin
		err    string
	}{
		{name: "path", data: base, want: registry.Plugin{Name: "custom", Version: "1.2.3", SHA256: sum, Path: "/plugins/custom.wasm"}},
		{name: "limits and hosts", data: with(KeyLimits, "memoryLimitPages: 512\npoolSize: 2\ncallTimeout: 5s\nmaxCallsPerInstance: 100\nmaxHTTPCallsPerOp: 8\n"),
			want: registry.Plugin{Name: "custom", Version: "1.2.3", SHA256: sum, Path: "/plugins/custom.wasm",
				Limits: registry.Limits{MemoryLimitPages: 512, PoolSize: 2, CallTimeout: 5 * time.Second, MaxCallsPerInstance: 100, MaxHTTPCallsPerOp: 8}}},
		{name: "allowed hosts", data: with(KeyAllowedHosts, "https://sts.example.com\nhttp://10.0.0.1:9000, https://x.example"),
			want: registry.Plugin{Name: "custom", Version: "1.2.3", SHA256: sum, Path: "/plugins/custom.wasm", AllowedHosts: []string{"https://sts.example.com", "http://10.0.0.1:9000", "https://x.example"}}},
		{name: "inline gzip module", data: with(KeyPath, "-"), binary: map[string][]byte{KeyModuleGzip: gz(t, []byte("\x00asm\x01\x00\x00\x00"))},
			want: registry.Plugin{Name: "custom", Version: "1.2.3", SHA256: sum, Module: []byte("\x00asm\x01\x00\x00\x00")}},
		{name: "bad name", data: with(KeyName, "Custom_Driver"), err: "data.name"},
		{name: "no version", data: with(KeyVersion, ""), err: "data.version"},
		{name: "short sha", data: with(KeySHA256, "abc"), err: "64 hex digits"},
		{name: "relative path", data: with(KeyPath, "plugins/x.wasm"), err: "clean absolute path"},
		{name: "path with dots", data: with(KeyPath, "/plugins/../etc/x"), err: "clean absolute path"},
		{name: "no module", data: with(KeyPath, "-"), err: "no module"},
		{name: "both", data: base, binary: map[string][]byte{KeyModuleGzip: gz(t, []byte("x"))}, err: "not both"},
		{name: "not gzip", data: with(KeyPath, "-"), binary: map[string][]byte{KeyModuleGzip: []byte("plain")}, err: "not gzip"},
		{name: "unknown limit", data: with(KeyLimits, "memory: 1Gi\n"), err: "limits.yaml"},
		{name: "bad timeout", data: with(KeyLimits, "callTimeout: soon\n"), err: "callTimeout"},
		{name: "negative", data: with(KeyLimits, "poolSize: -1\n"), err: "negative"},
		{name: "host with path", data: with(KeyAllowedHosts, "https://x.example/api"), err: "allowedHosts"},
		{name: "host without scheme", data: with(KeyAllowedHosts, "x.example"), err: "allowedHosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(&corev1.ConfigMap{Data: tt.data, BinaryData: tt.binary})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzParse: no manifest makes Parse panic, and a parsed one is usable.
func FuzzParse(f *testing.F) {
	f.Add("custom", "1.0.0", sum, "/p/x.wasm", "poolSize: 2\n", "https://a.example", []byte(nil))
	f.Add("x", "", "zz", "", "callTimeout: -1s", "ftp://x", gz(f, []byte("wasm")))
	f.Fuzz(func(t *testing.T, name, version, sha, path, limits, hosts string, module []byte) {
		cm := &corev1.ConfigMap{Data: map[string]string{KeyName: name, KeyVersion: version, KeySHA256: sha, KeyPath: path, KeyLimits: limits, KeyAllowedHosts: hosts}}
		if module != nil {
			cm.BinaryData = map[string][]byte{KeyModuleGzip: module}
		}
		p, err := Parse(cm)
		if err != nil {
			return
		}
		if p.Name == "" || len(p.SHA256) != 64 || (p.Path == "") == (p.Module == nil) {
			t.Fatalf("accepted an unusable manifest: %+v", p)
		}
	})
}
