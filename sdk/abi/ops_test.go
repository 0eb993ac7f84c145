package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// TestOperationTable pins the table: the wire names in the order drivers
// list them, and the capability each comes with. Everything else is
// derived from it, so this is the one place a test spells it out.
func TestOperationTable(t *testing.T) {
	var names []string
	caps := map[string]string{}
	for _, op := range abi.Operations() {
		names = append(names, op.Name)
		caps[op.Name] = op.Capability
	}
	assert.Equal(t, []string{
		"CheckProvider", "ObserveBucket", "ApplyBucket", "DeleteBucket",
		"ObserveUser", "ApplyUser", "DeleteUser", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
	}, names)
	assert.Equal(t, []string{"CheckProvider", "ObserveBucket", "ApplyBucket", "DeleteBucket"}, abi.OperationsOf(abi.CapBuckets))
	assert.Equal(t, names[4:], abi.OperationsOf(abi.CapAccessKeys))
	assert.Equal(t, names, abi.OperationsOf(abi.CapAccessKeys, abi.CapBuckets), "table order, whatever the order of caps")
	assert.Empty(t, abi.OperationsOf(abi.SubVersioning), "a capability that brings no operation")
	for _, n := range names {
		op, ok := abi.Lookup(n)
		require.True(t, ok, n)
		assert.Equal(t, n, op.Name)
		assert.Equal(t, n == abi.OpCheckProvider, op.OptionalResult, "%s: only CheckProvider's result is optional", n)
		assert.Contains(t, []string{abi.CapBuckets, abi.CapAccessKeys}, caps[n])
	}
	for _, n := range []string{"", "observebucket", "Describe", "ObserveBucket "} {
		_, ok := abi.Lookup(n)
		assert.False(t, ok, "%q is no operation", n)
	}
	ops := abi.Operations()
	ops[0].Name = "changed"
	assert.Equal(t, abi.OpCheckProvider, abi.Operations()[0].Name, "Operations returns a copy")
}

func TestOpArgs(t *testing.T) {
	b := abi.BucketArgs{Name: "b1", Force: true}
	raw, err := abi.DeleteBucket.EncodeArgs(b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"b1","force":true}`, string(raw))
	got, err := abi.DeleteBucket.DecodeArgs(raw)
	require.NoError(t, err)
	assert.Equal(t, b, got)

	raw, err = abi.CheckProvider.EncodeArgs(abi.BucketArgs{})
	require.NoError(t, err)
	assert.Nil(t, raw, "zero args are sent as none")
	got, err = abi.ApplyUser.DecodeArgs(nil)
	require.NoError(t, err)
	assert.Equal(t, abi.UserArgs{}, got, "no args read as zero")

	_, err = abi.ObserveUser.EncodeArgs(b)
	require.Error(t, err, "args of another operation's type")
	assert.Contains(t, err.Error(), abi.OpObserveUser)

	_, err = abi.CreateAccessKey.DecodeArgs(json.RawMessage(`{"user":5}`))
	require.Error(t, err)
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
	assert.Contains(t, err.Error(), abi.OpCreateAccessKey)
}

func TestOpResults(t *testing.T) {
	tests := []struct {
		name    string
		op      abi.Operation
		res     any
		wire    string // "" means no result is sent
		decoded any    // what the wire decodes to
	}{
		{"a result", abi.ObserveBucket.Operation, abi.BucketObservation{Exists: true}, `{"exists":true}`, abi.BucketObservation{Exists: true}},
		{"a zero required result is sent", abi.ObserveUser.Operation, abi.UserObservation{}, `{"exists":false}`, abi.UserObservation{}},
		{"a secret crosses verbatim", abi.CreateAccessKey.Operation, abi.NewAccessKey{ID: "k", Secret: "s"}, `{"id":"k","secret":"s"}`, abi.NewAccessKey{ID: "k", Secret: "s"}},
		{"an optional result", abi.CheckProvider.Operation, abi.ProviderCheck{Account: "a"}, `{"account":"a"}`, abi.ProviderCheck{Account: "a"}},
		{"a zero optional result is none", abi.CheckProvider.Operation, abi.ProviderCheck{}, "", abi.ProviderCheck{}},
		{"no result", abi.ApplyBucket.Operation, abi.None{}, "", abi.None{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := tt.op.EncodeResult(tt.res)
			require.NoError(t, err)
			if tt.wire == "" {
				assert.Nil(t, raw)
			} else {
				assert.JSONEq(t, tt.wire, string(raw))
			}
			got, err := tt.op.DecodeResult(raw)
			require.NoError(t, err)
			assert.Equal(t, tt.decoded, got)
		})
	}
}

func TestOpDecodeResult(t *testing.T) {
	tests := []struct {
		name    string
		op      abi.Operation
		raw     string
		want    any
		wantErr bool
	}{
		{"optional, null", abi.CheckProvider.Operation, `null`, abi.ProviderCheck{}, false},
		{"optional, absent", abi.CheckProvider.Operation, ``, abi.ProviderCheck{}, false},
		{"optional, garbage", abi.CheckProvider.Operation, `{"account":`, nil, true},
		{"required, absent", abi.ObserveBucket.Operation, ``, nil, true},
		{"required, wrong type", abi.ObserveBucket.Operation, `{"exists":"yes"}`, nil, true},
		{"required, null reads as zero", abi.ObserveBucket.Operation, `null`, abi.BucketObservation{}, false},
		{"none ignores what it is sent", abi.DeleteUser.Operation, `{"whatever":1}`, abi.None{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op.DecodeResult(json.RawMessage(tt.raw))
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.op.Name)
				assert.Contains(t, err.Error(), "undecodable")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := abi.ObserveBucket.EncodeResult(abi.None{})
	require.Error(t, err, "a result of another type")
}
