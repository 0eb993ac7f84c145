package policydoc

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "arn:aws:s3:::b/*", `a"b\c`, "<&>", "\n\t\x01", "é", "\u2028\u2029", "\xff", "~\x7f"} {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(appendString([]byte("x"), s)[1:]), "%q", s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("arn:aws:s3:::b/*")
	f.Add("<\u2028\xff>")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		assert.Equal(t, string(want), string(appendString(nil, s)))
	})
}

// Numbers are written as encoding/json writes the float64, or as OPA's
// text of it for Rego.
func TestNumbers(t *testing.T) {
	for _, n := range []string{"0", "-0", "1", "1.50", "1e21", "1e20", "123456789012345678901", "1e-6", "1e-7", "-0.000001", "2.5E-10", "1000000", "7.0", "1.7976931348623157e308", "5e-324"} {
		d, err := Parse([]byte(`{"n":` + n + `}`))
		require.NoError(t, err, n)
		var f float64
		require.NoError(t, json.Unmarshal([]byte(n), &f))
		want, _ := json.Marshal(f)
		v, _ := d.Value().Get("n")
		assert.Equal(t, string(want), v.JSON(), n)
		assert.Equal(t, strconv.FormatFloat(f, 'g', -1, 64), v.Text(), n)
	}
}
