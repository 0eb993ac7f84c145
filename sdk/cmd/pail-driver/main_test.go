package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/internal/wasmbin"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

// The tests run pail-driver in-process (run) on real modules: the minimal
// driver of testdata/, built for wasip1 here, and the built-in drivers of
// bin/drivers that `make plugins` built and stamped.

func cli(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func buildMinimal(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "minimal.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./testdata/minimal")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the minimal driver: %s", b)
	return out
}

// metaOf runs the minimal driver natively, as `make plugins` does for the
// built-in ones, to get the metadata to embed.
func metaOf(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "run", "./testdata/minimal")
	b, err := cmd.Output()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "meta.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func write(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.wasm")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module: skipped in -short mode")
	}
	raw := buildMinimal(t)
	rawBytes, err := os.ReadFile(raw)
	require.NoError(t, err)

	// embed: the stamped copy goes to -o; the input is left alone.
	stamped := filepath.Join(t.TempDir(), "stamped.wasm")
	code, stdout, stderr := cli("embed", "--meta", metaOf(t), "-o", stamped, raw)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "minimal 0.0.1 (ABI 1.1) in section pail.driver")
	after, err := os.ReadFile(raw)
	require.NoError(t, err)
	assert.Equal(t, rawBytes, after, "embed -o leaves its input alone")
	good, err := os.ReadFile(stamped)
	require.NoError(t, err)
	md, found, err := wasmmeta.Read(good)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "minimal", md.Name)

	future, err := wasmmeta.Append(rawBytes, wasmmeta.Metadata{Name: "minimal", ABI: "2.0"})
	require.NoError(t, err)
	keysWithoutOps, err := wasmmeta.Append(rawBytes, wasmmeta.Metadata{Name: "minimal", ABI: "1.1", Capabilities: []string{"accessKeys"}, Operations: []string{"ObserveUser"}})
	require.NoError(t, err)
	// A module with the marker and a foreign import, missing call, and
	// describe of the wrong shape.
	rogue := wasmbin.Cat(wasmbin.Header,
		// types: 0 () -> (), 1 (i32) -> (i32), 2 (i32, i32) -> ()
		wasmbin.Section(1, wasmbin.Vec([]byte{0x60, 0, 0}, wasmbin.Cat([]byte{0x60}, wasmbin.Vec([]byte{wasmbin.I32}), wasmbin.Vec([]byte{wasmbin.I32})), wasmbin.Cat([]byte{0x60}, wasmbin.Vec([]byte{wasmbin.I32}, []byte{wasmbin.I32}), wasmbin.Vec()))),
		wasmbin.Section(2, wasmbin.Vec(wasmbin.Cat(wasmbin.Name("env"), wasmbin.Name("open_socket"), []byte{0x00}, wasmbin.ULEB(0)), wasmbin.Cat(wasmbin.Name("pail_host_v1"), wasmbin.Name("exec"), []byte{0x00}, wasmbin.ULEB(0)))),
		wasmbin.Section(3, wasmbin.Vec(wasmbin.ULEB(0), wasmbin.ULEB(2), wasmbin.ULEB(1))), // functions 2, 3, 4 (0 and 1 are imported)
		wasmbin.Section(7, wasmbin.Vec(
			wasmbin.Cat(wasmbin.Name("pail_abi_v1"), []byte{0x00}, wasmbin.ULEB(2)), wasmbin.Cat(wasmbin.Name("_initialize"), []byte{0x00}, wasmbin.ULEB(2)),
			wasmbin.Cat(wasmbin.Name("alloc"), []byte{0x00}, wasmbin.ULEB(3)), wasmbin.Cat(wasmbin.Name("free"), []byte{0x00}, wasmbin.ULEB(4)),
			wasmbin.Cat(wasmbin.Name("describe"), []byte{0x00}, wasmbin.ULEB(2)), wasmbin.Cat(wasmbin.Name("pail_abi_v2"), []byte{0x00}, wasmbin.ULEB(2)),
		)),
	)
	rogue, err = wasmmeta.Append(rogue, wasmmeta.Metadata{Name: "rogue", ABI: "1.0"})
	require.NoError(t, err)

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    []string
		notWantOut []string
	}{
		{name: "verify a stamped module", args: []string{"verify", stamped}, wantCode: exitOK,
			wantOut: []string{"ok    metadata section pail.driver", "ok    marker export pail_abi_v1", "ok    required exports", "ok    imports only from", "all 5 checks passed"}},
		{name: "verify with the right sha256", args: []string{"verify", "--sha256", strings.ToUpper(sha(good)), stamped}, wantCode: exitOK,
			wantOut: []string{"ok    sha256", "all 6 checks passed"}},
		{name: "verify with the sha256 after the file", args: []string{"verify", stamped, "--sha256", sha(good)}, wantCode: exitOK,
			wantOut: []string{"ok    sha256", "all 6 checks passed"}},
		{name: "verify two files", args: []string{"verify", stamped, raw}, wantCode: exitUsage, wantErr: []string{"want exactly one module file, got 2"}},
		{name: "verify with an unknown flag", args: []string{"verify", "--md5", "x", stamped}, wantCode: exitUsage, wantErr: []string{"flag provided but not defined: -md5"}},
		{name: "verify with another sha256", args: []string{"verify", "--sha256", sha(rawBytes), stamped}, wantCode: exitProblems,
			wantOut: []string{"FAIL  sha256: module is " + sha(good) + ", want " + sha(rawBytes)}, wantErr: []string{"1 of 6 checks failed"}},
		{name: "verify a module without metadata", args: []string{"verify", raw}, wantCode: exitProblems,
			wantOut: []string{"FAIL  metadata section pail.driver: missing", "ok    required exports"}},
		{name: "verify a module of another major ABI", args: []string{"verify", write(t, future)}, wantCode: exitProblems,
			wantOut: []string{`FAIL  metadata section pail.driver: declares ABI "2.0"`}},
		{name: "verify accessKeys without its operations", args: []string{"verify", write(t, keysWithoutOps)}, wantCode: exitProblems,
			wantOut: []string{"declares accessKeys but not the operation ApplyUser", "not the operation DeleteAccessKey"}, notWantOut: []string{"operation ObserveUser"}},
		{name: "verify a rogue module", args: []string{"verify", write(t, rogue)}, wantCode: exitProblems,
			wantOut: []string{
				"FAIL  marker export pail_abi_v1: module also exports pail_abi_v2",
				"FAIL  required exports: alloc has signature (i32, i32) -> (), want (i32) -> (i32)",
				"FAIL  required exports: free has signature (i32) -> (i32), want (i32) -> ()",
				"FAIL  required exports: describe has signature () -> (), want (i32, i32) -> (i64)",
				"FAIL  required exports: call is missing",
				"FAIL  required exports: no exported linear memory",
				"env.open_socket: a driver may import only pail_host_v1 and wasi_snapshot_preview1",
				"pail_host_v1.exec is not a host function of ABI v1",
			}},
		{name: "verify garbage", args: []string{"verify", write(t, []byte("MZ\x90\x00"))}, wantCode: exitProblems,
			wantOut: []string{"FAIL  wasm structure: not a wasm module"}},
		{name: "verify a missing file", args: []string{"verify", filepath.Join(t.TempDir(), "nope.wasm")}, wantCode: exitUsage, wantErr: []string{"no such file"}},
		{name: "verify without a file", args: []string{"verify"}, wantCode: exitUsage, wantErr: []string{"want exactly one module file"}},
		{name: "inspect", args: []string{"inspect", stamped}, wantCode: exitOK,
			wantOut: []string{"size:    " + strconv.Itoa(len(good)) + " bytes", "sha256:  " + sha(good), `"name": "minimal"`, "_initialize func () -> ()",
				"describe func (i32, i32) -> (i64)", "memory memory", "wasi_snapshot_preview1.", "custom sections: ", "pail.driver ("}},
		{name: "inspect a module without metadata", args: []string{"inspect", raw}, wantCode: exitOK, wantOut: []string{"metadata: none"}},
		{name: "inspect garbage", args: []string{"inspect", write(t, []byte("nope"))}, wantCode: exitProblems, wantErr: []string{"not a wasm module"}},
		{name: "embed without --meta", args: []string{"embed", raw}, wantCode: exitUsage, wantErr: []string{"--meta is required"}},
		{name: "embed metadata without a name", args: []string{"embed", "--meta", write(t, []byte(`{"abi":"1.1"}`)), raw}, wantCode: exitProblems, wantErr: []string{"no name"}},
		{name: "no command", args: nil, wantCode: exitUsage, wantErr: []string{"usage:"}},
		{name: "unknown command", args: []string{"sign"}, wantCode: exitUsage, wantErr: []string{`unknown command "sign"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(tt.args...)
			assert.Equal(t, tt.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, w := range tt.wantOut {
				assert.Contains(t, stdout, w)
			}
			for _, w := range tt.notWantOut {
				assert.NotContains(t, stdout, w)
			}
			for _, w := range tt.wantErr {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

// TestBuiltInDrivers verifies the modules `make plugins` built and stamped.
func TestBuiltInDrivers(t *testing.T) {
	dir := os.Getenv("PAIL_DRIVER_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "bin", "drivers")
	}
	for _, name := range []string{"minio", "aws", "wasabi"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".wasm")
			b, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				t.Skipf("%s is not built; run `make plugins`", path)
			}
			require.NoError(t, err)
			code, stdout, stderr := cli("verify", "--sha256", sha(b), path)
			assert.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "all 6 checks passed")
			code, stdout, _ = cli("inspect", path)
			assert.Equal(t, exitOK, code)
			assert.Contains(t, stdout, `"name": "`+name+`"`)
			assert.Contains(t, stdout, "pail_host_v1.http_request func (i32, i32) -> (i64)", "a real driver calls the host's HTTP")
		})
	}
}

// A few bytes of the binary format for the hand-made rogue module.
