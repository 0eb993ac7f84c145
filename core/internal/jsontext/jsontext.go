// Package jsontext writes JSON text by hand where the host writes a lot of
// it (canonical policy forms, the statements' text for the policy packs),
// byte for byte as encoding/json would.
package jsontext

import "encoding/json"

// AppendString appends s as a JSON string, as encoding/json writes it:
// plain printable ASCII as is, and anything it escapes (control
// characters, HTML characters, invalid UTF-8, U+2028 and U+2029) left to
// encoding/json itself.
func AppendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
