// Package s3compat is a reusable sdk/driver.Driver for providers that speak
// the S3 API, built on aws-sdk-go-v2. A provider driver (plugins/aws,
// plugins/wasabi, …) is only an Options value: its name, version, the
// capabilities it declares and the quirks of the provider.
//
// The same code runs inside a wasm module (with guest.Transport) and natively
// (with any http.RoundTripper). It never reads the environment, shared config
// files or instance metadata: every client is built by hand from the
// abi.ProviderConfig of the call.
//
// It is a Go module of its own (github.com/pail-dev/pail/sdk/s3compat,
// nested in sdk/), so that aws-sdk-go-v2 is required only by the drivers
// built on it: the sdk module carries no cloud SDK.
package s3compat

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// DefaultRegion signs requests when neither the Provider nor the bucket names
// a region; it is also the region whose buckets need no LocationConstraint.
const DefaultRegion = "us-east-1"

// Quirks are the ways a provider departs from AWS S3 that the shared code
// has to know about. The zero value is AWS.
type Quirks struct {
	// NoMaxBuckets makes CheckProvider list buckets without the max-buckets
	// parameter, for providers that predate it.
	NoMaxBuckets bool
	// UnsupportedCodes are error codes, besides NotImplemented and HTTP 501,
	// with which the provider says it does not implement a sub-resource API.
	// ObserveBucket reports such a sub-resource as unsupported, and
	// ApplyBucket fails with Unimplemented.
	UnsupportedCodes []string
	// IAMRegion is the region IAM requests are signed for; "" is
	// us-east-1, whatever the Provider's region: AWS's global IAM endpoint
	// and Wasabi's document it, and versitygw v1.8.0's IAM API refuses any
	// other (SignatureDoesNotMatch: "Credential should be scoped to a valid
	// region"). AWS's China and GovCloud IAM endpoints are recognised by
	// host name.
	IAMRegion string
}

// Options parameterise a Driver.
type Options struct {
	// Name and Version identify the driver in its abi.DriverInfo.
	Name, Version string
	// Capabilities the provider supports: the abi.Sub* names,
	// abi.CapForceDelete and the user capabilities (abi.CapAccessKeys,
	// abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed).
	// abi.CapBuckets and abi.CapForceDelete are always declared. A
	// sub-resource that is not declared is never requested: ObserveBucket
	// reports it unsupported and ApplyBucket refuses it. abi.CapAccessKeys
	// adds the user and key operations (ABI 1.1), served by the IAM API;
	// the other user capabilities mean nothing without it.
	Capabilities []string
	// DefaultIAMEndpoint is the provider's IAM endpoint, used when the
	// Provider names none; it is declared in DriverInfo so the host can
	// allow it.
	DefaultIAMEndpoint string
	// EndpointHint completes the error for a Provider without an endpoint,
	// e.g. "set https://s3.<region>.wasabisys.com".
	EndpointHint string
	// Quirks of the provider.
	Quirks Quirks
}

// Driver implements sdk/driver.Driver on aws-sdk-go-v2's S3 client.
type Driver struct {
	rt   http.RoundTripper
	opts Options
	caps map[string]bool
	info abi.DriverInfo

	clients    driverkit.Clients[*s3.Client]
	iamClients driverkit.Clients[*iam.Client]
}

var _ sdkdriver.Driver = (*Driver)(nil)

// New returns a driver whose every request goes through rt: the host's
// transport in a wasm module, a plain http.Transport natively. A nil rt uses
// http.DefaultTransport.
func New(rt http.RoundTripper, o Options) *Driver {
	// The check transport proves, for CheckProvider only, that a 200 to
	// ListBuckets really is S3's answer.
	d := &Driver{rt: driverkit.CheckTransport(rt), opts: o, caps: map[string]bool{}}
	caps := []string{abi.CapBuckets}
	d.caps[abi.CapBuckets] = true
	for _, c := range append(append([]string(nil), o.Capabilities...), abi.CapForceDelete) {
		if !d.caps[c] {
			d.caps[c] = true
			caps = append(caps, c)
		}
	}
	d.info = abi.DriverInfo{
		Name:         o.Name,
		Version:      o.Version,
		ABI:          abi.Version,
		Capabilities: caps,
		Operations:   abi.OperationsOf(abi.CapBuckets),
	}
	if d.caps[abi.CapAccessKeys] {
		d.info.Operations = abi.OperationsOf(abi.CapBuckets, abi.CapAccessKeys)
		d.info.DefaultIAMEndpoint = o.DefaultIAMEndpoint
	} else {
		// Without the IAM API the other user capabilities mean nothing.
		for _, c := range []string{abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed} {
			if d.caps[c] {
				delete(d.caps, c)
				caps = slices.DeleteFunc(caps, func(x string) bool { return x == c })
			}
		}
		d.info.Capabilities = caps
	}
	return d
}

