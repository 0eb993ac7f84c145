package policydoc

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of Value, one per JSON type.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is one JSON value of a document as json.Unmarshal decodes it into
// an any: strings decoded (escapes resolved, invalid UTF-8 replaced),
// numbers as float64, and an object's members each once (the last of
// duplicate keys wins). It is the policy document the OPA input holds,
// built by the one decoder, so the host converts it without reading the
// text again.
type Value struct {
	kind Kind
	b    bool
	// text is a String's text, or a Number's float64 as
	// strconv.FormatFloat(f, 'g', -1, 64) writes it (as OPA does).
	text string
	// kids are an Array's elements, or an Object's members as key (a
	// String) and value pairs, in document order.
	kids []Value
}

// Kind is v's JSON type.
func (v Value) Kind() Kind { return v.kind }

// Bool is a Bool's value.
func (v Value) Bool() bool { return v.b }

// Text is a String's text, or a Number as strconv.FormatFloat(f, 'g', -1,
// 64) writes the float64 json.Unmarshal decodes.
func (v Value) Text() string { return v.text }

// Len is the number of an Array's elements or of an Object's members.
func (v Value) Len() int {
	if v.kind == Object {
		return len(v.kids) / 2
	}
	return len(v.kids)
}

// Elem is an Array's element i.
func (v Value) Elem(i int) Value { return v.kids[i] }

// Member is an Object's member i.
func (v Value) Member(i int) (string, Value) { return v.kids[2*i].text, v.kids[2*i+1] }

// Get finds an Object's member by its exact key.
func (v Value) Get(key string) (Value, bool) {
	if v.kind != Object {
		return Value{}, false
	}
	for i := 0; i < len(v.kids); i += 2 {
		if v.kids[i].text == key {
			return v.kids[i+1], true
		}
	}
	return Value{}, false
}

// MarshalJSON writes v as json.Marshal writes the any it stands for.
func (v Value) MarshalJSON() ([]byte, error) {
	var w writer
	w.value(v)
	return w.buf, nil
}

// JSON is v as json.Marshal writes the any it stands for.
func (v Value) JSON() string {
	b, _ := v.MarshalJSON()
	return string(b)
}
