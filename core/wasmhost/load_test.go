package wasmhost_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/wasmhost"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

// allExports are the exports checkABI requires besides the marker.
var allExports = []string{"_initialize", "alloc", "free", "describe", "call"}

const tinyInfo = `{"name":"tiny","version":"0.0.1","abi":"1.0","capabilities":["buckets"],"operations":["CheckProvider","ObserveBucket"]}`

func TestLoadRefusals(t *testing.T) {
	nop := func(exports ...string) wasmFunc { return wasmFunc{exports: exports} }
	tests := []struct {
		name string
		wasm []byte
		want []string // substrings of the LoadError message
	}{
		{
			name: "garbage bytes",
			wasm: []byte("this is not wasm at all"),
			want: []string{"not a valid wasm module"},
		},
		{
			name: "empty input",
			wasm: nil,
			want: []string{"not a valid wasm module"},
		},
		{
			name: "truncated header",
			wasm: emptyModule[:6],
			want: []string{"not a valid wasm module"},
		},
		{
			name: "empty valid module",
			wasm: emptyModule,
			want: []string{"pail_abi_v1", "not a Pail driver"},
		},
		{
			// type ()->(); one function; export "pail_abi_v2"; empty body.
			name: "module of a future ABI",
			wasm: wasmModule{funcs: []wasmFunc{nop("pail_abi_v2")}}.bytes(),
			want: []string{"pail_abi_v2", "ABI v1", "pail_abi_v1"},
		},
		{
			name: "several future markers are all named",
			wasm: wasmModule{funcs: []wasmFunc{nop("pail_abi_v3", "pail_abi_v2")}}.bytes(),
			want: []string{"pail_abi_v2, pail_abi_v3"},
		},
		{
			name: "marker without the rest of the ABI",
			wasm: wasmModule{funcs: []wasmFunc{nop("pail_abi_v1")}}.bytes(),
			want: []string{"missing required exports: _initialize, alloc, free, describe, call"},
		},
		{
			name: "one export missing",
			wasm: wasmModule{funcs: []wasmFunc{nop("pail_abi_v1", "_initialize", "alloc", "free", "describe")}}.bytes(),
			want: []string{"missing required exports: call"},
		},
		{
			name: "import from a foreign module",
			wasm: wasmModule{
				imports: []wasmImport{{module: "env", field: "open_socket"}},
				funcs:   []wasmFunc{nop(append([]string{"pail_abi_v1"}, allExports...)...)},
			}.bytes(),
			want: []string{"env.open_socket", "pail_host_v1", "wasi_snapshot_preview1"},
		},
		{
			name: "import of an unknown host function",
			wasm: wasmModule{
				imports: []wasmImport{{module: "pail_host_v1", field: "exec"}},
				funcs:   []wasmFunc{nop(append([]string{"pail_abi_v1"}, allExports...)...)},
			}.bytes(),
			want: []string{"instantiate", "exec"},
		},
		{
			name: "_initialize traps",
			wasm: wasmModule{funcs: []wasmFunc{
				{body: []byte{opUnreachable}, exports: []string{"_initialize"}},
				nop("pail_abi_v1", "alloc", "free", "describe", "call"),
			}}.bytes(),
			want: []string{"instantiate", "unreachable"},
		},
		{
			name: "describe returns a buffer outside memory",
			wasm: tinyDriverWithDescribe(packed(0xffff_0000, 10)),
			want: []string{"describe handshake", "outside memory"},
		},
		{
			name: "describe returns nothing",
			wasm: tinyDriverWithDescribe(packed(0, 0)),
			want: []string{"describe handshake", "undecodable DriverInfo"},
		},
		{
			name: "describe traps",
			wasm: tinyDriverWithDescribe([]byte{opUnreachable}),
			want: []string{"describe handshake", "unreachable"},
		},
		{
			name: "describe reports another major ABI",
			wasm: tinyDriver(`{"name":"tiny","abi":"2.0"}`, callTraps, nil),
			want: []string{`describe reports ABI "2.0"`},
		},
		{
			name: "describe reports no ABI",
			wasm: tinyDriver(`{"name":"tiny"}`, callTraps, nil),
			want: []string{`describe reports ABI ""`},
		},
		{
			name: "describe reports no name",
			wasm: tinyDriver(`{"abi":"1.0"}`, callTraps, nil),
			want: []string{"describe returned no driver name"},
		},
	}
	h := newHost(t, wasmhost.NewConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := h.Load(context.Background(), "bad", tt.wasm)
			require.Error(t, err)
			assert.Nil(t, d)
			var le *wasmhost.LoadError
			require.ErrorAs(t, err, &le, "a refused module is a *LoadError: %v", err)
			for _, w := range tt.want {
				assert.Contains(t, le.Error(), w)
			}
			assert.Contains(t, err.Error(), "driver module refused")
		})
	}
}

