package bucket

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/core/controllers/connect"
)

// indexLocation finds, in any namespace, the Buckets that own a bucket of a
// given name at a given endpoint. The account is left out of the key and
// compared afterwards (connect.Moved), so a record made before the driver
// reported an account still matches.
const indexLocation = "pail.dev/bucket-location"

// intent is the value of the create-intent annotation: when, and where, Pail
// set out to create the bucket. Recording the location with the intent means
// a crash between the create call and the status write cannot leave an
// ownership without a location.
type intent struct {
	At       string `json:"at"`
	Endpoint string `json:"endpoint"`
	Account  string `json:"account,omitempty"`
}

// intentValue is the annotation value for an intent to create at loc.
func intentValue(now time.Time, loc pailv1.Location) string {
	v, _ := json.Marshal(intent{ //nolint:errchkjson // three strings always encode
		At: now.UTC().Format(time.RFC3339), Endpoint: loc.Endpoint, Account: loc.Account})
	return string(v)
}

// jsonObject ("{", escaped so brace-counting tools pair the function's
// braces right) opens an intent written as JSON; older intents are a bare
// timestamp.
const jsonObject = "\x7b"

// intentLocation reads the location from an intent annotation. Intents
// written before locations were recorded hold only a timestamp: ok is false.
func intentLocation(v string) (pailv1.Location, bool) {
	var in intent
	if !strings.HasPrefix(v, jsonObject) || json.Unmarshal([]byte(v), &in) != nil || in.Endpoint == "" {
		return pailv1.Location{}, false
	}
	return pailv1.Location{Endpoint: in.Endpoint, Account: in.Account}, true
}

// record returns where Pail established its ownership of the bucket: the
// recorded status.location; for an intent not yet confirmed, the intent's
// location; for a Bucket owned before locations were recorded, the endpoint
// it last synced at (status.endpoint). ok is false when the Bucket owns
// nothing, or owns it with no trace of where.
func record(b *pailv1.Bucket) (pailv1.Location, bool) {
	if !owned(b) {
		return pailv1.Location{}, false
	}
	if b.Status.Location != nil && b.Status.Location.Endpoint != "" {
		return *b.Status.Location, true
	}
	if b.Status.Ownership == "" {
		if loc, ok := intentLocation(b.Annotations[pailv1.AnnotationCreateIntent]); ok {
			return loc, true
		}
	}
	if b.Status.Endpoint != "" {
		return pailv1.Location{Endpoint: connect.NormalizeEndpoint(b.Status.Endpoint)}, true
	}
	return pailv1.Location{}, false
}

// locationKey is the index key of a bucket name at an endpoint.
func locationKey(endpoint, bucketName string) string {
	return connect.Key(pailv1.Location{Endpoint: endpoint}, bucketName)
}

// indexByLocation is the index function of indexLocation: owned Buckets
// under the location they own their bucket at.
func indexByLocation(b *pailv1.Bucket) []string {
	rec, ok := record(b)
	if !ok {
		return nil
	}
	return []string{locationKey(rec.Endpoint, b.Spec.BucketName)}
}

// movedFrom reports whether the Bucket owns its bucket somewhere other than
// cur, where its Provider points now, and returns the record and what
// changed. A Bucket that owns nothing, or owns with no record (upgraded from
// a version without one), has not moved: cur becomes its record.
func movedFrom(b *pailv1.Bucket, cur pailv1.Location) (pailv1.Location, bool, string) {
	rec, ok := record(b)
	if !ok {
		return cur, false, ""
	}
	moved, why := connect.Moved(rec, cur)
	return rec, moved, why
}

// where describes a location for a message.
func where(l pailv1.Location) string {
	if l.Account == "" {
		return l.Endpoint
	}
	return fmt.Sprintf("%s (account %s)", l.Endpoint, l.Account)
}

// locationChangedMessage says why a moved Bucket writes nothing, and the
// three ways on.
func locationChangedMessage(b *pailv1.Bucket, rec, cur pailv1.Location, why string) string {
	return fmt.Sprintf("%s has moved (%s), but Pail established bucket %s at %s, so it writes and deletes nothing. "+
		"Point the Provider back at %s to resume; to release this Bucket, set spec.deletionPolicy to Retain and delete it; "+
		"to manage bucket %s at %s, create a new Bucket (with spec.adopt: true if the bucket exists there).",
		b.Spec.ProviderRef, why, b.Spec.BucketName, where(rec), where(rec), b.Spec.BucketName, where(cur))
}

// locationChangedDeleteMessage says why a moved Bucket with deletionPolicy
// Delete keeps its finalizer.
func locationChangedDeleteMessage(b *pailv1.Bucket, rec pailv1.Location, why string) string {
	return fmt.Sprintf("Not deleting bucket %s: %s has moved (%s), and Pail established the bucket at %s. "+
		"Point the Provider back at %s and Pail deletes the bucket there, or set spec.deletionPolicy to Retain to release this Bucket and leave every bucket in place.",
		b.Spec.BucketName, b.Spec.ProviderRef, why, where(rec), where(rec))
}

// alreadyManagedMessage names the Bucket that manages the bucket.
func alreadyManagedMessage(b, other *pailv1.Bucket, cur pailv1.Location) string {
	return fmt.Sprintf("Bucket %s at %s is already managed by Bucket %s/%s, so this Bucket touches nothing. "+
		"Delete this Bucket, or set spec.managementPolicy: ObserveOnly to watch the bucket without writing.",
		b.Spec.BucketName, where(cur), other.Namespace, other.Name)
}

// earlier orders Buckets by creation, then by namespace and name, so every
// reconcile of every contender picks the same winner.
func earlier(a, b *pailv1.Bucket) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// managedBy returns the Bucket, among candidates, that manages b's bucket
// at cur in b's stead, or nil when b may manage it. A candidate counts when
// it owns a bucket of the same name at the same location. A Bucket that owns
// nothing yet yields to any such owner; between two owners (a race, or a
// record from before this check) the earlier-created wins.
func managedBy(b *pailv1.Bucket, cur pailv1.Location, candidates []pailv1.Bucket) *pailv1.Bucket {
	self := owned(b)
	var winner *pailv1.Bucket
	for i := range candidates {
		o := &candidates[i]
		if o.UID == b.UID || o.Spec.BucketName != b.Spec.BucketName {
			continue
		}
		rec, ok := record(o)
		if !ok {
			continue
		}
		if moved, _ := connect.Moved(rec, cur); moved {
			continue
		}
		if self && !earlier(o, b) {
			continue
		}
		if winner == nil || earlier(o, winner) {
			winner = o
		}
	}
	return winner
}

// markedByMessage says why b touches a bucket that carries another owner's
// mark, and names that owner.
func markedByMessage(b *pailv1.Bucket, holder, self bucketdiff.Owner, at string) string {
	whose := fmt.Sprintf("Bucket %s/%s in this cluster", holder.Namespace, holder.Name)
	if holder.Cluster != self.Cluster {
		whose = fmt.Sprintf("Bucket %s/%s in another cluster (id %s)", holder.Namespace, holder.Name, holder.Cluster)
	}
	return fmt.Sprintf("Bucket %s at %s is marked as owned by %s, so this Bucket writes, adopts and deletes nothing. "+
		"Delete this Bucket and choose another spec.bucketName, or set spec.managementPolicy: ObserveOnly to watch the bucket without writing.",
		b.Spec.BucketName, at, whose)
}
