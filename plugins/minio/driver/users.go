package driver

// Users and access keys (ABI 1.1) on MinIO's admin API, through madmin-go.
//
// MinIO has no AWS IAM API. The mapping:
//   - a user is a MinIO user named UserArgs.Name, created with a random
//     password that is never stored or returned (nothing signs with it);
//   - the user's access keys are its service accounts (AddServiceAccount
//     with TargetUser): they inherit the user's policies, and their status
//     on/off is Active/Inactive;
//   - the inline policy is a canned policy named UserPolicyDoc.Name attached
//     to the user; removing it detaches and deletes that policy. Canned
//     policies are global in MinIO, so the host must choose a name unique to
//     the user;
//   - MinIO has no user tags and does not report when a key was last used:
//     userTags and keyLastUsed are not declared.
//
// madmin encrypts the bodies of AddUser, AddServiceAccount and
// UpdateServiceAccount with the caller's secret key, and MinIO encrypts the
// answers of ListServiceAccounts and AddServiceAccount the same way. The
// wasm module is built with -tags fips, so madmin derives its own keys with
// PBKDF2 instead of argon2id (64 MiB per call); see README.md for what that
// changes.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/driverkit"
)

var _ sdkdriver.UserDriver = (*Driver)(nil)

func init() {
	// madmin retries a failed request up to 10 times with backoff (a
	// package variable); the host owns retries, so one attempt.
	madmin.MaxRetry = 1
}

// userCapabilities are the user capabilities the driver declares.
var userCapabilities = []string{abi.CapAccessKeys, abi.CapInlinePolicy}

// Why MinIO cannot report or store a part of a user.
const (
	noUserTags = "MinIO has no user tags"
	noLastUsed = "MinIO does not report when an access key was last used"
)

// MinIO's admin error codes the driver tells apart.
const (
	codeNoSuchUser         = "XMinioAdminNoSuchUser"
	codeNoSuchPolicy       = "XMinioAdminNoSuchPolicy"
	codeNoSuchSvcAcc       = "XMinioAdminServiceAccountNotFound"
	codeNoSuchAccessKey    = "XMinioAdminNoSuchAccessKey"
	codePolicyAlreadyInEff = "XMinioAdminPolicyChangeAlreadyApplied"
	codeInvalidIAMCreds    = "XMinioInvalidIAMCredentials"
	statusOn, statusOff    = "on", "off"
	passwordBytes          = 24 // 32 base64 characters; MinIO takes 8 to 40
	maxMinioUserName       = 64
)

// adminClient returns the cached madmin client for p, building it on first
// use. The admin API lives on the S3 endpoint unless the Provider names an
// IAM endpoint.
func (d *Driver) adminClient(p abi.ProviderConfig) (*madmin.AdminClient, error) {
	return d.admins.Get(p, func() (*madmin.AdminClient, error) {
		ep := p.IAMEndpoint
		if ep == "" {
			ep = p.Endpoint
		}
		u, err := url.Parse(ep)
		if err != nil {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "admin endpoint %s is not a URL", driverkit.Endpoint(ep))
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "admin endpoint %s must be an http:// or https:// URL with a host", driverkit.Endpoint(ep))
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "admin endpoint %s must not carry a path, query or user info", driverkit.Endpoint(ep))
		}
		c, err := madmin.NewWithOptions(u.Host, &madmin.Options{
			// Static credentials only: never an env or default provider chain.
			Creds:     credentials.NewStaticV4(p.Credentials.AccessKeyID, p.Credentials.SecretAccessKey, p.Credentials.SessionToken),
			Secure:    u.Scheme == "https",
			Transport: d.rt,
		})
		if err != nil {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "admin endpoint %s: %v", driverkit.Endpoint(ep), err)
		}
		return c, nil
	})
}

// checkUserName keeps to what MinIO accepts as a user's access key and what
// IAM allows in a user name.
func checkUserName(name string) error {
	if len(name) < 3 || len(name) > maxMinioUserName {
		return abi.Errorf(abi.CodeInvalidArgument, "invalid user name %q: must be 3 to %d characters long", name, maxMinioUserName)
	}
	for _, c := range name {
		if !userNameChar(c) {
			return abi.Errorf(abi.CodeInvalidArgument, "invalid user name %q: may contain only letters, digits and _+=,.@-", name)
		}
	}
	return nil
}

func (d *Driver) prepareUser(p abi.ProviderConfig, name string) (*madmin.AdminClient, error) {
	if err := checkUserName(name); err != nil {
		return nil, err
	}
	return d.adminClient(p)
}

// prepareKey checks the arguments of op, a call on an existing key, and
// returns the admin client for p.
func (d *Driver) prepareKey(p abi.ProviderConfig, k abi.AccessKeyArgs, op string) (*madmin.AdminClient, error) {
	if k.ID == "" {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "%s needs the key id", op)
	}
	return d.prepareUser(p, k.User)
}

