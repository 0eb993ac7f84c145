package abi

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubResourcesCoverBucketConfig: one entry per BucketConfig field, named
// as the field is in JSON, so a field added to BucketConfig cannot be missed
// by the consumers that read the table.
func TestSubResourcesCoverBucketConfig(t *testing.T) {
	typ := reflect.TypeFor[BucketConfig]()
	require.Len(t, SubResources, typ.NumField())
	seen := map[string]bool{}
	for _, s := range SubResources {
		assert.False(t, seen[s.Name], "%s listed twice", s.Name)
		seen[s.Name] = true
		f, ok := typ.FieldByName(s.Field)
		require.True(t, ok, "%s: BucketConfig has no field %s", s.Name, s.Field)
		jsonName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		assert.Equal(t, s.Name, jsonName, "%s: the name is the field's JSON name", s.Field) //nolint:testifylint // a field name, not a JSON document
		assert.Equal(t, s.Name, s.Capability, "a sub-resource's capability is its name")
		assert.NotEmpty(t, s.Rule, s.Name)
		got, ok := SubResourceNamed(s.Name)
		assert.True(t, ok)
		assert.Equal(t, s.Field, got.Field)
	}
	_, ok := SubResourceNamed(CapForceDelete)
	assert.False(t, ok, "a capability that is no sub-resource is not found")
}

// TestSubResourceRoundTrip: Set, Get, Has and Clear reach exactly the
// entry's field, and JSON carries it under the entry's name.
func TestSubResourceRoundTrip(t *testing.T) {
	for _, s := range SubResources {
		t.Run(s.Name, func(t *testing.T) {
			var cfg BucketConfig
			assert.False(t, s.Has(cfg))
			assert.Nil(t, s.Get(cfg), "unset reads as a nil pointer")
			assert.Empty(t, s.Needs(cfg), "an unset sub-resource needs nothing")
			f, _ := reflect.TypeFor[BucketConfig]().FieldByName(s.Field)
			v := reflect.New(f.Type.Elem()).Interface()
			s.Set(&cfg, v)
			assert.True(t, s.Has(cfg))
			assert.Same(t, v, s.Get(cfg))
			assert.Same(t, v, reflect.ValueOf(cfg).FieldByName(s.Field).Interface(), "Set writes the entry's own field")
			for _, o := range SubResources {
				assert.Equal(t, o.Name == s.Name, o.Has(cfg), "setting %s sets %s", s.Name, o.Name)
			}
			raw, err := json.Marshal(cfg)
			require.NoError(t, err)
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &m))
			assert.Contains(t, m, s.Name)
			s.Clear(&cfg)
			assert.Equal(t, BucketConfig{}, cfg)
			s.Set(&cfg, v)
			s.Set(&cfg, nil)
			assert.Equal(t, BucketConfig{}, cfg, "Set(nil) clears")
			assert.Panics(t, func() { s.Set(&cfg, struct{}{}) }, "a value of another type is a programming error")
		})
	}
}

func TestSubResourceNeedsAndFixed(t *testing.T) {
	sub := func(name string) SubResource { s, _ := SubResourceNamed(name); return s }
	tests := []struct {
		sub   string
		cfg   BucketConfig
		needs []string
		fixed any
	}{
		{SubVersioning, BucketConfig{Versioning: &Versioning{Status: "Enabled"}}, []string{SubVersioning}, nil},
		{SubVersioning, BucketConfig{Versioning: &Versioning{Status: "Enabled", MFADelete: "Disabled"}}, []string{SubVersioning, SubMFADelete}, nil},
		{SubEncryption, BucketConfig{Encryption: &Encryption{Algorithm: "AES256"}}, []string{SubEncryption}, nil},
		{SubEncryption, BucketConfig{Encryption: &Encryption{Algorithm: "aws:kms"}}, []string{SubEncryption, SubSSEKMS}, nil},
		{SubEncryption, BucketConfig{Encryption: &Encryption{Algorithm: "aws:kms:dsse"}}, []string{SubEncryption, SubSSEKMS}, nil},
		{SubPublicAccessBlock, BucketConfig{PublicAccessBlock: &PublicAccessBlock{}}, []string{SubPublicAccessBlock}, nil},
		{SubLifecycle, BucketConfig{Lifecycle: &Lifecycle{}}, []string{SubLifecycle}, nil},
		{SubCORS, BucketConfig{CORS: &CORS{}}, []string{SubCORS}, nil},
		{SubTagging, BucketConfig{Tagging: &Tagging{}}, []string{SubTagging}, nil},
		{SubPolicy, BucketConfig{Policy: &Policy{}}, []string{SubPolicy}, nil},
		{SubObjectLock, BucketConfig{ObjectLock: &ObjectLock{}}, []string{SubObjectLock}, false},
		{SubObjectLock, BucketConfig{ObjectLock: &ObjectLock{Enabled: true}}, []string{SubObjectLock}, true},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		s := sub(tt.sub)
		covered[s.Name] = true
		needs := s.Needs(tt.cfg)
		assert.Equal(t, tt.needs, needs, "%s %+v", tt.sub, s.Get(tt.cfg))
		for _, c := range needs[1:] {
			assert.Contains(t, s.Extras, c, "%s: every capability a value needs is listed in Extras", s.Name)
		}
		assert.Equal(t, tt.fixed, s.Fixed(tt.cfg), tt.sub)
		assert.Equal(t, tt.fixed != nil, s.CreateOnly != "", "%s: a create-only part has a value, and only then", tt.sub)
	}
	for _, s := range SubResources {
		assert.True(t, covered[s.Name], "no case for %s", s.Name)
	}
	assert.Nil(t, sub(SubObjectLock).Fixed(BucketConfig{}), "nothing fixed when unset")
	assert.Equal(t, []string{
		SubVersioning, SubMFADelete, SubEncryption, SubSSEKMS, SubPublicAccessBlock, SubLifecycle, SubCORS, SubTagging, SubPolicy, SubObjectLock,
	}, BucketCapabilities())
}

// abiTableRow is how sdk/ABI.md's sub-resource table shows s.
func abiTableRow(s SubResource) string {
	caps := "`" + strings.Join(append([]string{s.Capability}, s.Extras...), "`, `") + "`"
	createOnly := "no"
	if s.CreateOnly != "" {
		createOnly = "`" + s.CreateOnly + "`"
	}
	return "| `" + s.Name + "` | `" + s.Field + "` | " + caps + " | " + createOnly + " | " + s.Rule + " |"
}

// TestABIDocListsSubResources keeps sdk/ABI.md's table equal to the Go
// table: same entries, same order, same rules.
func TestABIDocListsSubResources(t *testing.T) {
	doc, err := os.ReadFile("../ABI.md")
	require.NoError(t, err)
	lines := strings.Split(string(doc), "\n")
	const header = "| sub-resource | `BucketConfig` field | capabilities | create-only | what may be written, and when |"
	start := -1
	for i, l := range lines {
		if l == header {
			start = i
		}
	}
	require.NotEqual(t, -1, start, "sdk/ABI.md has no sub-resource table; its header must be:\n%s", header)
	var rows []string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		rows = append(rows, l)
	}
	var want []string
	for _, s := range SubResources {
		want = append(want, abiTableRow(s))
	}
	assert.Equal(t, want, rows, "sdk/ABI.md's sub-resource table must list abi.SubResources; the rows should be:\n%s", strings.Join(want, "\n"))
}
