package wasmdrivers

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
	"github.com/pail-dev/pail/sdk/wasmmeta"
)

// exampleModule returns the third-party example driver
// (examples/custom-driver) as `make example-driver` builds and stamps it to
// bin/examples/versity.wasm, building and stamping it the same way here
// when it is missing: its own module, GOWORK=off, plain `go build`.
func exampleModule(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(repoRoot(), "bin", "examples", "versity.wasm")
	if b, err := os.ReadFile(out); err == nil {
		return b
	}
	src := filepath.Join(repoRoot(), "examples", "custom-driver")
	tmp := filepath.Join(t.TempDir(), "versity.wasm")
	build := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", tmp, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "build the example driver: %s", b)
	describe := exec.Command("go", "run", ".")
	describe.Dir = src
	describe.Env = append(os.Environ(), "GOWORK=off")
	metaJSON, err := describe.Output()
	require.NoError(t, err, "the example driver's metadata")
	meta, err := wasmmeta.Decode(metaJSON)
	require.NoError(t, err)
	wasm, err := os.ReadFile(tmp)
	require.NoError(t, err)
	wasm, err = wasmmeta.Append(wasm, meta)
	require.NoError(t, err)
	return wasm
}

// TestExampleDriverThroughWasm loads the third-party example driver the way
// the operator loads any driver (core/wasmhost: marker, exports, imports,
// metadata section against the handshake) and runs the conformance suite on
// it against a real versitygw posix gateway, through the host's HTTP policy.
func TestExampleDriverThroughWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	wasm := exampleModule(t)
	meta, found, err := wasmmeta.Read(wasm)
	require.NoError(t, err)
	require.True(t, found, "the example module carries its metadata section")
	tgt := s3compattest.TargetForTest(t)
	d := load(t, "versity", wasm)
	assert.Equal(t, meta.Name, d.Describe().Name)
	assert.ElementsMatch(t, meta.Capabilities, d.Describe().Capabilities, "the section declares what the handshake declares")
	drivertest.Run(t, policed{d}, drivertest.Target{Server: tgt.Server, Provider: tgt.Provider, Objects: s3compattest.Objects{}})
}
