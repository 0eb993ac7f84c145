// Command rogue is a deliberately misbehaving driver module for tests. Every
// operation sends an HTTP GET through the host to the URL held in the
// Provider's region field, which a test sets to a server that is not the
// Provider's endpoint: the host must refuse it.
//
// ObserveBucket misbehaves further by bucket name: "trap" panics, "spin"
// loops forever, "leak-secret" logs the Provider's secret key (the host must
// redact it) and "echo-secret" returns it inside an error message.
//
// It serves every operation of the ABI, the user and key ones with results
// that echo their args, so a test can drive each through the host.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/drivers/rogue.wasm ./test/drivers/rogue
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/guest"
)

func main() {}

// hoard keeps what the "alloc" misbehaviour allocates reachable, so the
// collector cannot give it back.
var hoard [][]byte

// newRogue returns the driver; rt is guest.Transport() in the wasm module.
func newRogue(rt http.RoundTripper) driver.Driver {
	// The Provider's region picks the misbehaviour of CheckProvider, so each
	// hostile driver shows up as its own Provider.
	get := func(ctx context.Context, p abi.ProviderConfig) error {
		switch p.Region {
		case "trap":
			panic("rogue: trap requested")
		case "spin":
			for n := 0; ; n++ {
				_ = n
			}
		case "alloc":
			for {
				b := make([]byte, 16<<20)
				for i := range b { // touch it, so it is really there
					b[i] = 1
				}
				hoard = append(hoard, b)
			}
		case "flood":
			for i := range 1_000_000 {
				guest.Log("info", "rogue: flooding the log", map[string]any{"n": i})
			}
			return nil
		}
		return fetch(ctx, rt, p.Region)
	}
	f := driver.Funcs{
		Info: abi.DriverInfo{
			Name:         "rogue",
			Version:      "0.0.1",
			ABI:          abi.Version,
			Capabilities: []string{abi.CapBuckets, abi.CapAccessKeys},
			Operations:   abi.OperationsOf(abi.CapBuckets, abi.CapAccessKeys),
		},
		CheckFn: get,
		ObserveFn: func(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
			switch b.Name {
			case "trap":
				panic("rogue: trap requested")
			case "spin":
				for n := 0; ; n++ {
					_ = n
				}
			case "leak-secret":
				guest.Log("info", "the secret is "+p.Credentials.SecretAccessKey, map[string]any{"secret": p.Credentials.SecretAccessKey})
				return abi.BucketObservation{}, nil
			case "echo-secret":
				return abi.BucketObservation{}, abi.Errorf(abi.CodeInternal, "rogue: secret %s", p.Credentials.SecretAccessKey)
			}
			if err := get(ctx, p); err != nil {
				return abi.BucketObservation{}, err
			}
			return abi.BucketObservation{Exists: true}, nil
		},
		ApplyFn:  func(ctx context.Context, p abi.ProviderConfig, _ abi.BucketArgs) error { return get(ctx, p) },
		DeleteFn: func(ctx context.Context, p abi.ProviderConfig, _ abi.BucketArgs) error { return get(ctx, p) },
	}
	withUsers(&f, get)
	return f
}

// withUsers serves the user and key operations after get, echoing their args.
func withUsers(f *driver.Funcs, get func(context.Context, abi.ProviderConfig) error) {
	userErr := func(ctx context.Context, p abi.ProviderConfig, _ abi.UserArgs) error { return get(ctx, p) }
	keyErr := func(ctx context.Context, p abi.ProviderConfig, _ abi.AccessKeyArgs) error { return get(ctx, p) }
	f.ObserveUserFn = func(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
		if err := get(ctx, p); err != nil {
			return abi.UserObservation{}, err
		}
		return abi.UserObservation{Exists: true, Policy: u.Policy, Tags: u.Tags}, nil
	}
	f.ApplyUserFn, f.DeleteUserFn = userErr, userErr
	f.CreateAccessKeyFn = func(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
		if err := get(ctx, p); err != nil {
			return abi.NewAccessKey{}, err
		}
		return abi.NewAccessKey{ID: "key-of-" + k.User, Secret: "rogue-secret"}, nil
	}
	f.UpdateAccessKeyFn, f.DeleteAccessKeyFn = keyErr, keyErr
}

// fetch GETs target through rt. A failed request becomes Unavailable with the
// transport's error text, so a test can check the host named the refused host.
func fetch(ctx context.Context, rt http.RoundTripper, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "rogue: bad target URL %q: %v", target, err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return &abi.Error{Code: abi.CodeUnavailable, Message: fmt.Sprintf("rogue: GET %s failed: %v", target, err)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return &abi.Error{Code: abi.CodeUnavailable, Message: fmt.Sprintf("rogue: GET %s: reading the body after %d bytes: %v", target, n, err)}
	}
	if resp.StatusCode/100 != 2 {
		return &abi.Error{Code: abi.CodeUnavailable, Message: fmt.Sprintf("rogue: GET %s answered %d (redirects are not followed)", target, resp.StatusCode), HTTPStatus: resp.StatusCode}
	}
	return nil
}
