package drivertest_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// The suite is tested on drivers that break one rule each: run against an
// in-memory endpoint (memS3), each must fail with the message naming that
// rule, and the unbroken driver must pass. Each case runs in a child test
// process, because a failing suite fails the *testing.T it is given. The
// suite imports no implementation (the sdk module carries no cloud SDK), so
// its self-test uses none either; the real drivers pass it against real
// servers in their own modules (plugins/*, sdk/s3compat, test/wasmdrivers).

const envCase = "PAIL_DRIVERTEST_SELFTEST_CASE"

// brokenDrivers wrap a conformant driver (memS3's, declaring what
// versitygw posix implements, as the s3compat driver once used here did)
// and break one rule.
var brokenDrivers = map[string]struct {
	wrap func(d driver.Driver) driver.Driver
	// noForce builds the driver without forceDelete, so the suite empties
	// buckets through Target.Objects.
	noForce bool
	want    string // in the child's output; "" means the child must pass
}{
	"conformant": {
		wrap: func(d driver.Driver) driver.Driver { return d },
	},
	"conformant without forceDelete": {
		wrap:    func(d driver.Driver) driver.Driver { return d },
		noForce: true,
	},
	"accepts an undeclared sub-resource": {
		wrap: func(d driver.Driver) driver.Driver {
			f := funcs(d)
			f.ApplyFn = func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
				b.Config.Lifecycle = nil // silently dropped
				return d.ApplyBucket(ctx, p, b)
			}
			return f
		},
		want: "does not declare lifecycle: ApplyBucket must refuse it with Unimplemented",
	},
	"maps refused credentials to Internal": {
		wrap: func(d driver.Driver) driver.Driver {
			f := funcs(d)
			f.CheckFn = func(ctx context.Context, p abi.ProviderConfig) error {
				if err := d.CheckProvider(ctx, p); abi.CodeOf(err) == abi.CodeAccessDenied {
					return abi.Errorf(abi.CodeInternal, "something failed")
				}
				return d.CheckProvider(ctx, p)
			}
			return f
		},
		want: "CheckProvider: Internal: something failed",
	},
	"observes a tag set it did not write": {
		wrap: func(d driver.Driver) driver.Driver {
			f := funcs(d)
			f.ObserveFn = func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
				obs, err := d.ObserveBucket(ctx, p, b)
				if obs.Config.Tagging != nil && len(obs.Config.Tagging.Tags) > 0 {
					obs.Config.Tagging.Tags["extra"] = "1"
				}
				return obs, err
			}
			return f
		},
		want: "observed tagging differs from what was written",
	},
	"deletes a missing bucket successfully": {
		wrap: func(d driver.Driver) driver.Driver {
			f := funcs(d)
			f.DeleteFn = func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
				if err := d.DeleteBucket(ctx, p, b); abi.CodeOf(err) != abi.CodeNotFound {
					return err
				}
				return nil
			}
			return f
		},
		want: "delete absent is NotFound",
	},
	"deletes a non-empty bucket without force": {
		wrap: func(d driver.Driver) driver.Driver {
			f := funcs(d)
			f.DeleteFn = func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
				b.Force = true
				return d.DeleteBucket(ctx, p, b)
			}
			return f
		},
		want: "DeleteBucket without force",
	},
}

func funcs(d driver.Driver) driver.Funcs {
	return driver.Funcs{Info: d.Describe(), CheckFn: d.CheckProvider, ObserveFn: d.ObserveBucket, ApplyFn: d.ApplyBucket, DeleteFn: d.DeleteBucket}
}

func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	if name := os.Getenv(envCase); name != "" {
		runCase(t, name)
		return
	}
	for name, c := range brokenDrivers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBrokenDrivers$", "-test.count=1")
			cmd.Env = append(os.Environ(), envCase+"="+name)
			out, err := cmd.CombinedOutput()
			if c.want == "" {
				require.NoError(t, err, "the unbroken driver passes the suite:\n%s", out)
				return
			}
			require.Error(t, err, "the suite must fail a driver that %s", name)
			assert.Contains(t, string(out), c.want)
		})
	}
}

func runCase(t *testing.T, name string) {
	c, ok := brokenDrivers[name]
	require.True(t, ok, name)
	caps := []string{abi.SubVersioning, abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock}
	if !c.noForce {
		caps = append(caps, abi.CapForceDelete)
	}
	m := newMemS3(caps...)
	drivertest.Run(t, c.wrap(m.driver()), drivertest.Target{Server: "memory", Provider: m.provider(), Objects: m})
}