// ObserveUser reads the user (GetUserInfo), then the requested parts: keys
// (ListServiceAccounts) and the inline policy (InfoCannedPolicyV2, only when
// it is attached). Tags and last use are reported unsupported.
func (d *Driver) ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return abi.UserObservation{}, err
	}
	want := map[string]bool{}
	for _, part := range u.Observe {
		switch part {
		case abi.UserPolicy, abi.UserTags, abi.UserKeys:
		case abi.UserLastUsed:
			want[abi.UserKeys] = true
		default:
			return abi.UserObservation{}, abi.Errorf(abi.CodeInvalidArgument, "cannot observe %q: not a part of a user", part)
		}
		want[part] = true
	}
	if want[abi.UserPolicy] && (u.Policy == nil || u.Policy.Name == "") {
		return abi.UserObservation{}, abi.Errorf(abi.CodeInvalidArgument, "observing the policy of user %s needs the policy name (policy.name)", u.Name)
	}
	info, err := c.GetUserInfo(ctx, u.Name)
	if hasCode(err, codeNoSuchUser) {
		return abi.UserObservation{}, nil
	}
	if err != nil {
		return abi.UserObservation{}, mapAdminError(err)
	}
	obs := abi.UserObservation{Exists: true}
	if want[abi.UserTags] {
		setUserUnsupported(&obs, abi.UserTags, noUserTags)
	}
	if want[abi.UserLastUsed] {
		setUserUnsupported(&obs, abi.UserLastUsed, noLastUsed)
	}
	if want[abi.UserKeys] {
		keys, err := listKeys(ctx, c, u.Name)
		if err != nil {
			return abi.UserObservation{}, adminError("keys", err)
		}
		obs.Keys = keys
	}
	if want[abi.UserPolicy] {
		obs.Policy = &abi.UserPolicyDoc{Name: u.Policy.Name}
		if attached(info, u.Policy.Name) {
			pi, err := c.InfoCannedPolicyV2(ctx, u.Policy.Name)
			switch {
			case hasCode(err, codeNoSuchPolicy):
			case err != nil:
				return abi.UserObservation{}, adminError("policy", err)
			default:
				obs.Policy.Document = observedPolicy(string(pi.Policy))
			}
		}
	}
	return obs, nil
}

func setUserUnsupported(obs *abi.UserObservation, part, reason string) {
	if obs.Unsupported == nil {
		obs.Unsupported = map[string]string{}
	}
	obs.Unsupported[part] = reason
}

// attached reports whether policy is among the user's attached policies
// (MinIO lists them comma-separated).
func attached(info madmin.UserInfo, policy string) bool {
	return slices.Contains(strings.Split(info.PolicyName, ","), policy)
}

// listKeys lists the service accounts of user. MinIO does not report when
// one was created.
func listKeys(ctx context.Context, c *madmin.AdminClient, user string) ([]abi.AccessKeyInfo, error) {
	resp, err := c.ListServiceAccounts(ctx, user)
	if err != nil {
		return nil, err
	}
	var keys []abi.AccessKeyInfo
	for _, a := range resp.Accounts {
		if a.ParentUser != "" && a.ParentUser != user {
			continue
		}
		status := abi.KeyActive
		if a.AccountStatus == statusOff {
			status = abi.KeyInactive
		}
		keys = append(keys, abi.AccessKeyInfo{ID: a.AccessKey, Status: status})
	}
	return keys, nil
}

// ApplyUser creates the user when u.Create is set and it does not exist
// (AddUser would reset an existing user's password), then writes the inline
// policy when u.Policy is set. Tags are refused, before anything is
// written, with Unimplemented.
func (d *Driver) ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	if u.Tags != nil {
		return abi.Errorf(abi.CodeUnimplemented, "tags: %s", noUserTags)
	}
	if u.Policy != nil && u.Policy.Name == "" {
		return abi.Errorf(abi.CodeInvalidArgument, "the inline policy of user %s has no name", u.Name)
	}
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return err
	}
	var info madmin.UserInfo
	if u.Create || u.Policy != nil {
		info, err = c.GetUserInfo(ctx, u.Name)
		switch {
		case hasCode(err, codeNoSuchUser) && u.Create:
			password, err := randomPassword()
			if err != nil {
				return err
			}
			if err := c.AddUser(ctx, u.Name, password); err != nil {
				return mapAdminError(err)
			}
			info = madmin.UserInfo{}
		case err != nil:
			return mapAdminError(err)
		}
	}
	if u.Policy != nil {
		if err := writePolicy(ctx, c, u.Name, info, *u.Policy); err != nil {
			return adminError("policy", err)
		}
	}
	return nil
}

