package s3compat

// Users and access keys (ABI 1.1) on the AWS IAM API, for providers that
// declare abi.CapAccessKeys: AWS itself, Wasabi, and anything else that
// speaks IAM's query protocol (versitygw's `iam` command, for one).

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/driverkit"
)

var _ sdkdriver.UserDriver = (*Driver)(nil)

// userParts are the names ObserveUser accepts, with the capability each needs.
var userParts = map[string]string{
	abi.UserPolicy:   abi.CapInlinePolicy,
	abi.UserTags:     abi.CapUserTags,
	abi.UserKeys:     abi.CapAccessKeys,
	abi.UserLastUsed: abi.CapKeyLastUsed,
}

// iamClient returns the cached IAM client for p, building it on first use.
func (d *Driver) iamClient(p abi.ProviderConfig) (*iam.Client, error) {
	if !d.caps[abi.CapAccessKeys] {
		return nil, abi.Errorf(abi.CodeUnimplemented, "the %s driver does not manage users and access keys", d.opts.Name)
	}
	if p.IAMEndpoint == "" {
		p.IAMEndpoint = d.opts.DefaultIAMEndpoint
	}
	return d.iamClients.Get(p, func() (*iam.Client, error) { return d.newIAMClient(p) })
}

func (d *Driver) newIAMClient(p abi.ProviderConfig) (*iam.Client, error) {
	ep := p.IAMEndpoint
	if ep == "" {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "the Provider has no IAM endpoint; set spec.iamEndpoint")
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "IAM endpoint %s is not a URL", driverkit.Endpoint(ep))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "IAM endpoint %s must be an http:// or https:// URL with a host", driverkit.Endpoint(ep))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "IAM endpoint %s must not carry a path, query or user info", driverkit.Endpoint(ep))
	}
	return iam.New(iam.Options{
		Region:           iamSigningRegion(u.Hostname(), d.opts.Quirks.IAMRegion),
		Credentials:      staticCredentials(p),
		BaseEndpoint:     aws.String(ep),
		HTTPClient:       d.httpClient(),
		DefaultsMode:     aws.DefaultsModeStandard,
		Retryer:          aws.NopRetryer{},
		RetryMaxAttempts: 1,
	}), nil
}

// iamSigningRegion is the region IAM requests to host are signed for. IAM is
// a global service signed for us-east-1, except in AWS's isolated partitions.
func iamSigningRegion(host, override string) string {
	switch {
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		return "cn-north-1"
	case host == "iam.us-gov.amazonaws.com":
		return "us-gov-west-1"
	case override != "":
		return override
	}
	return DefaultRegion
}

// checkUserName applies IAM's rules for user names: 1 to 64 characters of
// letters, digits and _+=,.@-.
func checkUserName(name string) error {
	if name == "" || len(name) > 64 {
		return abi.Errorf(abi.CodeInvalidArgument, "invalid user name %q: must be 1 to 64 characters long", name)
	}
	for _, c := range name {
		if !userNameChar(c) {
			return abi.Errorf(abi.CodeInvalidArgument, "invalid user name %q: may contain only letters, digits and _+=,.@-", name)
		}
	}
	return nil
}

// prepareUser validates the user name and returns the IAM client for p.
func (d *Driver) prepareUser(p abi.ProviderConfig, name string) (*iam.Client, error) {
	if err := checkUserName(name); err != nil {
		return nil, err
	}
	return d.iamClient(p)
}

