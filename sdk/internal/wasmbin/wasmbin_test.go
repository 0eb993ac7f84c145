package wasmbin_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/internal/wasmbin"
)

func TestEncoding(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want []byte
	}{
		{"ULEB 0", wasmbin.ULEB(0), []byte{0}},
		{"ULEB 127", wasmbin.ULEB(127), []byte{0x7f}},
		{"ULEB 128", wasmbin.ULEB(128), []byte{0x80, 0x01}},
		{"ULEB 624485", wasmbin.ULEB(624485), []byte{0xe5, 0x8e, 0x26}},
		{"Name", wasmbin.Name("ab"), []byte{2, 'a', 'b'}},
		{"Vec", wasmbin.Vec([]byte{1}, []byte{2, 3}), []byte{2, 1, 2, 3}},
		{"Section", wasmbin.Section(7, []byte{9, 9}), []byte{7, 2, 9, 9}},
		{"Custom", wasmbin.Custom("n", []byte{5}), []byte{0, 3, 1, 'n', 5}},
	} {
		assert.Equal(t, tt.want, tt.got, tt.name)
	}
}
