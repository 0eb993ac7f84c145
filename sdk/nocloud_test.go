package sdk_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cloudSDKPrefixes are the module paths of cloud and storage-vendor SDKs.
// aws covers aws-sdk-go(-v2) and smithy-go.
var cloudSDKPrefixes = []string{"github.com/aws/", "github.com/minio/", "cloud.google.com/", "github.com/Azure/"}

// cloudSDKs returns the module paths of cloud SDKs that a go.mod or go.sum
// text names (in a require, replace or checksum line); comments do not count.
func cloudSDKs(text string) []string {
	var found []string
	for line := range strings.Lines(text) {
		line, _, _ = strings.Cut(line, "//")
		for f := range strings.FieldsSeq(line) {
			for _, p := range cloudSDKPrefixes {
				if strings.HasPrefix(f, p) {
					found = append(found, f)
				}
			}
		}
	}
	return found
}

// TestNoCloudSDK keeps the sdk module free of any cloud SDK: a third party's
// driver depends on sdk alone, so whatever sdk requires every driver
// downloads and links. sdk/s3compat, the S3-API driver on aws-sdk-go-v2, is
// its own module for this reason (sdk/ABI.md, "Modules"), and the
// conformance suite takes its independent S3 client from the caller
// (drivertest.Objects).
func TestNoCloudSDK(t *testing.T) {
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		assert.Empty(t, cloudSDKs(string(b)), "sdk/%s names a cloud SDK; code that needs one belongs in its own module (sdk/s3compat, plugins/*)", name)
	}
}

func TestCloudSDKs(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{name: "testify only", text: "module github.com/pail-dev/pail/sdk\n\ngo 1.26\n\nrequire github.com/stretchr/testify v1.12.1\n"},
		{name: "a comment", text: "// aws-sdk-go-v2 lives in sdk/s3compat, github.com/aws/aws-sdk-go-v2\nrequire github.com/stretchr/testify v1.12.1\n"},
		{
			name: "require block",
			text: "require (\n\tgithub.com/aws/aws-sdk-go-v2 v1.48.0\n\tgithub.com/stretchr/testify v1.12.1\n)\n",
			want: []string{"github.com/aws/aws-sdk-go-v2"},
		},
		{name: "one-line require", text: "require github.com/aws/smithy-go v1.28.9\n", want: []string{"github.com/aws/smithy-go"}},
		{
			name: "indirect",
			text: "require (\n\tgithub.com/aws/aws-sdk-go-v2/internal/v4a v1.5.12 // indirect\n)\n",
			want: []string{"github.com/aws/aws-sdk-go-v2/internal/v4a"},
		},
		{name: "replace", text: "replace github.com/minio/minio-go/v7 => ../minio-go\n", want: []string{"github.com/minio/minio-go/v7"}},
		{
			name: "go.sum",
			text: "github.com/aws/smithy-go v1.28.9 h1:abc=\ngithub.com/aws/smithy-go v1.28.9/go.mod h1:def=\n",
			want: []string{"github.com/aws/smithy-go", "github.com/aws/smithy-go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cloudSDKs(tt.text))
		})
	}
}
