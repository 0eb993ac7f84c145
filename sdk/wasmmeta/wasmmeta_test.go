package wasmmeta_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/internal/wasmbin"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

// A hand-assembled module: just enough of the binary format to hold the
// shapes the parser must read, without a toolchain.

// module has type 0 ()->(), type 1 (i32,i32)->i64; imports
// pail_host_v1.log (type 1... as (i32,i32)->i64 for the test) and a memory;
// one defined function of type 0 exported as pail_abi_v1 and one of type 1
// exported as describe; and the memory exported.
func module() []byte {
	types := wasmbin.Section(1, wasmbin.Vec(
		[]byte{0x60, 0, 0},
		wasmbin.Cat([]byte{0x60}, wasmbin.Vec([]byte{wasmbin.I32}, []byte{wasmbin.I32}), wasmbin.Vec([]byte{wasmbin.I64})),
	))
	imports := wasmbin.Section(2, wasmbin.Vec(
		wasmbin.Cat(wasmbin.Name("pail_host_v1"), wasmbin.Name("log"), []byte{0x00}, wasmbin.ULEB(1)),
		wasmbin.Cat(wasmbin.Name("env"), wasmbin.Name("mem"), []byte{0x02, 0x01}, wasmbin.ULEB(1), wasmbin.ULEB(2)),
	))
	funcs := wasmbin.Section(3, wasmbin.Vec(wasmbin.ULEB(0), wasmbin.ULEB(1)))
	exports := wasmbin.Section(7, wasmbin.Vec(
		wasmbin.Cat(wasmbin.Name("pail_abi_v1"), []byte{0x00}, wasmbin.ULEB(1)),
		wasmbin.Cat(wasmbin.Name("describe"), []byte{0x00}, wasmbin.ULEB(2)),
		wasmbin.Cat(wasmbin.Name("memory"), []byte{0x02}, wasmbin.ULEB(0)),
	))
	return wasmbin.Cat(wasmbin.Header, types, imports, funcs, exports)
}

var meta = wasmmeta.Metadata{
	Name: "versity", Version: "0.1.0", ABI: "1.1",
	Capabilities: []string{"buckets", "tagging"}, Operations: []string{"CheckProvider", "ObserveBucket"},
}

func TestAppendRead(t *testing.T) {
	base := module()
	out, err := wasmmeta.Append(base, meta)
	require.NoError(t, err)
	assert.Equal(t, base, out[:len(base)], "appending leaves the module's bytes in place")
	assert.Equal(t, module(), base, "the input is not modified")

	got, found, err := wasmmeta.Read(out)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, meta, got)

	// Appending again replaces the section instead of adding a second one.
	m2 := meta
	m2.Version = "0.2.0"
	out2, err := wasmmeta.Append(out, m2)
	require.NoError(t, err)
	got, found, err = wasmmeta.Read(out2)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "0.2.0", got.Version)
	assert.Len(t, out2, len(out), "one section, same size")

	// The rest of the module still parses the same.
	before, err := wasmmeta.Parse(base)
	require.NoError(t, err)
	after, err := wasmmeta.Parse(out2)
	require.NoError(t, err)
	assert.Equal(t, before.Imports, after.Imports)
	assert.Equal(t, before.Exports, after.Exports)
}

