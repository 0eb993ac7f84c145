package jsontext

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "arn:aws:s3:::b/*", `a"b\c`, "<&>", "\n\t\x01", "é", "\u2028\u2029", "\xff", "~\x7f"} {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(AppendString([]byte("x"), s)[1:]), "%q", s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("arn:aws:s3:::b/*")
	f.Add("<\u2028\xff>")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(AppendString(nil, s)))
	})
}