// tinyDriverWithDescribe is tinyDriver with another describe body.
func tinyDriverWithDescribe(describe []byte) []byte {
	return wasmModule{
		funcs: []wasmFunc{
			{exports: []string{"pail_abi_v1", "_initialize"}},
			{params: []byte{i32}, results: []byte{i32}, body: i32Const(tinyAllocAt), exports: []string{"alloc"}},
			{params: []byte{i32}, exports: []string{"free"}},
			{params: []byte{i32, i32}, results: []byte{i64}, body: describe, exports: []string{"describe"}},
			{params: []byte{i32, i32}, results: []byte{i64}, body: callTraps, exports: []string{"call"}},
		},
		memoryPages: 1,
	}.bytes()
}

// Modules whose exports have the right names but the wrong shapes must be
// refused, not crash the host: Load runs on the registry's goroutine, where
// a panic takes down the operator.
func TestLoadRefusesMalformedExports(t *testing.T) {
	tests := []struct {
		name  string
		wasm  []byte
		wantE string
	}{
		{
			name: "alloc returns nothing",
			wasm: wasmModule{
				funcs: []wasmFunc{
					{exports: []string{"pail_abi_v1", "_initialize"}},
					{params: []byte{i32}, exports: []string{"alloc"}}, // (i32) -> () instead of (i32) -> i32
					{params: []byte{i32}, exports: []string{"free"}},
					{params: []byte{i32, i32}, results: []byte{i64}, body: packed(0, 0), exports: []string{"describe", "call"}},
				},
				memoryPages: 1,
			}.bytes(),
		},
		{
			name: "describe returns nothing",
			wasm: wasmModule{
				funcs: []wasmFunc{
					{exports: []string{"pail_abi_v1", "_initialize"}},
					{params: []byte{i32}, results: []byte{i32}, body: i32Const(tinyAllocAt), exports: []string{"alloc"}},
					{params: []byte{i32}, exports: []string{"free"}},
					{params: []byte{i32, i32}, exports: []string{"describe", "call"}}, // (i32 i32) -> () instead of -> i64
				},
				memoryPages: 1,
			}.bytes(),
		},
		{
			name: "no linear memory",
			wasm: wasmModule{
				funcs: []wasmFunc{
					{exports: []string{"pail_abi_v1", "_initialize"}},
					{params: []byte{i32}, results: []byte{i32}, body: i32Const(16), exports: []string{"alloc"}},
					{params: []byte{i32}, exports: []string{"free"}},
					{params: []byte{i32, i32}, results: []byte{i64}, body: packed(0, 0), exports: []string{"describe", "call"}},
				},
			}.bytes(),
		},
		{
			name: "alloc takes no argument",
			wasm: wasmModule{
				funcs: []wasmFunc{
					{exports: []string{"pail_abi_v1", "_initialize"}},
					{results: []byte{i32}, body: i32Const(16), exports: []string{"alloc"}}, // () -> i32
					{params: []byte{i32}, exports: []string{"free"}},
					{params: []byte{i32, i32}, results: []byte{i64}, body: packed(0, 0), exports: []string{"describe", "call"}},
				},
				memoryPages: 1,
			}.bytes(),
			wantE: "export alloc has signature () -> (i32), want (i32) -> (i32)",
		},
	}
	h := newHost(t, wasmhost.NewConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() {
				var d *wasmhost.Driver
				d, err = h.Load(context.Background(), "malformed", tt.wasm)
				assert.Nil(t, d)
			})
			var le *wasmhost.LoadError
			require.ErrorAs(t, err, &le)
			if tt.wantE != "" {
				assert.Contains(t, err.Error(), tt.wantE)
			}
		})
	}
}

