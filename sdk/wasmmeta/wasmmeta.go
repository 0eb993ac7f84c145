// Package wasmmeta reads and writes a Pail driver's metadata, kept in a wasm
// custom section named "pail.driver", and parses the few parts of a module's
// binary that tools need (imports, exports and their signatures) without
// running or compiling it.
//
// Go cannot emit custom sections from `go build`, so the metadata is appended
// to a built module afterwards (Append, or `pail-driver embed`). A custom
// section is legal anywhere after the 8-byte header, is ignored by every
// runtime, and changes nothing the module does.
//
// Everything here parses untrusted bytes: malformed input is an error, never
// a panic, and no length read from the input is trusted before it is checked
// against what is left.
package wasmmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/internal/wasmbin"
)

// SectionName is the name of the custom section holding Metadata.
const SectionName = "pail.driver"

// Metadata is what a driver declares about itself, readable without running
// the module: abi.DriverInfo, the describe handshake's answer, with the same
// fields and JSON, so the two cannot drift. The host refuses a module whose
// section disagrees with the handshake; DefaultIAMEndpoint is informational,
// the handshake's value wins.
type Metadata abi.DriverInfo

// FromInfo builds Metadata from a driver's Describe answer. An empty ABI
// becomes abi.Version, as the guest runtime does in the handshake.
func FromInfo(info abi.DriverInfo) Metadata {
	m := Metadata(info)
	if m.ABI == "" {
		m.ABI = abi.Version
	}
	return m
}

// Major returns the major version of m.ABI ("1" of "1.1").
func (m Metadata) Major() string { major, _, _ := strings.Cut(m.ABI, "."); return major }

// Validate checks what every tool relies on: a name and an ABI version.
func (m Metadata) Validate() error {
	var problems []string
	if m.Name == "" {
		problems = append(problems, "no name")
	}
	if m.ABI == "" {
		problems = append(problems, "no abi version")
	} else if major, minor, ok := strings.Cut(m.ABI, "."); !ok || !digits(major) || !digits(minor) {
		problems = append(problems, fmt.Sprintf("abi %q is not MAJOR.MINOR", m.ABI))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadMetadata, strings.Join(problems, ", "))
	}
	return nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Errors of this package; wrapped with details.
var (
	ErrNotWasm      = errors.New("not a wasm module")
	ErrMalformed    = errors.New("malformed wasm module")
	ErrBadMetadata  = errors.New("bad pail.driver metadata")
	ErrDuplicateSec = errors.New("more than one pail.driver section")
)

var header = []byte("\x00asm\x01\x00\x00\x00")

// Section is one top-level section of a module.
type Section struct {
	ID byte
	// Name is the custom section's name (ID 0 only).
	Name string
	// Offset is where the section starts (its id byte) in the module.
	Offset int
	// Payload is the section's content; for a custom section, after the name.
	Payload []byte
}

// Sections splits a module into its top-level sections, checking the header
// and every size, but not the sections' contents.
func Sections(wasm []byte) ([]Section, error) {
	if len(wasm) < len(header) || !bytes.Equal(wasm[:4], header[:4]) {
		return nil, fmt.Errorf("%w: no \\0asm magic", ErrNotWasm)
	}
	if !bytes.Equal(wasm[4:8], header[4:8]) {
		return nil, fmt.Errorf("%w: binary version %x, want 01000000", ErrNotWasm, wasm[4:8])
	}
	var out []Section
	r := &reader{b: wasm, off: len(header)}
	for r.off < len(r.b) {
		start := r.off
		id := r.byte()
		size := r.u32()
		content := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section at offset %d: %w", ErrMalformed, start, r.err)
		}
		s := Section{ID: id, Offset: start, Payload: content}
		if id == 0 {
			cr := &reader{b: content}
			s.Name = cr.name()
			if cr.err != nil {
				return nil, fmt.Errorf("%w: custom section at offset %d: %w", ErrMalformed, start, cr.err)
			}
			s.Payload = content[cr.off:]
		}
		out = append(out, s)
	}
	return out, nil
}

// Read returns the module's pail.driver metadata; found is false when the
// module has no such section. A section that is present but undecodable, or
// present twice, is an error.
func Read(wasm []byte) (m Metadata, found bool, err error) {
	secs, err := Sections(wasm)
	if err != nil {
		return Metadata{}, false, err
	}
	var payload []byte
	for _, s := range secs {
		if s.ID != 0 || s.Name != SectionName {
			continue
		}
		if found {
			return Metadata{}, true, ErrDuplicateSec
		}
		found, payload = true, s.Payload
	}
	if !found {
		return Metadata{}, false, nil
	}
	m, err = Decode(payload)
	return m, true, err
}

// Decode parses a section payload and validates it.
func Decode(payload []byte) (Metadata, error) {
	var m Metadata
	// Unknown fields are allowed: a later minor ABI may add some, and an
	// older host must still load the module.
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&m); err != nil {
		return Metadata{}, fmt.Errorf("%w: %w", ErrBadMetadata, err)
	}
	if dec.More() {
		return Metadata{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadMetadata)
	}
	return m, m.Validate()
}

// Append returns wasm with m in a pail.driver custom section at the end.
// Any pail.driver section already there is removed first, so running it
// twice leaves one section. wasm itself is not modified.
func Append(wasm []byte, m Metadata) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	secs, err := Sections(wasm)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	out := make([]byte, 0, len(wasm)+len(payload)+32)
	out = append(out, header...)
	for i, s := range secs {
		end := len(wasm)
		if i+1 < len(secs) {
			end = secs[i+1].Offset
		}
		if s.ID == 0 && s.Name == SectionName {
			continue
		}
		out = append(out, wasm[s.Offset:end]...)
	}
	return append(out, wasmbin.Custom(SectionName, payload)...), nil
}

// reader decodes the binary format; the first error sticks and every later
// read returns zero values, so callers check err once.
type reader struct {
	b   []byte
	off int
	err error
}

var errEOF = errors.New("unexpected end of data")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(errEOF)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// u32 reads an unsigned LEB128 of at most 5 bytes that fits in 32 bits.
func (r *reader) u32() uint32 {
	var v uint64
	for i := range 5 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if v > 0xffff_ffff {
				r.fail(errors.New("LEB128 value overflows 32 bits"))
				return 0
			}
			return uint32(v)
		}
	}
	r.fail(errors.New("LEB128 longer than 5 bytes"))
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(fmt.Errorf("%w: need %d bytes, %d left", errEOF, n, len(r.b)-r.off))
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) name() string {
	n := r.u32()
	b := r.bytes(int(n))
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.fail(errors.New("name is not UTF-8"))
		return ""
	}
	return string(b)
}

func (r *reader) done() bool { return r.err == nil && r.off == len(r.b) }

// PrintMetadata writes FromInfo(info) as JSON to stdout. A driver's main
// calls it, so that `go run ./path/to/driver` (natively) prints what
// `pail-driver embed` puts in the module; in the wasm module main never runs.
func PrintMetadata(info abi.DriverInfo) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(FromInfo(info)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
