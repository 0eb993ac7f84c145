package s3compattest

// The IAM side: a target for the conformance suite's users and access keys
// (drivertest.Target.Users), from the environment or a versitygw started
// for the test.
//
// PAIL_IAM_ENDPOINT selects an existing IAM endpoint, signed with
// PAIL_IAM_ACCESS_KEY and PAIL_IAM_SECRET_KEY (default: the PAIL_S3_* keys).
// When PAIL_S3_ENDPOINT is set as well, the suite proves that a created key
// works there. Otherwise the suite starts versitygw's IAM API server
// (`versitygw iam --dir D --private-ports SOCKET`) and an S3 gateway that
// authenticates against it (`versitygw --iam-standalone-endpoint SOCKET
// posix …`).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pail-dev/pail/sdk/abi"
)

// Environment variables that point the user suite at an existing IAM endpoint.
const (
	EnvIAMEndpoint  = "PAIL_IAM_ENDPOINT"
	EnvIAMAccessKey = "PAIL_IAM_ACCESS_KEY"
	EnvIAMSecretKey = "PAIL_IAM_SECRET_KEY" //nolint:gosec // the name of a variable, not a secret
)

// IAMTarget is the IAM server the suite's users go to.
type IAMTarget struct {
	// Server names it in messages: "versitygw" or the endpoint.
	Server string
	// Provider reaches it: IAMEndpoint is the IAM API, Endpoint (when not
	// "") an S3 endpoint that accepts the keys the IAM API creates and
	// enforces their users' inline policies.
	Provider abi.ProviderConfig
	// Unsupported lists the user parts (abi.UserTags, …) the server does
	// not implement (drivertest.Target.UsersUnsupported).
	Unsupported []string
	// LastUsedAtOnce is true when a key's last use is recorded as soon as
	// it signs a request (versitygw); AWS takes hours.
	LastUsedAtOnce bool
	// Propagation bounds how long a new key or policy may take to work on
	// the S3 endpoint (AWS IAM is eventually consistent).
	Propagation time.Duration
}

// IAMTargetForTest returns the IAM endpoint named by the environment, or
// starts versitygw's IAM server and a paired S3 gateway for t (stopped when
// t ends). It skips t in -short mode and when there is neither.
func IAMTargetForTest(t *testing.T) IAMTarget {
	t.Helper()
	return forTest(t, IAMTargetFromEnv, StartVersityIAM)
}

// IAMTargetFromEnv reads PAIL_IAM_* (and PAIL_S3_*); ok is false when
// PAIL_IAM_ENDPOINT is unset.
func IAMTargetFromEnv() (IAMTarget, bool) {
	ep := os.Getenv(EnvIAMEndpoint)
	if ep == "" {
		return IAMTarget{}, false
	}
	ak, sk := os.Getenv(EnvIAMAccessKey), os.Getenv(EnvIAMSecretKey)
	if ak == "" {
		ak, sk = os.Getenv(EnvAccessKey), os.Getenv(EnvSecretKey)
	}
	return IAMTarget{
		Server: ep,
		Provider: abi.ProviderConfig{
			Name:        "external",
			Endpoint:    os.Getenv(EnvEndpoint),
			IAMEndpoint: ep,
			Region:      envRegion(),
			PathStyle:   os.Getenv(EnvPathStyle) != "false",
			Credentials: abi.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		},
		Propagation: 60 * time.Second,
	}, true
}

// StartVersityIAM starts versitygw's IAM API server with a file store and
// a private unix socket, and an S3 gateway (posix) that resolves keys and
// evaluates identity policies through that socket, both on free loopback
// ports, and stops them when t ends.
//
// The gateway's own `--iam-dir` is no substitute: it keeps accounts in
// users.json, while `versitygw iam --dir` keeps IAM users in iam.json, so a
// key created through the IAM API is InvalidAccessKeyId on a gateway
// started with `--iam-dir` on the same directory.
func StartVersityIAM(t *testing.T, bin string) IAMTarget {
	t.Helper()
	// A unix socket path is limited to ~108 bytes; t.TempDir can be longer.
	sockDir, err := os.MkdirTemp("", "pail-iam-") //nolint:usetesting // see above: the socket path must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "private.sock")
	root := t.TempDir()
	store, data := filepath.Join(root, "iam"), filepath.Join(root, "data")
	mkdirs(t, 0o700, store, data)
	iamAddr, s3Addr := freeAddr(t), freeAddr(t)
	iamEP, s3EP := "http://"+iamAddr, "http://"+s3Addr
	start(t, "versitygw iam", bin,
		[]string{"--access", versityAccessKey, "--secret", versitySecretKey, "--port", iamAddr, "--quiet",
			"iam", "--dir", store, "--private-ports", sock},
		func(ctx context.Context) error { return iamReady(ctx, iamEP) })
	p := versityProvider(s3EP, iamEP)
	start(t, "versitygw s3", bin,
		[]string{"--access", versityAccessKey, "--secret", versitySecretKey, "--port", s3Addr, "--quiet",
			"--iam-standalone-endpoint", sock, "posix", data},
		listBuckets(p))
	return IAMTarget{
		Server:         "versitygw",
		Provider:       p,
		Unsupported:    VersityIAMUnsupported,
		LastUsedAtOnce: true,
	}
}

// VersityIAMUnsupported lists the user parts versitygw v1.8.0's IAM API
// does not implement: none. Run against it, every call the driver makes
// succeeds: CreateUser, GetUser, DeleteUser, TagUser, UntagUser,
// ListUserTags, PutUserPolicy, GetUserPolicy, DeleteUserPolicy,
// ListUserPolicies, CreateAccessKey, ListAccessKeys, UpdateAccessKey,
// DeleteAccessKey and GetAccessKeyLastUsed.
var VersityIAMUnsupported = []string{}

// iamReady is an unsigned ListUsers drawing the IAM API's own
// MissingAuthenticationToken, which proves the IAM handler is up.
func iamReady(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf [4096]byte
	n, _ := resp.Body.Read(buf[:])
	if !strings.Contains(string(buf[:n]), "MissingAuthenticationToken") {
		return fmt.Errorf("unsigned ListUsers answered %s: %.200s", resp.Status, buf[:n])
	}
	return nil
}

// start runs bin with args until t ends, waiting up to 60s for ready.
func start(t *testing.T, name, bin string, args []string, ready func(ctx context.Context) error) {
	t.Helper()
	cmd := exec.Command(bin, args...) //nolint:noctx // t's cleanup kills it, after which its output is logged
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		werr := <-exited
		if t.Failed() {
			t.Logf("%s (%v) output:\n%s", name, werr, out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited before it was ready: %v\n%s", name, err, out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not ready after 60s: %v\n%s", name, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
