package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const crdDir = "../../../charts/pail/crds"

// The committed docs/api-reference.md is what the generator makes from the
// committed CRDs: a CRD change without `make api-docs` fails here (and in
// `make verify-generated`).
func TestCommittedReferenceIsUpToDate(t *testing.T) {
	want, err := Generate(crdDir)
	require.NoError(t, err)
	got, err := os.ReadFile("../../../docs/api-reference.md")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "docs/api-reference.md is stale: run make api-docs and commit it")
}

// The reference names every kind and the fields users write most, with the
// type and validation the CRD really has.
func TestReferenceContent(t *testing.T) {
	doc, err := Generate(crdDir)
	require.NoError(t, err)
	tests := []struct{ name, want string }{
		{"every kind has a section", "## Provider\n"},
		{"Bucket", "## Bucket\n"},
		{"BucketPolicy", "## BucketPolicy\n"},
		{"AccessKey", "## AccessKey\n"},
		{"required field", "| `spec.driver` | string; **required**;"},
		{"default value", "| `spec.region` | string; default `\"us-east-1\"` |"},
		{"array item fields use []", "| `status.conditions[].reason` |"},
		{"CEL rules with their message", "endpoint must be an http:// or https:// URL"},
		{"short names", "| short names | `s3b`, `pailbucket` |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Contains(t, string(doc), tt.want)
		})
	}
	// A pipe inside a pattern or rule must not split the table: every
	// field row has exactly its four column separators.
	for line := range strings.SplitSeq(string(doc), "\n") {
		if strings.HasPrefix(line, "| `spec") || strings.HasPrefix(line, "| `status") {
			assert.Equal(t, 4, strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"), line)
		}
	}
}

// The freshness check can fail: a CRD whose description changed makes a
// different reference.
func TestReferenceFollowsTheCRDs(t *testing.T) {
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		raw = []byte(strings.Replace(string(raw), "Region is the signing region.", "Region is where the bucket lives.", 1))
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), raw, 0o600))
	}
	before, err := Generate(crdDir)
	require.NoError(t, err)
	after, err := Generate(dir)
	require.NoError(t, err)
	assert.NotEqual(t, string(before), string(after))
	assert.Contains(t, string(after), "Region is where the bucket lives.")

	_, err = Generate(t.TempDir())
	assert.ErrorContains(t, err, "no CRDs", "an empty directory is an error, not an empty reference")
}
