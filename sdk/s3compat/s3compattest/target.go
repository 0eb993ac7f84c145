// Package s3compattest is the integration suite every sdk/s3compat driver
// runs against a real S3 server, and the helpers that find that server: an
// endpoint named by the environment, or a versitygw started for the test.
//
//	func TestIntegration(t *testing.T) {
//		s3compattest.Run(t, driver.New(http.DefaultTransport), s3compattest.TargetForTest(t))
//	}
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
	EnvSecretKey = "PAIL_S3_SECRET_KEY"
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
	// Unsupported, when not nil, lists the sub-resources the server does not
	// implement; the suite then checks the driver reports exactly these. nil
	// (an external endpoint) accepts and logs whatever the server says.
	Unsupported []string
	// Versioning is false when the server cannot version buckets.
	Versioning bool
}

// TargetForTest returns the endpoint named by the environment, or starts a
// versitygw for t (stopped when t ends). It skips t in -short mode and when
// there is neither.
func TargetForTest(t *testing.T) Target {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	if tgt, ok := TargetFromEnv(); ok {
		return tgt
	}
	return StartVersityGW(t, VersityGWBinary(t))
}

// TargetFromEnv reads PAIL_S3_*; ok is false when PAIL_S3_ENDPOINT is unset.
func TargetFromEnv() (Target, bool) {
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		return Target{}, false
	}
	region := os.Getenv(EnvRegion)
	if region == "" {
		region = "us-east-1"
	}
	return Target{
		Server: ep,
		Provider: abi.ProviderConfig{
			Name:      "external",
			Endpoint:  ep,
			Region:    region,
			PathStyle: os.Getenv(EnvPathStyle) != "false",
			Credentials: abi.Credentials{
				AccessKeyID:     os.Getenv(EnvAccessKey),
				SecretAccessKey: os.Getenv(EnvSecretKey),
			},
		},
		Versioning: true,
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
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
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
			return "", fmt.Errorf("no test/tools above the working directory")
		}
		dir = parent
	}
}

const (
	versityAccessKey = "pail-vgw-root"
	versitySecretKey = "pail-vgw-root-secret"
)

// StartVersityGW starts `versitygw posix` with a versioning directory and a
// file IAM store on a free loopback port for t, waits until a signed
// ListBuckets succeeds, and stops it when t ends.
func StartVersityGW(t *testing.T, bin string) Target {
	t.Helper()
	root := t.TempDir()
	data, versions, iam := filepath.Join(root, "data"), filepath.Join(root, "versions"), filepath.Join(root, "iam")
	for _, d := range []string{data, versions, iam} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin,
		"--access", versityAccessKey, "--secret", versitySecretKey,
		"--port", addr, "--quiet",
		// With an IAM store an unknown access key is InvalidAccessKeyId, as
		// on AWS; single-account mode answers XAdminUserNotFound (404).
		"--iam-dir", iam,
		"posix", "--versioning-dir", versions, data)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		werr := <-exited
		if t.Failed() {
			t.Logf("versitygw (%v) output:\n%s", werr, out.String())
		}
	})
	tgt := Target{
		Server: "versitygw",
		Provider: abi.ProviderConfig{
			Name:        "versitygw",
			Endpoint:    "http://" + addr,
			Region:      "us-east-1",
			PathStyle:   true,
			Credentials: abi.Credentials{AccessKeyID: versityAccessKey, SecretAccessKey: versitySecretKey},
		},
		Unsupported: VersityGWUnsupported,
		Versioning:  true,
	}
	c := Client(tgt.Provider)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("versitygw exited before it was ready: %v\n%s", err, out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return tgt
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw: ListBuckets still failing after 60s: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns a plain S3 client for p, for the test's own requests
// (objects, independent reads). Like the driver, it never reads the
// environment.
func Client(p abi.ProviderConfig) *s3.Client {
	region := p.Region
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		Region:                     region,
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
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
