package wasmhost_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/abi"
)

// TestEveryOperationThroughTheModule drives every operation of the abi
// table through the host's typed method, its one call path, a real wasm
// module (rogue, which serves them all) and back: each reaches the module,
// which makes its request through the host, and its result comes back
// whole. An operation added to the table without a host path fails here.
func TestEveryOperationThroughTheModule(t *testing.T) {
	d := load(t, wasmhost.NewConfig(), "rogue", rogueWasm)
	srv, hits := countingServer(t)
	ctx, hop := opContext(t, srv.URL)
	// Decodes as every args type, with fields the echoes carry back.
	sample := json.RawMessage(`{"name":"n1","user":"u1","id":"AK1","status":"Inactive",
		"policy":{"name":"pol","document":"{}"},"tags":{"tags":{"k":"v"}}}`)
	results := map[string]any{
		abi.OpObserveBucket: abi.BucketObservation{Exists: true},
		abi.OpObserveUser: abi.UserObservation{Exists: true, Policy: &abi.UserPolicyDoc{Name: "pol", Document: "{}"},
			Tags: &abi.Tagging{Tags: map[string]string{"k": "v"}}},
		abi.OpCreateAccessKey: abi.NewAccessKey{ID: "key-of-u1", Secret: "rogue-secret"},
	}
	for _, op := range abi.Operations() {
		name := op.Name
		t.Run(name, func(t *testing.T) {
			require.True(t, d.Info().Implements(name), "rogue declares %s", name)
			m := reflect.ValueOf(d).MethodByName(name)
			require.True(t, m.IsValid(), "*wasmhost.Driver has no method %s", name)
			args, err := op.DecodeArgs(sample)
			require.NoError(t, err)
			in := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(provider(srv.URL + "/" + name))}
			if m.Type().NumIn() == 3 {
				in = append(in, reflect.ValueOf(args))
			}
			before := hits.Load()
			out := m.Call(in)
			require.Nil(t, out[len(out)-1].Interface(), "%s fails", name)
			assert.Equal(t, before+1, hits.Load(), "%s ran in the module and made its request", name)
			if want, ok := results[name]; ok {
				require.Len(t, out, 2, "%s answers a result", name)
				assert.Equal(t, want, out[0].Interface())
			}
		})
	}
	assert.EqualValues(t, len(abi.Operations()), hop.Calls(), "every request went through the Op")
	assert.Zero(t, d.Traps())

	res, err := d.CheckProviderAccount(ctx, provider(srv.URL))
	require.NoError(t, err)
	assert.Equal(t, abi.ProviderCheck{}, res, "rogue reports no account")
}