// Describe implements driver.Driver.
func (d *Driver) Describe() abi.DriverInfo {
	info := d.info
	info.Capabilities = append([]string(nil), d.info.Capabilities...)
	info.Operations = append([]string(nil), d.info.Operations...)
	return info
}

// Supports reports whether the driver declares capability c.
func (d *Driver) Supports(c string) bool { return d.caps[c] }

// client returns the cached S3 client for p, building it on first use.
func (d *Driver) client(p abi.ProviderConfig) (*s3.Client, error) {
	return d.clients.Get(p, func() (*s3.Client, error) { return d.newClient(p) })
}

// staticCredentials are p's credentials alone: never the environment,
// shared config files or instance metadata.
func staticCredentials(p abi.ProviderConfig) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(p.Credentials.AccessKeyID, p.Credentials.SecretAccessKey, p.Credentials.SessionToken)
}

// httpClient sends on the driver's transport and never follows a redirect:
// S3 redirects to another region's host, which the host refuses anyway, and
// the 3xx itself says what is wrong.
func (d *Driver) httpClient() *http.Client {
	rt := d.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (d *Driver) newClient(p abi.ProviderConfig) (*s3.Client, error) {
	if err := d.checkEndpoint(p.Endpoint); err != nil {
		return nil, err
	}
	region := p.Region
	if region == "" {
		region = DefaultRegion
	}
	c := s3.New(s3.Options{
		Region:       region,
		Credentials:  staticCredentials(p),
		BaseEndpoint: aws.String(p.Endpoint),
		UsePathStyle: p.PathStyle,
		HTTPClient:   d.httpClient(),
		// "standard" rather than "auto", which would look at the runtime
		// environment (and instance metadata) to pick a mode.
		DefaultsMode: aws.DefaultsModeStandard,
		// The host owns retries: one attempt, so a closed port fails fast.
		Retryer:          aws.NopRetryer{},
		RetryMaxAttempts: 1,
		// Checksums only where S3 requires them; they cost CPU in the guest.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// No S3 Express session, no multi-region access points: plain buckets.
		DisableS3ExpressSessionAuth:    aws.Bool(true),
		DisableMultiRegionAccessPoints: true,
		APIOptions:                     []func(*middleware.Stack) error{addContentMD5},
	})
	return c, nil
}

func (d *Driver) checkEndpoint(endpoint string) error {
	if endpoint == "" {
		msg := "the Provider has no endpoint"
		if d.opts.EndpointHint != "" {
			msg += "; " + d.opts.EndpointHint
		}
		return abi.Errorf(abi.CodeInvalidArgument, "%s", msg)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s is not a URL", driverkit.Endpoint(endpoint))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s must be an http:// or https:// URL with a host", driverkit.Endpoint(endpoint))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s must not carry a path, query or user info", driverkit.Endpoint(endpoint))
	}
	return nil
}

// checkBucketName applies S3's rules for general purpose bucket names.
func checkBucketName(name string) error {
	bad := func(why string) error {
		return abi.Errorf(abi.CodeInvalidArgument, "invalid bucket name %q: %s", name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	dots := 0
	allDigitsAndDots := true
	for i := range len(name) {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			allDigitsAndDots = false
		case c >= '0' && c <= '9':
		case c == '.':
			dots++
			if i > 0 && name[i-1] == '.' {
				return bad("must not contain two adjacent periods")
			}
		case c == '-':
			allDigitsAndDots = false
		default:
			return bad("may contain only lowercase letters, digits, periods and hyphens")
		}
	}
	first, last := name[0], name[len(name)-1]
	if !isAlnum(first) || !isAlnum(last) {
		return bad("must begin and end with a letter or digit")
	}
	if allDigitsAndDots && dots == 3 {
		return bad("must not be formatted as an IP address")
	}
	return nil
}

func isAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

// prepare validates the bucket name and returns the client for p.
func (d *Driver) prepare(p abi.ProviderConfig, b abi.BucketArgs) (*s3.Client, error) {
	if err := checkBucketName(b.Name); err != nil {
		return nil, err
	}
	return d.client(p)
}

// CheckProvider lists buckets, which needs both a reachable endpoint and
// accepted credentials; the answer must be a ListAllMyBucketsResult, or any
// web server answering 200 would pass.
func (d *Driver) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	ctx = driverkit.WithS3Check(ctx)
	c, err := d.client(p)
	if err != nil {
		return err
	}
	in := &s3.ListBucketsInput{}
	if !d.opts.Quirks.NoMaxBuckets {
		in.MaxBuckets = aws.Int32(1)
	}
	_, err = c.ListBuckets(ctx, in)
	return mapError(err)
}