// ObserveUser reports whether the user exists and the requested parts. A
// part the driver does not declare, or that the server answers as not
// implemented, lands in Unsupported; the rest is still observed. Existence
// rides on the first read that tells a missing user apart (ListAccessKeys or
// ListUserTags); GetUser is sent only when neither is requested.
func (d *Driver) ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (abi.UserObservation, error) {
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return abi.UserObservation{}, err
	}
	obs := abi.UserObservation{Exists: true}
	want, err := d.userWants(u, &obs)
	if err != nil {
		return abi.UserObservation{}, err
	}

	existenceKnown := false
	missing := func(err error) bool {
		return !existenceKnown && hasCode(err, "NoSuchEntity")
	}
	if want[abi.UserKeys] {
		keys, err := listKeys(ctx, c, u.Name)
		if missing(err) {
			return abi.UserObservation{}, nil
		}
		if err != nil {
			return abi.UserObservation{}, wrapIAM(err, "keys")
		}
		existenceKnown = true
		if want[abi.UserLastUsed] {
			if err := d.readLastUsed(ctx, c, keys, &obs); err != nil {
				return abi.UserObservation{}, err
			}
		}
		obs.Keys = keys
	}
	if want[abi.UserTags] {
		tags, err := listTags(ctx, c, u.Name)
		switch {
		case missing(err):
			return abi.UserObservation{}, nil
		case err == nil:
			existenceKnown = true
			obs.Tags = &abi.Tagging{Tags: tags}
		default:
			reason, ok := iamUnsupported(err)
			if !ok {
				return abi.UserObservation{}, wrapIAM(err, "tags")
			}
			setUserUnsupported(&obs, abi.UserTags, reason)
		}
	}
	if !existenceKnown {
		if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: &u.Name}); err != nil {
			if hasCode(err, "NoSuchEntity") {
				return abi.UserObservation{}, nil
			}
			return abi.UserObservation{}, mapIAMError(err)
		}
	}
	if want[abi.UserPolicy] {
		doc, err := getPolicy(ctx, c, u.Name, u.Policy.Name)
		if err != nil {
			reason, ok := iamUnsupported(err)
			if !ok {
				return abi.UserObservation{}, wrapIAM(err, "policy")
			}
			setUserUnsupported(&obs, abi.UserPolicy, reason)
		} else {
			obs.Policy = &abi.UserPolicyDoc{Name: u.Policy.Name, Document: doc}
		}
	}
	return obs, nil
}

// userWants returns the parts of u to read: those u.Observe names, with the
// keys when their last use is asked for, less those the driver does not
// declare, which land in obs as unsupported.
func (d *Driver) userWants(u abi.UserArgs, obs *abi.UserObservation) (map[string]bool, error) {
	want := map[string]bool{}
	for _, part := range u.Observe {
		if _, ok := userParts[part]; !ok {
			return nil, abi.Errorf(abi.CodeInvalidArgument, "cannot observe %q: not a part of a user", part)
		}
		want[part] = true
	}
	if want[abi.UserLastUsed] {
		want[abi.UserKeys] = true
	}
	for _, part := range []string{abi.UserPolicy, abi.UserTags, abi.UserLastUsed} {
		if want[part] && !d.caps[userParts[part]] {
			setUserUnsupported(obs, part, fmt.Sprintf("the %s driver does not support %s (capability %s)", d.opts.Name, part, userParts[part]))
			want[part] = false
		}
	}
	if want[abi.UserPolicy] && (u.Policy == nil || u.Policy.Name == "") {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "observing the policy of user %s needs the policy name (policy.name)", u.Name)
	}
	return want, nil
}

func setUserUnsupported(obs *abi.UserObservation, part, reason string) {
	if obs.Unsupported == nil {
		obs.Unsupported = map[string]string{}
	}
	obs.Unsupported[part] = reason
}

// iamPages is an IAM paginator, e.g. *iam.ListAccessKeysPaginator.
type iamPages[P any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*iam.Options)) (P, error)
}

// eachPage hands every page of pages to f, stopping at the first error.
func eachPage[P any](ctx context.Context, pages iamPages[P], f func(P)) error {
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		f(page)
	}
	return nil
}

