package drivertest_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

// The suite is tested on drivers that break one rule each: run against a
// real versitygw, each must fail with the message naming that rule, and the
// unbroken driver must pass. Each case runs in a child test process, because
// a failing suite fails the *testing.T it is given.

const envCase = "PAIL_DRIVERTEST_SELFTEST_CASE"

// brokenDrivers wrap a conformant driver (sdk/s3compat declaring what
// versitygw posix implements) and break one rule.
var brokenDrivers = map[string]struct {
	wrap func(d *s3compat.Driver) driver.Driver
	want string // in the child's output; "" means the child must pass
}{
	"conformant": {
		wrap: func(d *s3compat.Driver) driver.Driver { return d },
	},
	"accepts an undeclared sub-resource": {
		wrap: func(d *s3compat.Driver) driver.Driver {
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
		wrap: func(d *s3compat.Driver) driver.Driver {
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
		wrap: func(d *s3compat.Driver) driver.Driver {
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
		wrap: func(d *s3compat.Driver) driver.Driver {
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
}

func funcs(d *s3compat.Driver) driver.Funcs {
	return driver.Funcs{Info: d.Describe(), CheckFn: d.CheckProvider, ObserveFn: d.ObserveBucket, ApplyFn: d.ApplyBucket, DeleteFn: d.DeleteBucket}
}

func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	if name := os.Getenv(envCase); name != "" {
		runCase(t, name)
		return
	}
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	bin := s3compattest.VersityGWBinary(t)
	for name, c := range brokenDrivers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBrokenDrivers$", "-test.count=1")
			cmd.Env = append(os.Environ(), envCase+"="+name, s3compattest.EnvVersityGWBin+"="+bin)
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
	tgt := s3compattest.StartVersityGW(t, os.Getenv(s3compattest.EnvVersityGWBin))
	d := s3compat.New(http.DefaultTransport.(*http.Transport).Clone(), s3compat.Options{
		Name: "selftest", Version: "0.0.0",
		Capabilities: []string{abi.SubVersioning, abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock},
	})
	drivertest.Run(t, c.wrap(d), drivertest.Target{Server: tgt.Server, Provider: tgt.Provider})
}
