package drivertest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// The conformance suite compares policies with policydoc.Same: these are
// the re-encodings servers apply that it must see through, and the
// differences it must not.
func TestSamePolicy(t *testing.T) {
	base := `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "identical", a: base, b: base, want: true},
		{name: "both empty", a: "", b: "", want: true},
		{name: "one empty", a: base, b: "", want: false},
		{
			name: "MinIO's re-encoding: lists, Principal {AWS:[*]}",
			a:    base,
			b:    `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
			want: true,
		},
		{
			name: "sets in another order, action case",
			a:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["*"]}]}`,
			b:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["S3:getobject","s3:PutObject"],"Resource":"*"}]}`,
			want: true,
		},
		{
			name: "another resource",
			a:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["*"]}]}`,
			b:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":["**"]}]}`,
			want: false,
		},
		{name: "another effect", a: base, b: `{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, want: false},
		{name: "not JSON", a: base, b: `{"Version":`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, policydoc.Same(tt.a, tt.b))
			assert.Equal(t, tt.want, policydoc.Same(tt.b, tt.a), "symmetric")
		})
	}
}

// The suite round-trips every sub-resource of abi.SubResources; one with a
// create-only part is checked by objectLock instead, with its create.
func TestSubCasesCoverSubResources(t *testing.T) {
	cases := map[string]bool{}
	for _, c := range subCases("b", "key") {
		cases[c.name] = true
		assert.NotNil(t, field(c.set, c.name), "%s: set sets it", c.name)
		assert.NotNil(t, field(c.reset, c.name), "%s: reset sets it", c.name)
	}
	for _, s := range abi.SubResources {
		assert.Equal(t, s.CreateOnly == "", cases[s.Name], "%s: a round trip exactly when nothing is create-only", s.Name)
	}
	for _, c := range abi.BucketCapabilities() {
		assert.Contains(t, knownCapabilities, c)
	}
}