// listKeys lists every access key of user, following the pagination.
func listKeys(ctx context.Context, c *iam.Client, user string) ([]abi.AccessKeyInfo, error) {
	var keys []abi.AccessKeyInfo
	err := eachPage(ctx, iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: &user}), func(page *iam.ListAccessKeysOutput) {
		for _, k := range page.AccessKeyMetadata {
			keys = append(keys, abi.AccessKeyInfo{
				ID:      aws.ToString(k.AccessKeyId),
				Status:  string(k.Status),
				Created: aws.ToTime(k.CreateDate).UTC(),
			})
		}
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// readLastUsed fills LastUsed of every key: one GetAccessKeyLastUsed each.
func (d *Driver) readLastUsed(ctx context.Context, c *iam.Client, keys []abi.AccessKeyInfo, obs *abi.UserObservation) error {
	for i := range keys {
		out, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: &keys[i].ID})
		switch {
		case err == nil:
			if out.AccessKeyLastUsed != nil {
				keys[i].LastUsed = aws.ToTime(out.AccessKeyLastUsed.LastUsedDate).UTC()
			}
		case hasCode(err, "NoSuchEntity"):
			// Deleted since it was listed: it has no last use to report.
		default:
			if reason, ok := iamUnsupported(err); ok {
				setUserUnsupported(obs, abi.UserLastUsed, reason)
				for j := range keys {
					keys[j].LastUsed = time.Time{}
				}
				return nil
			}
			return wrapIAM(err, "lastUsed")
		}
	}
	return nil
}

// listTags returns the user's tags, nil when it has none.
func listTags(ctx context.Context, c *iam.Client, user string) (map[string]string, error) {
	var tags map[string]string
	err := eachPage(ctx, iam.NewListUserTagsPaginator(c, &iam.ListUserTagsInput{UserName: &user}), func(page *iam.ListUserTagsOutput) {
		for _, t := range page.Tags {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	})
	if err != nil {
		return nil, err
	}
	return tags, nil
}

// getPolicy returns the user's inline policy document named name, "" when
// there is none. IAM returns the document URL-encoded (RFC 3986).
func getPolicy(ctx context.Context, c *iam.Client, user, name string) (string, error) {
	out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &user, PolicyName: &name})
	if err != nil {
		if hasCode(err, "NoSuchEntity") {
			return "", nil
		}
		return "", err
	}
	doc := aws.ToString(out.PolicyDocument)
	if dec, err := url.QueryUnescape(doc); err == nil {
		doc = dec
	}
	return doc, nil
}

// ApplyUser creates the user when u.Create is set (one that already exists
// is success), then writes exactly the non-nil parts: the inline policy (an
// empty document deletes it), then the tags (the complete set). A part the
// driver does not declare is refused with Unimplemented before anything is
// written.
func (d *Driver) ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	if u.Policy != nil {
		if !d.caps[abi.CapInlinePolicy] {
			return abi.Errorf(abi.CodeUnimplemented, "the %s driver does not support inline user policies", d.opts.Name)
		}
		if u.Policy.Name == "" {
			return abi.Errorf(abi.CodeInvalidArgument, "the inline policy of user %s has no name", u.Name)
		}
	}
	if u.Tags != nil && !d.caps[abi.CapUserTags] {
		return abi.Errorf(abi.CodeUnimplemented, "the %s driver does not support user tags", d.opts.Name)
	}
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return err
	}
	if u.Create {
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: &u.Name})
		if err != nil && !hasCode(err, "EntityAlreadyExists") {
			return mapIAMError(err)
		}
	}
	if u.Policy != nil {
		if err := writePolicy(ctx, c, u.Name, *u.Policy); err != nil {
			return unimplementedOr(err, "policy", "inline user policies")
		}
	}
	if u.Tags != nil {
		if err := writeTags(ctx, c, u.Name, u.Tags.Tags); err != nil {
			return unimplementedOr(err, "tags", "user tags")
		}
	}
	return nil
}

func writePolicy(ctx context.Context, c *iam.Client, user string, pol abi.UserPolicyDoc) error {
	if pol.Document == "" {
		_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &user, PolicyName: &pol.Name})
		if hasCode(err, "NoSuchEntity") {
			// The policy is gone: success. The user may be gone too; the
			// next observation tells.
			return nil
		}
		return err
	}
	_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &user, PolicyName: &pol.Name, PolicyDocument: &pol.Document})
	return err
}

