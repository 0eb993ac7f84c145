package bucketdiff

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
)

// Every sub-resource of the ABI's table has its host side, and nothing else.
func TestHostSideCoversSubResources(t *testing.T) {
	assert.Len(t, host, len(abi.SubResources))
	for _, s := range abi.SubResources {
		h, ok := host[s.Name]
		if assert.True(t, ok, "bucketdiff has no host side for %s", s.Name) {
			assert.NotEmpty(t, h.spec, s.Name)
			assert.NotNil(t, h.diff, s.Name)
		}
	}
}

// A value of every sub-resource, set: Only keeps exactly the named ones,
// Managed and Has see each one, and a value not observed is a change.
func TestOnlyManagedHasFollowTheTable(t *testing.T) {
	var full abi.BucketConfig
	for _, s := range abi.SubResources {
		f, _ := reflect.TypeFor[abi.BucketConfig]().FieldByName(s.Field)
		s.Set(&full, reflect.New(f.Type.Elem()).Interface())
	}
	var names []string
	for _, s := range abi.SubResources {
		names = append(names, s.Name)
		assert.True(t, Has(full, s.Name))
		only := Only(full, []string{s.Name})
		assert.Equal(t, []string{s.Name}, Managed(only))
		assert.Same(t, s.Get(full), s.Get(only), "Only keeps the value itself")
		changes := Diff(only, abi.BucketConfig{})
		if assert.Len(t, changes, 1, s.Name) {
			assert.Equal(t, s.Name, changes[0].SubResource)
			assert.False(t, changes[0].CreateOnly, "%s: not observed is a change to write", s.Name)
		}
	}
	assert.Equal(t, names, Managed(full))
	assert.Equal(t, full, Only(full, names))
	assert.False(t, Has(full, "website"), "not a sub-resource")
	assert.Equal(t, abi.BucketConfig{}, Only(full, nil))
}

func TestDiffObjectLock(t *testing.T) {
	retention := func(mode string, days int32) *abi.ObjectLock {
		return &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: mode, Days: days}}
	}
	createOnly := "spec.objectLock.enabled (create-only: cannot change on an existing bucket)"
	tests := []struct {
		name              string
		desired, observed *abi.ObjectLock
		want              []Change
		writable          []string
	}{
		{name: "in sync", desired: retention("GOVERNANCE", 1), observed: retention("GOVERNANCE", 1)},
		{name: "none wanted, none there", desired: &abi.ObjectLock{}, observed: &abi.ObjectLock{}},
		{name: "enabled without retention", desired: &abi.ObjectLock{Enabled: true}, observed: &abi.ObjectLock{Enabled: true}},
		{
			name: "retention drift is written", desired: retention("GOVERNANCE", 1), observed: retention("COMPLIANCE", 1),
			want:     []Change{{SubResource: abi.SubObjectLock, Fields: []string{"spec.objectLock.defaultRetention"}}},
			writable: []string{abi.SubObjectLock},
		},
		{
			name: "a retention added behind Pail's back is removed", desired: &abi.ObjectLock{Enabled: true}, observed: retention("GOVERNANCE", 3),
			want:     []Change{{SubResource: abi.SubObjectLock, Fields: []string{"spec.objectLock.defaultRetention"}}},
			writable: []string{abi.SubObjectLock},
		},
		{
			name: "lock wanted on a bucket without it is reported only", desired: retention("GOVERNANCE", 1), observed: &abi.ObjectLock{},
			want: []Change{{SubResource: abi.SubObjectLock, Fields: []string{createOnly}, CreateOnly: true}},
		},
		{
			name: "lock on a bucket that should have none is reported only", desired: &abi.ObjectLock{}, observed: &abi.ObjectLock{Enabled: true},
			want: []Change{{SubResource: abi.SubObjectLock, Fields: []string{createOnly}, CreateOnly: true}},
		},
		{
			name: "not observed", desired: retention("GOVERNANCE", 1),
			want:     []Change{{SubResource: abi.SubObjectLock, Fields: []string{"spec.objectLock"}}},
			writable: []string{abi.SubObjectLock},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := Diff(abi.BucketConfig{ObjectLock: tt.desired}, abi.BucketConfig{ObjectLock: tt.observed})
			assert.Equal(t, tt.want, changes)
			assert.ElementsMatch(t, tt.writable, SubResources(Writable(changes)))
		})
	}
	// A create-only difference does not hide the writable ones of others.
	changes := Diff(abi.BucketConfig{ObjectLock: retention("GOVERNANCE", 1), Tagging: &abi.Tagging{Tags: map[string]string{"a": "b"}}},
		abi.BucketConfig{ObjectLock: &abi.ObjectLock{}, Tagging: &abi.Tagging{}})
	assert.Equal(t, []string{"spec.tags[a]", createOnly}, Fields(changes))
	assert.Equal(t, []string{abi.SubTagging}, SubResources(Writable(changes)))
	assert.Len(t, changes, 2, "Writable leaves its argument alone")
}
