//go:build wasip1

package guest

import (
	"errors"
	"unsafe"

	"github.com/pail-dev/pail/sdk/abi"
)

// pinned keeps buffers handed to the host reachable until the host frees them;
// the Go GC would otherwise reclaim memory the host still reads or writes.
var pinned = map[uintptr][]byte{}

func pin(b []byte) uint32 {
	if len(b) == 0 {
		b = make([]byte, 1)
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	pinned[p] = b
	return uint32(p) //nolint:gosec // wasm32 pointers are 32 bits
}

// exports are called by the host through go:wasmexport, which the unused
// linter cannot see; naming them here marks them used.
var _ = []any{pailABIv1, alloc, free, describe, call}

var errHostProtocol = errors.New("pail guest: host broke the http_request protocol")

//go:wasmexport pail_abi_v1
func pailABIv1() {}

//go:wasmexport alloc
func alloc(size uint32) uint32 { return pin(make([]byte, size)) }

//go:wasmexport free
func free(ptr uint32) { delete(pinned, uintptr(ptr)) }

// input returns the buffer the host filled. Only buffers from alloc are
// accepted, so a bad pointer from the host cannot reach arbitrary memory.
func input(ptr, size uint32) []byte {
	b, ok := pinned[uintptr(ptr)]
	if !ok || int(size) > len(b) {
		return nil
	}
	return b[:size]
}

func result(b []byte) uint64 { return abi.Pack(pin(b), uint32(len(b))) } //nolint:gosec // wasm32 lengths fit 32 bits

//go:wasmexport describe
func describe(ptr, size uint32) uint64 { return result(handleDescribe(input(ptr, size))) }

//go:wasmexport call
func call(ptr, size uint32) uint64 { return result(handleCall(input(ptr, size))) }

//go:wasmimport pail_host_v1 http_request
func hostHTTPRequest(ptr, size uint32) uint64

//go:wasmimport pail_host_v1 http_response_read
func hostHTTPResponseRead(ptr, size uint32) int32

//go:wasmimport pail_host_v1 log
func hostLogImport(ptr, size uint32)

func bufPtr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0]))) //nolint:gosec // wasm32 pointers are 32 bits
}

func hostLog(b []byte) { hostLogImport(bufPtr(b), uint32(len(b))) } //nolint:gosec // wasm32 lengths fit 32 bits

func roundTrip(frame []byte) ([]byte, error) {
	n := hostHTTPRequest(bufPtr(frame), uint32(len(frame))) //nolint:gosec // wasm32 lengths fit 32 bits
	if n == 0 || n > 1<<31 {
		return nil, errHostProtocol
	}
	buf := make([]byte, n)
	if got := hostHTTPResponseRead(bufPtr(buf), uint32(n)); got < 0 || uint64(got) != n {
		return nil, errHostProtocol
	}
	return buf, nil
}