// writeTags makes want the user's complete tag set: UntagUser for the keys
// to drop, TagUser for those to add or change.
func writeTags(ctx context.Context, c *iam.Client, user string, want map[string]string) error {
	have, err := listTags(ctx, c, user)
	if err != nil {
		return err
	}
	var drop []string
	for k := range have {
		if _, ok := want[k]; !ok {
			drop = append(drop, k)
		}
	}
	slices.Sort(drop)
	if len(drop) > 0 {
		if _, err := c.UntagUser(ctx, &iam.UntagUserInput{UserName: &user, TagKeys: drop}); err != nil {
			return err
		}
	}
	var set []iamtypes.Tag
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := have[k]; !ok || v != want[k] {
			set = append(set, iamtypes.Tag{Key: aws.String(k), Value: aws.String(want[k])})
		}
	}
	if len(set) > 0 {
		_, err := c.TagUser(ctx, &iam.TagUserInput{UserName: &user, Tags: set})
		return err
	}
	return nil
}

// unimplementedOr maps err; a server that does not implement the API
// becomes Unimplemented with a message that says which part.
func unimplementedOr(err error, part, what string) error {
	if reason, ok := iamUnsupported(err); ok {
		return &abi.Error{Code: abi.CodeUnimplemented, ProviderCode: providerCode(err),
			Message: fmt.Sprintf("%s: the IAM endpoint does not implement %s: %s", part, what, reason)}
	}
	return wrapIAM(err, part)
}

// DeleteUser deletes every inline policy of the user, then the user. A
// missing user is success; a user that still has keys (or anything else IAM
// refuses to delete it with) is Conflict.
func (d *Driver) DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	c, err := d.prepareUser(p, u.Name)
	if err != nil {
		return err
	}
	if d.caps[abi.CapInlinePolicy] {
		var names []string
		err := eachPage(ctx, iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: &u.Name}), func(page *iam.ListUserPoliciesOutput) {
			names = append(names, page.PolicyNames...)
		})
		switch _, unsupported := iamUnsupported(err); {
		case hasCode(err, "NoSuchEntity"):
			return nil
		case err != nil && !unsupported:
			return wrapIAM(err, "policy")
		case err != nil:
			// No ListUserPolicies: delete the one the host named.
			if u.Policy != nil && u.Policy.Name != "" {
				names = []string{u.Policy.Name}
			}
		}
		for _, name := range names {
			_, err := c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: &u.Name, PolicyName: aws.String(name)})
			if err != nil && !hasCode(err, "NoSuchEntity") {
				return wrapIAM(err, "policy")
			}
		}
	}
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: &u.Name})
	if hasCode(err, "NoSuchEntity") {
		return nil
	}
	return mapIAMError(err)
}

// CreateAccessKey creates an active key for k.User. The secret is returned
// as an abi.Secret, which never formats.
func (d *Driver) CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (abi.NewAccessKey, error) {
	c, err := d.prepareUser(p, k.User)
	if err != nil {
		return abi.NewAccessKey{}, err
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &k.User})
	if err != nil {
		return abi.NewAccessKey{}, mapIAMError(err)
	}
	if out.AccessKey == nil || aws.ToString(out.AccessKey.AccessKeyId) == "" || aws.ToString(out.AccessKey.SecretAccessKey) == "" {
		return abi.NewAccessKey{}, abi.Errorf(abi.CodeInternal, "CreateAccessKey for user %s answered without a key id or secret", k.User)
	}
	return abi.NewAccessKey{
		ID:      aws.ToString(out.AccessKey.AccessKeyId),
		Secret:  abi.Secret(aws.ToString(out.AccessKey.SecretAccessKey)),
		Created: aws.ToTime(out.AccessKey.CreateDate).UTC(),
	}, nil
}

// UpdateAccessKey sets the key's status to Active or Inactive.
func (d *Driver) UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	if k.Status != abi.KeyActive && k.Status != abi.KeyInactive {
		return abi.Errorf(abi.CodeInvalidArgument, "access key status %q must be %s or %s", k.Status, abi.KeyActive, abi.KeyInactive)
	}
	if k.ID == "" {
		return abi.Errorf(abi.CodeInvalidArgument, "UpdateAccessKey needs the key id")
	}
	c, err := d.prepareUser(p, k.User)
	if err != nil {
		return err
	}
	_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: &k.User, AccessKeyId: &k.ID, Status: iamtypes.StatusType(k.Status)})
	return mapIAMError(err)
}

