package bucketdiff

import (
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/pail-dev/pail/sdk/abi"
)

// MarkPrefix starts every bucket tag key Pail reserves for itself: the
// ownership mark. spec.tags may not set such a key (the Bucket's CEL rule
// says so at admission), the tag diff ignores observed ones, and a write
// never removes one.
const MarkPrefix = "pail.dev/"

// The ownership mark is two tags, because one value (256 characters at
// most) cannot hold a namespace (63) and a name (253) besides two UIDs:
//
//	pail.dev/owner       <cluster>/<namespace>/<uid>
//	pail.dev/owner-name  <name>
//
// Every part is DNS-safe or a UID, so it meets S3's tag character rules,
// and none holds a slash, so the first value splits unambiguously.
const (
	markOwner = MarkPrefix + "owner"
	markName  = MarkPrefix + "owner-name"
)

// markKeys are the keys of the mark, in the order a message names them.
var markKeys = []string{markOwner, markName}

// Owner is who a bucket belongs to: the Bucket object of one cluster.
type Owner struct {
	// Cluster identifies the Kubernetes cluster: the kube-system
	// Namespace's UID, unless the operator is told otherwise.
	Cluster   string
	Namespace string
	Name      string
	UID       string
}

// clusterID is what a cluster id may hold: S3 tag characters without a
// slash, short enough that the owner value stays within 256 characters
// (63 for the namespace, 36 for a UID and two slashes leave 155).
var clusterID = regexp.MustCompile(`^[A-Za-z0-9_.:=+@-]{1,128}$`)

// ValidClusterID reports why id cannot name a cluster in the mark, or nil.
func ValidClusterID(id string) error {
	if !clusterID.MatchString(id) {
		return fmt.Errorf("cluster id %q must be 1 to 128 letters, digits or the characters _ . : = + @ -", id)
	}
	return nil
}

// Mark returns the tags that mark a bucket as o's.
func (o Owner) Mark() map[string]string {
	return map[string]string{
		markOwner: o.Cluster + "/" + o.Namespace + "/" + o.UID,
		markName:  o.Name,
	}
}

// String names o for a message.
func (o Owner) String() string {
	return fmt.Sprintf("Bucket %s/%s (uid %s) in cluster %s", o.Namespace, o.Name, o.UID, o.Cluster)
}

// MarkOf reads the mark from a bucket's tags. ok is false when the bucket
// carries no mark; a mark that does not parse (hand-edited, or cut short)
// is still returned, with ok true and the parts it has, so it counts as
// another owner's rather than as no mark at all.
func MarkOf(tags map[string]string) (o Owner, ok bool) {
	owner, hasOwner := tags[markOwner]
	name, hasName := tags[markName]
	if !hasOwner && !hasName {
		return Owner{}, false
	}
	parts := strings.SplitN(owner, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return Owner{Cluster: parts[0], Namespace: parts[1], UID: parts[2], Name: name}, true
}

// Claim is how a bucket's mark relates to the Bucket looking at it.
type Claim int

const (
	// Unmarked means the bucket carries no mark.
	Unmarked Claim = iota
	// Mine means the mark is this very Bucket's.
	Mine
	// Recreated means the mark names this cluster, namespace and name with
	// another uid. A Bucket object recreated under the same name (a backup
	// restored, a GitOps tool re-applying it) gets a new uid, and only
	// those who may write Buckets in that namespace can make it, so it is
	// the same owner: the mark is rewritten with the new uid when this
	// Bucket claims the bucket.
	Recreated
	// Other means the mark is another cluster's, or another Bucket's in this cluster.
	Other
)

// ClaimOf compares the mark on tags with self.
func ClaimOf(tags map[string]string, self Owner) (Claim, Owner) {
	m, ok := MarkOf(tags)
	switch {
	case !ok:
		return Unmarked, m
	case m.Cluster != self.Cluster || m.Namespace != self.Namespace || m.Name != self.Name:
		return Other, m
	case m.UID != self.UID:
		return Recreated, m
	}
	return Mine, m
}

// Reserved reports whether a tag key is Pail's (MarkPrefix).
func Reserved(key string) bool { return strings.HasPrefix(key, MarkPrefix) }

// UserTags returns tags without Pail's reserved keys.
func UserTags(tags map[string]string) map[string]string {
	out := maps.Clone(tags)
	maps.DeleteFunc(out, func(k string, _ string) bool { return Reserved(k) })
	return out
}

// Marked reports whether the observed tag set carries exactly o's mark.
func Marked(observed *abi.Tagging, o Owner) bool {
	if observed == nil {
		return false
	}
	for k, v := range o.Mark() {
		if observed.Tags[k] != v {
			return false
		}
	}
	return true
}

// WriteTags is the tag set to write: the user's tags (desired, when
// spec.tags is set; otherwise the observed ones, which Pail then does not
// manage and so keeps), every reserved tag observed (Pail never removes
// one), and mark over them (nil where the backend holds no mark).
func WriteTags(desired, observed *abi.Tagging, mark map[string]string) *abi.Tagging {
	out := map[string]string{}
	var obs map[string]string
	if observed != nil {
		obs = observed.Tags
	}
	if desired != nil {
		maps.Copy(out, UserTags(desired.Tags))
	} else {
		maps.Copy(out, UserTags(obs))
	}
	for k, v := range obs {
		if Reserved(k) {
			out[k] = v
		}
	}
	maps.Copy(out, mark)
	return &abi.Tagging{Tags: out}
}

// maxTags is how many tags S3 allows on a bucket.
const maxTags = 50

// RoomForMark reports whether the user's tags leave room for the mark
// within S3's 50 tags. The API admits 50 user tags, as S3 does; a Bucket
// that uses the last ones carries no mark, rather than failing every write.
func RoomForMark(desired *abi.Tagging) bool {
	return desired == nil || len(UserTags(desired.Tags))+len(markKeys) <= maxTags
}

// MarkKeys lists the mark's tag keys, for messages and docs.
func MarkKeys() []string { return append([]string(nil), markKeys...) }