func TestLoadTinyDriver(t *testing.T) {
	d := load(t, wasmhost.NewConfig(), "tiny", tinyDriver(tinyInfo, callTraps, nil))
	assert.Equal(t, "tiny", d.Info().Name)
	assert.EqualValues(t, 1, d.Instances())
}

func TestCompilationCacheOnDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	wasm := tinyDriver(tinyInfo, callTraps, nil)
	for i := range 2 { // the second Host finds the first one's compiled code
		h, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(dir))
		require.NoError(t, err)
		d, err := h.Load(context.Background(), "tiny", wasm)
		require.NoError(t, err, "host %d", i)
		assert.Equal(t, "tiny", d.Info().Name)
		require.NoError(t, d.Close(context.Background()))
		require.NoError(t, h.Close(context.Background()))
	}
	var files int
	require.NoError(t, filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files++
		}
		return err
	}))
	assert.Positive(t, files, "compiled code is written to the cache directory")
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), info.Mode().Perm(), "the cache directory is private to the operator")
}

func TestNewHostCacheDirError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(filepath.Join(file, "sub")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "compilation cache")
}

// withMeta appends a pail.driver custom section holding payload, as
// `pail-driver embed` does, without validating it.
func withMeta(wasm []byte, payload string) []byte {
	content := append(name(wasmmeta.SectionName), payload...)
	return append(bytes.Clone(wasm), section(0, content)...)
}

// The pail.driver section is read before compiling and must agree with the
// describe handshake; a module without one still loads.
func TestLoadMetadataSection(t *testing.T) {
	tiny := tinyDriver(tinyInfo, callTraps, nil)
	stamped, err := wasmmeta.Append(tiny, wasmmeta.Metadata{Name: "tiny", Version: "0.0.1", ABI: "1.0", Capabilities: []string{"buckets"}})
	require.NoError(t, err)
	tests := []struct {
		name string
		wasm []byte
		want []string // substrings of the LoadError; none: it loads
	}{
		{name: "no section", wasm: tiny},
		{name: "section agrees", wasm: stamped},
		{
			name: "section agrees on name and major, not on minor or version",
			wasm: withMeta(tiny, `{"name":"tiny","version":"9.9.9","abi":"1.7"}`),
		},
		{
			name: "section names another driver",
			wasm: withMeta(tiny, `{"name":"minio","abi":"1.1"}`),
			want: []string{"pail.driver metadata section disagrees with the describe handshake", `name "minio" in the section, "tiny" from describe`},
		},
		{
			name: "section declares another major ABI",
			wasm: withMeta(tiny, `{"name":"tiny","abi":"2.0"}`),
			want: []string{`pail.driver metadata section declares ABI "2.0", this host speaks 1.1`},
		},
		{
			// Refused before compiling: the body of the module is garbage
			// that the compiler would otherwise reject with another message.
			name: "another major ABI is refused before compiling",
			wasm: append(withMeta(emptyModule, `{"name":"tiny","abi":"2.0"}`), section(secCode, []byte{0xff})...),
			want: []string{`declares ABI "2.0"`},
		},
		{
			name: "section is not JSON",
			wasm: withMeta(tiny, `name=tiny`),
			want: []string{"pail.driver metadata section: bad pail.driver metadata"},
		},
		{
			name: "section has no name",
			wasm: withMeta(tiny, `{"abi":"1.0"}`),
			want: []string{"pail.driver metadata section", "no name"},
		},
		{
			name: "two sections",
			wasm: withMeta(stamped, `{"name":"tiny","abi":"1.0"}`),
			want: []string{"more than one pail.driver section"},
		},
		{
			name: "section size runs past the end",
			wasm: append(bytes.Clone(tiny), 0x00, 0x7f, 0x01, 'x'),
			want: []string{"not a valid wasm module", "malformed wasm module"},
		},
	}
	h := newHost(t, wasmhost.NewConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := h.Load(context.Background(), "tiny", tt.wasm)
			if len(tt.want) == 0 {
				require.NoError(t, err)
				assert.Equal(t, "tiny", d.Info().Name)
				require.NoError(t, d.Close(context.Background()))
				return
			}
			assert.Nil(t, d)
			var le *wasmhost.LoadError
			require.ErrorAs(t, err, &le, "%v", err)
			for _, w := range tt.want {
				assert.Contains(t, le.Error(), w)
			}
		})
	}
}