// DeleteAccessKey deletes the key; a missing key (or user) is success.
func (d *Driver) DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	if k.ID == "" {
		return abi.Errorf(abi.CodeInvalidArgument, "DeleteAccessKey needs the key id")
	}
	c, err := d.prepareUser(p, k.User)
	if err != nil {
		return err
	}
	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: &k.User, AccessKeyId: &k.ID})
	if hasCode(err, "NoSuchEntity") {
		return nil
	}
	return mapIAMError(err)
}

// iamCodes maps IAM error codes to ABI codes. Codes missing here fall back
// to the HTTP status (401/403 AccessDenied, 404 NotFound, 501 Unimplemented,
// other 5xx Unavailable) and then to Internal.
var iamCodes = map[string]abi.Code{
	"NoSuchEntity":                  abi.CodeNotFound,
	"EntityAlreadyExists":           abi.CodeAlreadyExists,
	"LimitExceeded":                 abi.CodeConflict,
	"DeleteConflict":                abi.CodeConflict,
	"EntityTemporarilyUnmodifiable": abi.CodeConflict,
	"ConcurrentModification":        abi.CodeConflict,
	"AccessDenied":                  abi.CodeAccessDenied,
	"AccessDeniedException":         abi.CodeAccessDenied,
	"InvalidClientTokenId":          abi.CodeAccessDenied,
	"SignatureDoesNotMatch":         abi.CodeAccessDenied,
	"IncompleteSignature":           abi.CodeAccessDenied,
	"MissingAuthenticationToken":    abi.CodeAccessDenied,
	"ExpiredToken":                  abi.CodeAccessDenied,
	"InvalidAccessKeyId":            abi.CodeAccessDenied,
	"MalformedPolicyDocument":       abi.CodeInvalidArgument,
	"InvalidInput":                  abi.CodeInvalidArgument,
	"ValidationError":               abi.CodeInvalidArgument,
	"InvalidParameterValue":         abi.CodeInvalidArgument,
	"MissingParameter":              abi.CodeInvalidArgument,
	"InvalidRegion":                 abi.CodeInvalidArgument,
	"InvalidAction":                 abi.CodeUnimplemented,
	"NotImplemented":                abi.CodeUnimplemented,
	"ServiceFailure":                abi.CodeUnavailable,
	"InternalFailure":               abi.CodeUnavailable,
	"ServiceUnavailable":            abi.CodeUnavailable,
	"Throttling":                    abi.CodeUnavailable,
	"RequestTimeTooSkewed":          abi.CodeInternal,
}

// mapIAMError turns an error from the IAM client, the transport or the
// context into an *abi.Error. nil stays nil.
func mapIAMError(err error) error {
	if err == nil {
		return nil
	}
	return iamAnswers.toABI(err)
}

// iamAnswers: every 404 is NotFound, and a 5xx is Unavailable, as is
// what iamCodes maps there; the host retries those.
var iamAnswers = answers{
	codes: iamCodes,
	fallback: func(_ string, status int) abi.Code {
		switch {
		case status == http.StatusNotFound:
			return abi.CodeNotFound
		case status >= 500:
			return abi.CodeUnavailable
		}
		return abi.CodeInternal
	},
	retryable: func(code abi.Code, _ int) bool { return code == abi.CodeUnavailable },
	refuser:   "the IAM endpoint",
}

// wrapIAM maps err and prefixes its message with the part being handled.
func wrapIAM(err error, what string) error { return iamAnswers.wrap(err, what) }

func providerCode(err error) string {
	code, _, _, _ := providerError(err) //nolint:dogsled // only the code is asked for
	return code
}

// iamUnsupported reports whether err says the IAM endpoint does not
// implement the action (InvalidAction, NotImplemented or HTTP 501), and if
// so returns the server's answer as "<code>: <message>".
func iamUnsupported(err error) (string, bool) {
	code, msg, status, ok := providerError(err)
	if !ok {
		return "", false
	}
	if code != "InvalidAction" && code != "NotImplemented" && status != http.StatusNotImplemented {
		return "", false
	}
	return answerText(code, msg, status), true
}

// userNameChar reports whether c may appear in an IAM user name.
func userNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)
}