func randomPassword() (string, error) {
	b := make([]byte, passwordBytes)
	if _, err := rand.Read(b); err != nil {
		return "", abi.Errorf(abi.CodeInternal, "generate a password: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writePolicy stores the canned policy and attaches it to the user, or, for
// an empty document, detaches and deletes it.
func writePolicy(ctx context.Context, c *madmin.AdminClient, user string, info madmin.UserInfo, pol abi.UserPolicyDoc) error {
	if pol.Document == "" {
		return removePolicy(ctx, c, user, info, pol.Name)
	}
	if err := c.AddCannedPolicy(ctx, pol.Name, []byte(pol.Document)); err != nil {
		return err
	}
	if attached(info, pol.Name) {
		return nil
	}
	_, err := c.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{pol.Name}, User: user})
	if hasCode(err, codePolicyAlreadyInEff) {
		return nil
	}
	return err
}

// removePolicy detaches the canned policy from the user and deletes it.
func removePolicy(ctx context.Context, c *madmin.AdminClient, user string, info madmin.UserInfo, name string) error {
	if attached(info, name) {
		_, err := c.DetachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: user})
		if err != nil && !hasCode(err, codePolicyAlreadyInEff, codeNoSuchPolicy, codeNoSuchUser) {
			return err
		}
	}
	err := c.RemoveCannedPolicy(ctx, name)
	if hasCode(err, codeNoSuchPolicy) {
		return nil
	}
	return err
}

// DeleteUser refuses, with Conflict, a user that still has keys (MinIO's
// RemoveUser would silently delete them too); then removes the inline
// policy named in u.Policy, if any, and the user. A missing user is success.
func (d *Driver) DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return err
	}
	info, err := c.GetUserInfo(ctx, u.Name)
	if hasCode(err, codeNoSuchUser) {
		if u.Policy != nil && u.Policy.Name != "" {
			// A retry after the user went: the policy may be left.
			return adminError("policy", removePolicy(ctx, c, u.Name, info, u.Policy.Name))
		}
		return nil
	}
	if err != nil {
		return mapAdminError(err)
	}
	keys, err := listKeys(ctx, c, u.Name)
	if err != nil {
		return adminError("keys", err)
	}
	if len(keys) > 0 {
		return &abi.Error{Code: abi.CodeConflict, ProviderCode: "DeleteConflict",
			Message: fmt.Sprintf("user %s still has %d access key(s); delete them first", u.Name, len(keys))}
	}
	if u.Policy != nil && u.Policy.Name != "" {
		if err := removePolicy(ctx, c, u.Name, info, u.Policy.Name); err != nil {
			return adminError("policy", err)
		}
	}
	err = c.RemoveUser(ctx, u.Name)
	if hasCode(err, codeNoSuchUser) {
		return nil
	}
	return mapAdminError(err)
}

// CreateAccessKey creates an active service account of k.User; it inherits
// the user's policies.
func (d *Driver) CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
	c, err := d.prepareUser(p, k.User)
	if err != nil {
		return abi.NewAccessKey{}, err
	}
	// MinIO would make a service account for a user it does not know as
	// long as the caller is root; the contract says NotFound.
	if _, err := c.GetUserInfo(ctx, k.User); err != nil {
		return abi.NewAccessKey{}, mapAdminError(err)
	}
	cred, err := c.AddServiceAccount(ctx, madmin.AddServiceAccountReq{TargetUser: k.User})
	if err != nil {
		return abi.NewAccessKey{}, mapAdminError(err)
	}
	if cred.AccessKey == "" || cred.SecretKey == "" {
		return abi.NewAccessKey{}, abi.Errorf(abi.CodeInternal, "AddServiceAccount for user %s answered without a key id or secret", k.User)
	}
	return abi.NewAccessKey{ID: cred.AccessKey, Secret: abi.Secret(cred.SecretKey)}, nil
}

// ownKey checks that the service account id belongs to user; a key of
// another user (or of none) is NotFound.
func ownKey(ctx context.Context, c *madmin.AdminClient, user, id string) error {
	info, err := c.InfoServiceAccount(ctx, id)
	if hasCode(err, codeInvalidIAMCreds, codeNoSuchSvcAcc, codeNoSuchAccessKey) {
		// MinIO answers an unknown service account with
		// XMinioInvalidIAMCredentials ("The specified service account is
		// not found"); the request itself was authenticated, or the code
		// would be InvalidAccessKeyId or SignatureDoesNotMatch.
		return &abi.Error{Code: abi.CodeNotFound, ProviderCode: madmin.ToErrorResponse(err).Code,
			Message: fmt.Sprintf("access key %s does not exist", id)}
	}
	if err != nil {
		return mapAdminError(err)
	}
	if info.ParentUser != user {
		return &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("access key %s is not a key of user %s", id, user)}
	}
	return nil
}

