package abi

import (
	"fmt"
	"slices"
	"time"
)

// Capabilities of the user and key operations.
const (
	// CapAccessKeys: users and their access keys (create, list, update, delete).
	CapAccessKeys = "accessKeys"
	// CapInlinePolicy: a user carries one inline identity policy.
	CapInlinePolicy = "inlinePolicy"
	// CapUserTags: a user carries tags.
	CapUserTags = "userTags"
	// CapKeyLastUsed: the provider reports when a key was last used.
	CapKeyLastUsed = "keyLastUsed"
)

// UserCapabilities lists the capabilities of the user and key operations,
// CapAccessKeys (which the others need) first.
func UserCapabilities() []string {
	return []string{CapAccessKeys, CapInlinePolicy, CapUserTags, CapKeyLastUsed}
}

// AllCapabilities lists every capability this ABI defines: CapBuckets, those
// of the bucket sub-resources (BucketCapabilities), CapForceDelete and the
// user ones (UserCapabilities), in that order.
func AllCapabilities() []string {
	return slices.Concat([]string{CapBuckets}, BucketCapabilities(), []string{CapForceDelete}, UserCapabilities())
}

// Parts of a user that ObserveUser reads when asked in UserArgs.Observe.
const (
	UserPolicy = "policy"
	UserTags   = "tags"
	UserKeys   = "keys"
	// UserLastUsed asks for AccessKeyInfo.LastUsed of every key; it implies UserKeys.
	UserLastUsed = "lastUsed"
)

// Key statuses.
const (
	KeyActive   = "Active"
	KeyInactive = "Inactive"
)

// UserArgs are the arguments of ObserveUser, ApplyUser and DeleteUser.
type UserArgs struct {
	Name string `json:"name"`

	// Observe lists the parts ObserveUser reads (UserPolicy, UserTags,
	// UserKeys, UserLastUsed).
	Observe []string `json:"observe,omitempty"`

	// Create asks ApplyUser to create the user first.
	Create bool `json:"create,omitempty"`
	// Policy, when non-nil, is the inline identity policy ApplyUser writes;
	// an empty Document removes it. The host chose to write it by diffing.
	// ObserveUser (with UserPolicy) and DeleteUser read only its Name: the
	// provider-side name of the policy to read or delete.
	Policy *UserPolicyDoc `json:"policy,omitempty"`
	// Tags, when non-nil, is the complete tag set ApplyUser writes: tags not
	// in it are removed.
	Tags *Tagging `json:"tags,omitempty"`
}

// UserPolicyDoc is an identity policy. Name is the provider-side policy name
// the host chose; Document is JSON.
type UserPolicyDoc struct {
	Name     string `json:"name"`
	Document string `json:"document,omitempty"`
}

// UserObservation is what ObserveUser reports. Exists false means the user is
// absent and nothing else is set.
type UserObservation struct {
	Exists bool `json:"exists"`
	// Policy is nil when not read, and has an empty Document when the user
	// has no inline policy of that name.
	Policy *UserPolicyDoc `json:"policy,omitempty"`
	Tags   *Tagging       `json:"tags,omitempty"`
	// Keys is every access key of the user, whoever created it.
	Keys []AccessKeyInfo `json:"keys,omitempty"`
	// Unsupported maps a requested part the provider cannot report to its answer.
	Unsupported map[string]string `json:"unsupported,omitempty"`
}

// AccessKeyInfo describes one key without its secret.
type AccessKeyInfo struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"` // KeyActive | KeyInactive
	Created time.Time `json:"created,omitzero"`
	// LastUsed is zero when never used or not reported.
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// AccessKeyArgs are the arguments of the key operations. ID is empty for
// CreateAccessKey; Status is the new status for UpdateAccessKey.
type AccessKeyArgs struct {
	User   string `json:"user"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`
}

// NewAccessKey is the result of CreateAccessKey: the only time a secret
// crosses the ABI towards the host.
type NewAccessKey struct {
	ID      string    `json:"id"`
	Secret  Secret    `json:"secret"`
	Created time.Time `json:"created,omitzero"`
}

// Secret is a secret string that formats as REDACTED with every verb, so an
// accidental log line or error message cannot carry it. JSON carries it
// verbatim: that is how it reaches the host.
type Secret string

// String redacts s.
func (s Secret) String() string { return "REDACTED" }

// GoString redacts s for %#v.
func (s Secret) GoString() string { return s.String() }

// Format redacts s for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// Reveal returns the secret itself, for the code that must send it.
func (s Secret) Reveal() string { return string(s) }
