package wasmmeta

import (
	"fmt"
	"strings"
)

// Kind is the kind of an import or export.
type Kind byte

// The kinds of the wasm binary format (importdesc / exportdesc).
const (
	KindFunc   Kind = 0
	KindTable  Kind = 1
	KindMemory Kind = 2
	KindGlobal Kind = 3
	KindTag    Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// FuncType is a function signature, with value types named as in the text
// format (i32, i64, f32, f64, v128, funcref, externref).
type FuncType struct {
	Params  []string
	Results []string
}

func (f FuncType) String() string {
	return "(" + strings.Join(f.Params, ", ") + ") -> (" + strings.Join(f.Results, ", ") + ")"
}

// Import is one import of a module. Type is set for functions.
type Import struct {
	Module, Name string
	Kind         Kind
	Type         *FuncType
}

// Export is one export of a module. Type is set for functions.
type Export struct {
	Name string
	Kind Kind
	Type *FuncType
}

// Module is the part of a module's structure that tools inspect.
type Module struct {
	Size     int
	Imports  []Import
	Exports  []Export
	Sections []Section
}

// Export returns the export named name.
func (m *Module) Export(name string) (Export, bool) {
	for _, e := range m.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

// Parse reads the type, import, function and export sections of a module.
// It does not validate code; a module Parse accepts may still fail to
// compile. It never panics on malformed input.
func Parse(wasm []byte) (*Module, error) {
	secs, err := Sections(wasm)
	if err != nil {
		return nil, err
	}
	m := &Module{Size: len(wasm), Sections: secs}
	var types []FuncType
	var funcTypes []uint32 // type index of every function, imported ones first
	for _, s := range secs {
		r := &reader{b: s.Payload}
		switch s.ID {
		case 1: // type
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				if form := r.byte(); form != 0x60 && r.err == nil {
					r.fail(fmt.Errorf("type %d has form 0x%02x, want 0x60", i, form))
				}
				ft := FuncType{Params: r.valTypes(), Results: r.valTypes()}
				types = append(types, ft)
			}
		case 2: // import
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				im := Import{Module: r.name(), Name: r.name(), Kind: Kind(r.byte())}
				switch im.Kind {
				case KindFunc:
					funcTypes = append(funcTypes, r.u32())
				case KindTable:
					r.byte() // reftype
					r.limits()
				case KindMemory:
					r.limits()
				case KindGlobal:
					r.byte() // valtype
					r.byte() // mutability
				case KindTag:
					r.byte() // attribute
					r.u32()  // type index
				default:
					r.fail(fmt.Errorf("import %d has unknown kind 0x%02x", i, byte(im.Kind)))
				}
				m.Imports = append(m.Imports, im)
			}
		case 3: // function
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				funcTypes = append(funcTypes, r.u32())
			}
		case 7: // export
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				m.Exports = append(m.Exports, Export{Name: r.name(), Kind: Kind(r.byte())})
				idx := r.u32()
				if r.err == nil && m.Exports[len(m.Exports)-1].Kind == KindFunc {
					e := &m.Exports[len(m.Exports)-1]
					if int64(idx) >= int64(len(funcTypes)) {
						r.fail(fmt.Errorf("export %q names function %d of %d", e.Name, idx, len(funcTypes)))
						break
					}
					ft, err := typeAt(types, funcTypes[idx])
					if err != nil {
						r.fail(fmt.Errorf("export %q: %w", e.Name, err))
						break
					}
					e.Type = ft
				}
			}
		default:
			continue
		}
		if r.err == nil && !r.done() {
			r.fail(fmt.Errorf("%d trailing bytes", len(r.b)-r.off))
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d at offset %d: %w", ErrMalformed, s.ID, s.Offset, r.err)
		}
	}
	// Imported functions take the first function indices, so their types are
	// known only once the import section has been read.
	fi := 0
	for i := range m.Imports {
		if m.Imports[i].Kind != KindFunc {
			continue
		}
		ft, err := typeAt(types, funcTypes[fi])
		if err != nil {
			return nil, fmt.Errorf("%w: import %s.%s: %w", ErrMalformed, m.Imports[i].Module, m.Imports[i].Name, err)
		}
		m.Imports[i].Type = ft
		fi++
	}
	return m, nil
}

func typeAt(types []FuncType, idx uint32) (*FuncType, error) {
	if int64(idx) >= int64(len(types)) {
		return nil, fmt.Errorf("type index %d out of %d types", idx, len(types))
	}
	ft := types[idx]
	return &ft, nil
}

func (r *reader) valTypes() []string {
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if int(n) > len(r.b)-r.off { // each value type is one byte
		r.fail(errEOF)
		return nil
	}
	out := make([]string, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		out = append(out, valTypeName(r.byte()))
	}
	return out
}

func valTypeName(b byte) string {
	switch b {
	case 0x7f:
		return "i32"
	case 0x7e:
		return "i64"
	case 0x7d:
		return "f32"
	case 0x7c:
		return "f64"
	case 0x7b:
		return "v128"
	case 0x70:
		return "funcref"
	case 0x6f:
		return "externref"
	}
	return fmt.Sprintf("0x%02x", b)
}

// limits reads a table or memory limits: flags, min, and max when flag bit 0
// is set. Bit 2 (memory64) makes min and max 64-bit, which this parser does
// not support.
func (r *reader) limits() {
	flags := r.byte()
	if flags&0x04 != 0 && r.err == nil {
		r.fail(fmt.Errorf("64-bit limits (flags 0x%02x) are not supported", flags))
		return
	}
	r.u32()
	if flags&0x01 != 0 {
		r.u32()
	}
}
