package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// waitPlugin polls the plugin's state until ok says it settled.
func waitPlugin(t *testing.T, r *Registry, name string, ok func(PluginState) bool) PluginState {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, _ := r.PluginStatus(name)
		if ok(st) {
			return st
		}
		require.True(t, time.Now().Before(deadline), "plugin %s never settled: %+v", name, st)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginLifecycle(t *testing.T) {
	r := New(loadCtx(t), newHost(t), t.TempDir(), nil, nil)
	t.Cleanup(func() { r.Close(context.Background()) })
	broken := []byte("\x00asm\x01\x00\x00\x00")

	// A digest mismatch changes nothing.
	err := r.Install(Plugin{Name: "p", Version: "1", SHA256: digest([]byte("other")), Module: rogueWasm})
	require.ErrorIs(t, err, ErrSHA256Mismatch)
	_, installed := r.PluginStatus("p")
	assert.False(t, installed)
	assert.Zero(t, r.Generation("p"))

	// Version 1 loads and serves.
	require.NoError(t, r.Install(Plugin{Name: "p", Version: "1", SHA256: digest(rogueWasm), Module: rogueWasm, AllowedHosts: []string{"https://extra.example"}}))
	st := waitPlugin(t, r, "p", func(s PluginState) bool { return s.ServingVersion != "" })
	assert.Equal(t, "1", st.ServingVersion)
	d, err := r.Get("p")
	require.NoError(t, err)
	assert.Equal(t, "rogue", d.Describe().Name)
	gen := r.Generation("p")
	p, ok := r.PluginOf("p")
	require.True(t, ok)
	assert.Equal(t, []string{"https://extra.example"}, p.AllowedHosts)

	// Installing the same digest again is a no-op.
	require.NoError(t, r.Install(Plugin{Name: "p", Version: "1", SHA256: digest(rogueWasm), Module: rogueWasm}))
	assert.Equal(t, gen, r.Generation("p"))

	// A version that does not load leaves version 1 serving, and is not
	// retried while its digest stays the same.
	require.NoError(t, r.Install(Plugin{Name: "p", Version: "2", SHA256: digest(broken), Module: broken}))
	st = waitPlugin(t, r, "p", func(s PluginState) bool { return s.Err != nil })
	assert.Contains(t, st.Err.Error(), "pail_abi_v1")
	assert.Equal(t, "1", st.ServingVersion, "the old version still serves")
	d2, err := r.Get("p")
	require.NoError(t, err)
	assert.Same(t, d, d2)
	require.NoError(t, r.Install(Plugin{Name: "p", Version: "2", SHA256: digest(broken), Module: broken}))
	st, _ = r.PluginStatus("p")
	assert.Empty(t, st.PendingSHA256, "a digest known not to load is not compiled again")

	// Uninstall: the name is gone and cached connections see a new generation.
	r.Uninstall("p")
	_, installed = r.PluginStatus("p")
	assert.False(t, installed)
	assert.Greater(t, r.Generation("p"), gen)
	_, err = r.Load(loadCtx(t), "p")
	require.ErrorIs(t, err, ErrNotFound)
}