// UpdateAccessKey turns the service account on (Active) or off (Inactive).
func (d *Driver) UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	var status string
	switch k.Status {
	case abi.KeyActive:
		status = statusOn
	case abi.KeyInactive:
		status = statusOff
	default:
		return abi.Errorf(abi.CodeInvalidArgument, "access key status %q must be %s or %s", k.Status, abi.KeyActive, abi.KeyInactive)
	}
	c, err := d.prepareKey(p, k, "UpdateAccessKey")
	if err != nil {
		return err
	}
	if err := ownKey(ctx, c, k.User, k.ID); err != nil {
		return err
	}
	return mapAdminError(c.UpdateServiceAccount(ctx, k.ID, madmin.UpdateServiceAccountReq{NewStatus: status}))
}

// DeleteAccessKey deletes the service account; a missing one, or one that
// is not k.User's, is success (and left alone).
func (d *Driver) DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	c, err := d.prepareKey(p, k, "DeleteAccessKey")
	if err != nil {
		return err
	}
	if err := ownKey(ctx, c, k.User, k.ID); err != nil {
		if abi.CodeOf(err) == abi.CodeNotFound {
			return nil
		}
		return err
	}
	err = c.DeleteServiceAccount(ctx, k.ID)
	if abi.CodeOf(mapAdminError(err)) == abi.CodeNotFound {
		return nil
	}
	return mapAdminError(err)
}

// adminCodes maps MinIO admin error codes to ABI codes; S3 codes the admin
// API shares (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, …)
// come from s3Codes.
var adminCodes = map[string]abi.Code{
	codeNoSuchUser:                         abi.CodeNotFound,
	codeNoSuchPolicy:                       abi.CodeNotFound,
	codeNoSuchSvcAcc:                       abi.CodeNotFound,
	codeNoSuchAccessKey:                    abi.CodeNotFound,
	"XMinioAdminNoSuchUserLDAPWarn":        abi.CodeNotFound,
	codeInvalidIAMCreds:                    abi.CodeAccessDenied,
	"XMinioMalformedIAMPolicy":             abi.CodeInvalidArgument,
	"XMinioIAMActionNotAllowed":            abi.CodeAccessDenied,
	"XMinioAdminCredentialsMismatch":       abi.CodeAccessDenied,
	"XMinioMalformedJSON":                  abi.CodeInvalidArgument,
	"XMinioAdminInvalidArgument":           abi.CodeInvalidArgument,
	"XMinioAdminInvalidAccessKey":          abi.CodeInvalidArgument,
	"XMinioAdminInvalidSecretKey":          abi.CodeInvalidArgument,
	"XMinioAdminResourceInvalidArgument":   abi.CodeInvalidArgument,
	"XMinioAdminConfigBadJSON":             abi.CodeInvalidArgument,
	"XMinioAdminAccountNotEligible":        abi.CodeInvalidArgument,
	"XMinioAdminServiceAccountNotEligible": abi.CodeInvalidArgument,
	"MalformedPolicy":                      abi.CodeInvalidArgument,
	"XMinioIAMNotInitialized":              abi.CodeUnavailable,
	"XMinioServerNotInitialized":           abi.CodeUnavailable,
	"XMinioAdminNotImplemented":            abi.CodeUnimplemented,
	codePolicyAlreadyInEff:                 abi.CodeConflict,
}

// hasCode reports whether err is a MinIO admin answer with one of codes.
func hasCode(err error, codes ...string) bool {
	var er madmin.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	return slices.Contains(codes, er.Code)
}

// mapAdminError turns an error from madmin, the transport or the context
// into an *abi.Error. nil stays nil. madmin's errors carry MinIO's code and
// message but no HTTP status.
func mapAdminError(err error) error {
	return toABI(err, func(err error) *abi.Error {
		var er madmin.ErrorResponse
		if !errors.As(err, &er) || er.Code == "" {
			return nil
		}
		return adminAnswer(er)
	})
}

func adminAnswer(er madmin.ErrorResponse) *abi.Error {
	code, ok := adminCodes[er.Code]
	if !ok {
		code, ok = s3Codes[er.Code]
	}
	if !ok {
		code = abi.CodeInternal
	}
	msg := er.Message
	if msg == "" {
		msg = "no message"
	}
	return &abi.Error{Code: code, Message: answerMessage(code, er.Code, msg), ProviderCode: er.Code, Retryable: code == abi.CodeUnavailable}
}

// adminError maps err and names the part it concerns; nil stays nil.
func adminError(part string, err error) error { return withPart(part, mapAdminError(err)) }

// userNameChar reports whether c may appear in an IAM user name.
func userNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)
}
