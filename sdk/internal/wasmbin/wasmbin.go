// Package wasmbin encodes the few pieces of the WebAssembly binary format
// the sdk writes (wasmmeta's custom section) and its tests hand-assemble
// modules from, so the encoding is written once.
package wasmbin

import "bytes"

// Header is the magic number and version 1 that open every module.
var Header = []byte("\x00asm\x01\x00\x00\x00")

// Value types.
const (
	I32 = 0x7f
	I64 = 0x7e
)

// ULEB is v in unsigned LEB128.
func ULEB(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// Name is s as a name: its length, then its bytes.
func Name(s string) []byte { return append(ULEB(uint64(len(s))), s...) }

// Vec is a vector of the encoded items: their count, then each.
func Vec(items ...[]byte) []byte { return append(ULEB(uint64(len(items))), bytes.Join(items, nil)...) }

// Cat concatenates parts.
func Cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Section is the section id with its content.
func Section(id byte, content []byte) []byte {
	return Cat([]byte{id}, ULEB(uint64(len(content))), content)
}

// Custom is the custom section called name holding payload.
func Custom(name string, payload []byte) []byte { return Section(0, Cat(Name(name), payload)) }
