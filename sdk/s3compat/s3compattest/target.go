// Package s3compattest finds the real S3 and IAM servers the conformance
// suite (sdk/drivertest) runs an sdk/s3compat driver against (an endpoint
// named by the environment, or a versitygw started for the test) and brings
// the suite the aws-sdk-go-v2 object client it needs (Objects). The checks
// themselves are drivertest's alone.
//
//	func TestConformance(t *testing.T) { s3compattest.RunConformance(t, driver.New) }
//
// PAIL_S3_ENDPOINT, PAIL_S3_ACCESS_KEY, PAIL_S3_SECRET_KEY and
// PAIL_S3_REGION (default us-east-1) select an existing endpoint; set
// PAIL_S3_PATH_STYLE=false for virtual-hosted addressing. Otherwise the suite
// starts versitygw in posix mode with versioning, from $PAIL_VERSITYGW_BIN or
// the cache of test/tools (`go run ./cmd/pail-tools ensure versitygw`), and
// skips when neither has a binary.
package s3compattest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pail-dev/pail/sdk/abi"
)

// Environment variables that point the suite at an existing endpoint.
const (
	EnvEndpoint  = "PAIL_S3_ENDPOINT"
	EnvAccessKey = "PAIL_S3_ACCESS_KEY"
	EnvSecretKey = "PAIL_S3_SECRET_KEY" //nolint:gosec // the name of a variable, not a secret
	EnvRegion    = "PAIL_S3_REGION"
	EnvPathStyle = "PAIL_S3_PATH_STYLE"
	// EnvVersityGWBin names the versitygw binary to start.
	EnvVersityGWBin = "PAIL_VERSITYGW_BIN"
)

// VersityGWUnsupported lists the sub-resources versitygw v1.8.0 (posix
// backend) answers NotImplemented (HTTP 501, "A header you provided implies
// functionality that is not implemented.") for, on both Get and Put: default
// bucket encryption, public access block and lifecycle.
var VersityGWUnsupported = []string{abi.SubEncryption, abi.SubPublicAccessBlock, abi.SubLifecycle}

// Target is the S3 server the suite runs against.
type Target struct {
	// Server names it in messages: "versitygw" or the endpoint.
	Server string
	// Provider is how the driver reaches it, with working credentials.
	Provider abi.ProviderConfig
	// Unsupported lists the sub-resources the server does not implement
	// (drivertest.Target.Unsupported); none for an external endpoint.
	Unsupported []string
}

// TargetForTest returns the endpoint named by the environment, or starts a
// versitygw for t (stopped when t ends). It skips t in -short mode and when
// there is neither.
func TargetForTest(t *testing.T) Target {
	t.Helper()
	return forTest(t, TargetFromEnv, StartVersityGW)
}

// forTest returns the target fromEnv reads, or the one start starts with
// the versitygw binary; it skips t in -short mode and when there is neither.
func forTest[T any](t *testing.T, fromEnv func() (T, bool), start func(*testing.T, string) T) T {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	if tgt, ok := fromEnv(); ok {
		return tgt
	}
	return start(t, VersityGWBinary(t))
}

// envRegion is PAIL_S3_REGION, by default us-east-1.
func envRegion() string { return orDefaultRegion(os.Getenv(EnvRegion)) }

// orDefaultRegion is region, or us-east-1 when it is "".
func orDefaultRegion(region string) string {
	if region == "" {
		return "us-east-1"
	}
	return region
}

// TargetFromEnv reads PAIL_S3_*; ok is false when PAIL_S3_ENDPOINT is unset.
func TargetFromEnv() (Target, bool) {
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		return Target{}, false
	}
	return Target{
		Server: ep,
		Provider: abi.ProviderConfig{
			Name:      "external",
			Endpoint:  ep,
			Region:    envRegion(),
			PathStyle: os.Getenv(EnvPathStyle) != "false",
			Credentials: abi.Credentials{
				AccessKeyID:     os.Getenv(EnvAccessKey),
				SecretAccessKey: os.Getenv(EnvSecretKey),
			},
		},
	}, true
}

