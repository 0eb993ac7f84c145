package wasmhost_test

// A tiny WebAssembly assembler for hand-made test modules: just enough of the
// binary format (https://webassembly.github.io/spec/core/binary/) to build
// modules that are broken in one precise way, without a toolchain.

import (
	"bytes"
	"maps"
	"slices"
)

// Value types.
const (
	i32 = 0x7f
	i64 = 0x7e
)

// Opcodes used by the test modules.
const (
	opUnreachable = 0x00
	opLoop        = 0x03 // followed by a block type; 0x40 is "no result"
	opBr          = 0x0c // followed by a label index
	opEnd         = 0x0b
	opCall        = 0x10 // followed by a function index
	opDrop        = 0x1a
	opI32Const    = 0x41 // followed by a signed LEB128
	opI64Const    = 0x42 // followed by a signed LEB128
)

// Section ids, in the order they must appear.
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secMemory   = 5
	secExport   = 7
	secCode     = 10
	secData     = 11
)

// emptyModule is the smallest valid module: the magic "\0asm" and version 1.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

func uleb(v uint64) []byte {
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

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// vec is a length-prefixed sequence of already-encoded items.
func vec(items ...[]byte) []byte {
	return append(uleb(uint64(len(items))), bytes.Join(items, nil)...)
}

// name is a length-prefixed UTF-8 string.
func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func section(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(content)))...), content...)
}

// funcType is 0x60, the parameter types, then the result types.
func funcType(params, results []byte) []byte {
	return append(append([]byte{0x60}, vec(each(params)...)...), vec(each(results)...)...)
}

func each(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

func i32Const(v int32) []byte { return append([]byte{opI32Const}, sleb(int64(v))...) }
func i64Const(v int64) []byte { return append([]byte{opI64Const}, sleb(v)...) }

// packed returns the instruction pushing abi.Pack(ptr, size) as an i64.
func packed(ptr, size uint32) []byte { return i64Const(int64(uint64(ptr)<<32 | uint64(size))) }

func code(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type wasmImport struct {
	module, field   string
	params, results []byte
}

type wasmFunc struct {
	params, results []byte
	body            []byte // instructions, without the final end
	exports         []string
}

type wasmModule struct {
	imports     []wasmImport // functions only; they take indices 0..len-1
	funcs       []wasmFunc
	memoryPages int // 0: no memory at all
	data        map[uint32][]byte
}

func (m wasmModule) bytes() []byte {
	var types, imports, funcs, exports, bodies, data [][]byte
	for _, im := range m.imports {
		imports = append(imports, code(name(im.module), name(im.field), []byte{0x00}, uleb(uint64(len(types)))))
		types = append(types, funcType(im.params, im.results))
	}
	for i, f := range m.funcs {
		idx := uint64(len(m.imports) + i)
		funcs = append(funcs, uleb(uint64(len(types))))
		types = append(types, funcType(f.params, f.results))
		for _, e := range f.exports {
			exports = append(exports, code(name(e), []byte{0x00}, uleb(idx))) // 0x00: function export
		}
		body := code([]byte{0x00}, f.body, []byte{opEnd}) // no local declarations
		bodies = append(bodies, append(uleb(uint64(len(body))), body...))
	}
	if m.memoryPages > 0 {
		exports = append(exports, code(name("memory"), []byte{0x02, 0x00})) // 0x02: memory export, index 0
	}
	offsets := make([]uint32, 0, len(m.data))
	for off := range m.data {
		offsets = append(offsets, off)
	}
	slices.Sort(offsets)
	for _, off := range offsets {
		// 0x00: active segment in memory 0 at the constant offset expression.
		data = append(data, code([]byte{0x00}, i32Const(int32(off)), []byte{opEnd}, name(string(m.data[off]))))
	}

	out := bytes.Clone(emptyModule)
	if len(types) > 0 {
		out = append(out, section(secType, vec(types...))...)
	}
	if len(imports) > 0 {
		out = append(out, section(secImport, vec(imports...))...)
	}
	if len(funcs) > 0 {
		out = append(out, section(secFunction, vec(funcs...))...)
	}
	if m.memoryPages > 0 {
		out = append(out, section(secMemory, vec(code([]byte{0x00}, uleb(uint64(m.memoryPages)))))...) // 0x00: min only
	}
	if len(exports) > 0 {
		out = append(out, section(secExport, vec(exports...))...)
	}
	if len(bodies) > 0 {
		out = append(out, section(secCode, vec(bodies...))...)
	}
	if len(data) > 0 {
		out = append(out, section(secData, vec(data...))...)
	}
	return out
}

// Layout of a tiny driver's single 64 KiB page.
const (
	tinyInfoAt     = 0x0400 // describe's DriverInfo JSON
	tinyResponseAt = 0x1000 // a canned call response
	tinyLogAt      = 0x2000 // a canned LogRecord
	tinyAllocAt    = 0x8000 // every alloc returns this; requests are far below 32 KiB
)

// tinyDriver is a complete ABI v1 module without Go: describe answers info,
// alloc always hands out tinyAllocAt, free does nothing and call runs the
// given instructions, which must leave the packed i64 result on the stack.
// Function 0 is the imported pail_host_v1.log.
func tinyDriver(info string, call []byte, data map[uint32][]byte) []byte {
	d := map[uint32][]byte{tinyInfoAt: []byte(info)}
	maps.Copy(d, data)
	return wasmModule{
		imports: []wasmImport{{module: "pail_host_v1", field: "log", params: []byte{i32, i32}}},
		funcs: []wasmFunc{
			{exports: []string{"pail_abi_v1", "_initialize"}},
			{params: []byte{i32}, results: []byte{i32}, body: i32Const(tinyAllocAt), exports: []string{"alloc"}},
			{params: []byte{i32}, exports: []string{"free"}},
			{params: []byte{i32, i32}, results: []byte{i64}, body: packed(tinyInfoAt, uint32(len(info))), exports: []string{"describe"}},
			{params: []byte{i32, i32}, results: []byte{i64}, body: call, exports: []string{"call"}},
		},
		memoryPages: 1,
		data:        d,
	}.bytes()
}

// Call bodies for tinyDriver.
var (
	// callTraps executes unreachable: any call that reaches the module traps.
	callTraps = []byte{opUnreachable}
	// callSpins loops forever.
	callSpins = code([]byte{opLoop, 0x40, opBr, 0x00, opEnd}, []byte{opUnreachable})
	// callOutsideMemory returns a buffer that starts past the only page.
	callOutsideMemory = packed(0xffff_0000, 16)
)

// callResponds returns the canned response stored at tinyResponseAt.
func callResponds(resp string) []byte { return packed(tinyResponseAt, uint32(len(resp))) }

// callLogsThenResponds logs the record at tinyLogAt, then returns the response.
func callLogsThenResponds(rec, resp string) []byte {
	return code(i32Const(tinyLogAt), i32Const(int32(len(rec))), []byte{opCall, 0x00}, callResponds(resp))
}