func TestRead(t *testing.T) {
	payload, err := json.Marshal(meta)
	require.NoError(t, err)
	tests := []struct {
		name      string
		wasm      []byte
		want      wasmmeta.Metadata
		found     bool
		errIs     error
		errSubstr string
	}{
		{name: "no section", wasm: module()},
		{name: "other custom sections only", wasm: wasmbin.Cat(module(), wasmbin.Custom("name", []byte{1, 2, 3}), wasmbin.Custom("producers", nil))},
		{name: "section at the end", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, payload)), want: meta, found: true},
		{name: "section right after the header", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Custom(wasmmeta.SectionName, payload), module()[8:]), want: meta, found: true},
		{
			name: "unknown fields are accepted (a later minor ABI may add some)",
			wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, []byte(`{"name":"x","abi":"1.2","future":true}`))),
			want: wasmmeta.Metadata{Name: "x", ABI: "1.2"}, found: true,
		},
		{name: "two sections", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, payload), wasmbin.Custom(wasmmeta.SectionName, payload)), found: true, errIs: wasmmeta.ErrDuplicateSec},
		{name: "payload not JSON", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, []byte("name=x"))), found: true, errIs: wasmmeta.ErrBadMetadata},
		{name: "trailing data", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, append(payload, []byte(`{}`)...))), found: true, errSubstr: "trailing data"},
		{name: "no name", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, []byte(`{"abi":"1.1"}`))), found: true, errSubstr: "no name"},
		{name: "no abi", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, []byte(`{"name":"x"}`))), found: true, errSubstr: "no abi version"},
		{name: "abi not MAJOR.MINOR", wasm: wasmbin.Cat(module(), wasmbin.Custom(wasmmeta.SectionName, []byte(`{"name":"x","abi":"v1"}`))), found: true, errSubstr: `abi "v1" is not MAJOR.MINOR`},
		{name: "empty input", wasm: nil, errIs: wasmmeta.ErrNotWasm},
		{name: "not wasm", wasm: []byte("#!/bin/sh\necho hi\n"), errIs: wasmmeta.ErrNotWasm},
		{name: "wasm binary version 2", wasm: []byte("\x00asm\x02\x00\x00\x00"), errIs: wasmmeta.ErrNotWasm},
		{name: "section size past the end", wasm: wasmbin.Cat(wasmbin.Header, []byte{0, 0x10}, wasmbin.Name("x")), errIs: wasmmeta.ErrMalformed},
		{name: "section size LEB128 too long", wasm: wasmbin.Cat(wasmbin.Header, []byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), errIs: wasmmeta.ErrMalformed},
		{name: "section size overflows 32 bits", wasm: wasmbin.Cat(wasmbin.Header, []byte{0, 0xff, 0xff, 0xff, 0xff, 0x7f}), errIs: wasmmeta.ErrMalformed},
		{name: "custom name longer than its section", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(0, []byte{0x05, 'a'})), errIs: wasmmeta.ErrMalformed},
		{name: "custom name not UTF-8", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(0, []byte{0x01, 0xff})), errIs: wasmmeta.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := wasmmeta.Read(tt.wasm)
			assert.Equal(t, tt.found, found, "found")
			switch {
			case tt.errIs != nil:
				require.ErrorIs(t, err, tt.errIs)
			case tt.errSubstr != "":
				require.ErrorIs(t, err, wasmmeta.ErrBadMetadata)
				assert.Contains(t, err.Error(), tt.errSubstr)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestAppendRefuses(t *testing.T) {
	_, err := wasmmeta.Append([]byte("nope"), meta)
	require.ErrorIs(t, err, wasmmeta.ErrNotWasm)
	_, err = wasmmeta.Append(module(), wasmmeta.Metadata{ABI: "1.1"})
	require.ErrorIs(t, err, wasmmeta.ErrBadMetadata, "metadata without a name is never written")
}

func TestFromInfo(t *testing.T) {
	m := wasmmeta.FromInfo(abi.DriverInfo{Name: "x", Version: "1", Capabilities: []string{"buckets"}})
	assert.Equal(t, abi.Version, m.ABI, "the guest fills in the ABI; so does FromInfo")
	assert.Equal(t, "1", m.Major())
	m = wasmmeta.FromInfo(abi.DriverInfo{Name: "x", ABI: "1.0", DefaultIAMEndpoint: "https://iam"})
	assert.Equal(t, "1.0", m.ABI)
	assert.Equal(t, "https://iam", m.DefaultIAMEndpoint)
}

func TestParse(t *testing.T) {
	m, err := wasmmeta.Parse(module())
	require.NoError(t, err)
	assert.Equal(t, []wasmmeta.Import{
		{Module: "pail_host_v1", Name: "log", Kind: wasmmeta.KindFunc, Type: &wasmmeta.FuncType{Params: []string{"i32", "i32"}, Results: []string{"i64"}}},
		{Module: "env", Name: "mem", Kind: wasmmeta.KindMemory},
	}, m.Imports)
	assert.Equal(t, []wasmmeta.Export{
		{Name: "pail_abi_v1", Kind: wasmmeta.KindFunc, Type: &wasmmeta.FuncType{Params: []string{}, Results: []string{}}},
		{Name: "describe", Kind: wasmmeta.KindFunc, Type: &wasmmeta.FuncType{Params: []string{"i32", "i32"}, Results: []string{"i64"}}},
		{Name: "memory", Kind: wasmmeta.KindMemory},
	}, m.Exports)
	e, ok := m.Export("describe")
	require.True(t, ok)
	assert.Equal(t, "(i32, i32) -> (i64)", e.Type.String())
	_, ok = m.Export("call")
	assert.False(t, ok)
}

func TestParseMalformed(t *testing.T) {
	types := wasmbin.Section(1, wasmbin.Vec([]byte{0x60, 0, 0}))
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{name: "bad type form", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(1, wasmbin.Vec([]byte{0x61, 0, 0}))), want: "form 0x61"},
		{name: "export of a missing function", wasm: wasmbin.Cat(wasmbin.Header, types, wasmbin.Section(7, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("f"), []byte{0x00}, wasmbin.ULEB(3))))), want: `export "f" names function 3 of 0`},
		{name: "function of a missing type", wasm: wasmbin.Cat(wasmbin.Header, types, wasmbin.Section(3, wasmbin.Vec(wasmbin.ULEB(9))), wasmbin.Section(7, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("f"), []byte{0x00}, wasmbin.ULEB(0))))), want: "type index 9 out of 1"},
		{name: "import of a missing type", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(2, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("m"), wasmbin.Name("f"), []byte{0x00}, wasmbin.ULEB(4))))), want: "type index 4 out of 0"},
		{name: "unknown import kind", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(2, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("m"), wasmbin.Name("f"), []byte{0x09})))), want: "unknown kind 0x09"},
		{name: "trailing bytes in a section", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(1, wasmbin.Cat(wasmbin.Vec([]byte{0x60, 0, 0}), []byte{0xaa}))), want: "1 trailing bytes"},
		{name: "vector count past the end", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(1, []byte{0x7f})), want: "unexpected end of data"},
		{name: "value type count past the end", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(1, []byte{0x01, 0x60, 0x7f})), want: "unexpected end of data"},
		{name: "64-bit memory", wasm: wasmbin.Cat(wasmbin.Header, wasmbin.Section(2, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("m"), wasmbin.Name("mem"), []byte{0x02, 0x04}, wasmbin.ULEB(1))))), want: "64-bit limits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wasmmeta.Parse(tt.wasm)
			require.ErrorIs(t, err, wasmmeta.ErrMalformed)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// FuzzParse feeds arbitrary bytes to every reader: none may panic, and a
// module Append accepts must read back the metadata it was given.
func FuzzParse(f *testing.F) {
	withMeta, err := wasmmeta.Append(module(), meta)
	require.NoError(f, err)
	f.Add(module())
	f.Add(withMeta)
	f.Add(wasmbin.Header)
	f.Add(wasmbin.Cat(wasmbin.Header, []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f}))
	f.Add(wasmbin.Cat(wasmbin.Header, wasmbin.Custom(wasmmeta.SectionName, []byte(`{"name":"x","abi":"1.0"}`))))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = wasmmeta.Read(b)
		_, _ = wasmmeta.Parse(b)
		out, err := wasmmeta.Append(b, meta)
		if err != nil {
			return
		}
		got, found, err := wasmmeta.Read(out)
		if err != nil || !found {
			t.Fatalf("Append produced a module Read rejects: found=%v err=%v", found, err)
		}
		if got.Name != meta.Name || got.ABI != meta.ABI {
			t.Fatalf("read back %+v, wrote %+v", got, meta)
		}
	})
}