// VersityGWBinary finds versitygw: $PAIL_VERSITYGW_BIN, then the cache of
// test/tools (asked with `go run ./cmd/pail-tools path versitygw`, walking up
// from the working directory to find test/tools). It skips t without one.
func VersityGWBinary(t *testing.T) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv(EnvVersityGWBin); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := toolsPath("versitygw"); err == nil {
		candidates = append(candidates, p)
	} else {
		t.Logf("asking test/tools for the versitygw path: %v", err)
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 { //nolint:gosec // the paths are the tester's own configuration
			return p
		}
	}
	t.Skipf("no versitygw binary (looked at %q); build one with `cd test/tools && go run ./cmd/pail-tools ensure versitygw`, set %s, or point %s at an S3 endpoint",
		candidates, EnvVersityGWBin, EnvEndpoint)
	return ""
}

// toolsPath asks test/tools, found by walking up from the working
// directory, where it caches the named server.
func toolsPath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		tools := filepath.Join(dir, "test", "tools")
		if _, err := os.Stat(filepath.Join(tools, "go.mod")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "run", "./cmd/pail-tools", "path", name)
			cmd.Dir = tools
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
			}
			return strings.TrimSpace(string(out)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no test/tools above the working directory")
		}
		dir = parent
	}
}

const (
	versityAccessKey = "pail-vgw-root"
	versitySecretKey = "pail-vgw-root-secret" //nolint:gosec // the root key of a throwaway test gateway
)

// StartVersityGW starts `versitygw posix` with a versioning directory and a
// file IAM store on a free loopback port for t, waits until a signed
// ListBuckets succeeds, and stops it when t ends.
func StartVersityGW(t *testing.T, bin string) Target {
	t.Helper()
	root := t.TempDir()
	data, versions, iam := filepath.Join(root, "data"), filepath.Join(root, "versions"), filepath.Join(root, "iam")
	mkdirs(t, 0o755, data, versions, iam)
	addr := freeAddr(t)
	tgt := Target{
		Server:      "versitygw",
		Provider:    versityProvider("http://"+addr, ""),
		Unsupported: VersityGWUnsupported,
	}
	start(t, "versitygw", bin, []string{
		"--access", versityAccessKey, "--secret", versitySecretKey,
		"--port", addr, "--quiet",
		// With an IAM store an unknown access key is InvalidAccessKeyId, as
		// on AWS; single-account mode answers XAdminUserNotFound (404).
		"--iam-dir", iam,
		"posix", "--versioning-dir", versions, data,
	}, listBuckets(tgt.Provider))
	return tgt
}

// versityProvider reaches a versitygw started here, as its root account.
func versityProvider(endpoint, iamEndpoint string) abi.ProviderConfig {
	return abi.ProviderConfig{
		Name:        "versitygw",
		Endpoint:    endpoint,
		IAMEndpoint: iamEndpoint,
		Region:      "us-east-1",
		PathStyle:   true,
		Credentials: abi.Credentials{AccessKeyID: versityAccessKey, SecretAccessKey: versitySecretKey},
	}
}

// listBuckets is a readiness check: a signed ListBuckets succeeds.
func listBuckets(p abi.ProviderConfig) func(ctx context.Context) error {
	c := Client(p)
	return func(ctx context.Context) error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}
}

func mkdirs(t *testing.T, perm os.FileMode, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, perm); err != nil {
			t.Fatal(err)
		}
	}
}

// Client returns a plain S3 client for p, for the test's own requests
// (objects, independent reads). Like the driver, it never reads the
// environment.
func Client(p abi.ProviderConfig) *s3.Client {
	return s3.New(s3.Options{
		Region:                     orDefaultRegion(p.Region),
		Credentials:                credentials.NewStaticCredentialsProvider(p.Credentials.AccessKeyID, p.Credentials.SecretAccessKey, p.Credentials.SessionToken),
		BaseEndpoint:               aws.String(p.Endpoint),
		UsePathStyle:               p.PathStyle,
		HTTPClient:                 &http.Client{Timeout: 30 * time.Second},
		DefaultsMode:               aws.DefaultsModeStandard,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// freeAddr reserves an ephemeral loopback port and releases it for the server.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
