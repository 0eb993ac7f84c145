package abi_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestAllCapabilities(t *testing.T) {
	all := abi.AllCapabilities()
	assert.Equal(t, abi.CapBuckets, all[0], "buckets first")
	want := slices.Concat([]string{abi.CapBuckets, abi.CapForceDelete}, abi.BucketCapabilities(),
		[]string{abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed})
	assert.ElementsMatch(t, want, all, "every capability, each once")
	assert.Equal(t, abi.CapAccessKeys, abi.UserCapabilities()[0], "accessKeys, which the other user capabilities need, first")
}
