package accesskey

import (
	"maps"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// maxTagValue is IAM's limit on a tag value.
const maxTagValue = 256

// ownerTag is the value of the pail.dev/owner tag that marks the user as
// this AccessKey's at the provider: namespace/name/uid, or namespace/uid
// when that is too long (the UID is what proves it; the rest is for people).
func ownerTag(ak *pailv1.AccessKey) string {
	v := ak.Namespace + "/" + ak.Name + "/" + string(ak.UID)
	if len(v) > maxTagValue {
		v = ak.Namespace + "/" + string(ak.UID)
	}
	return v
}

// userTags is the user's whole tag set: spec.tags and the owner tag. Pail
// owns the set (syncUser writes it when it differs), so the owner tag is
// never dropped by a change to spec.tags.
func userTags(ak *pailv1.AccessKey) map[string]string {
	out := maps.Clone(ak.Spec.Tags)
	if out == nil {
		out = map[string]string{}
	}
	out[pailv1.TagOwner] = ownerTag(ak)
	return out
}
