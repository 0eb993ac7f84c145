package accesskey

import (
	"encoding/json"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// Secret keys besides the configurable key pair.
const (
	keyEndpoint    = "AWS_ENDPOINT_URL"
	keyRegion      = "AWS_REGION"
	keyBucketNames = "BUCKET_NAMES"
	// previousSuffix names the previous key pair during its retention:
	// AWS_ACCESS_KEY_ID_PREVIOUS and AWS_SECRET_ACCESS_KEY_PREVIOUS.
	previousSuffix = "_PREVIOUS"
)

// keyPair is one access key with its secret, as stored in the Secret.
type keyPair struct {
	ID     string
	Secret string
}

func (k keyPair) empty() bool { return k.ID == "" }

// keyRecord is what the Secret says about the AccessKey's keys. It is the
// record the crash-safety protocol trusts: a new key's secret and its
// bookkeeping are stored in one Secret update.
type keyRecord struct {
	Current, Previous keyPair
	Created           time.Time
	PreviousExpires   time.Time
	Trigger           string
	// Pending is set from just before a CreateAccessKey until the update
	// that stores the new key: the intent that lets an interrupted create's
	// key be told apart from someone else's.
	Pending *pendingCreate
	// Retired lists keys taken out of the Secret whose deletion at the
	// provider is not yet confirmed.
	Retired []string
	// Warned lists the keys of the user Pail cannot prove are its own and
	// has named in a Warning event, so it warns once, not every resync.
	Warned []string
}

func secretKeys(ak *pailv1.AccessKey) (idKey, secretKey string) {
	idKey, secretKey = ak.Spec.Secret.AccessKeyIDKey, ak.Spec.Secret.SecretAccessKeyKey
	if idKey == "" {
		idKey = pailv1.DefaultAccessKeyIDKey
	}
	if secretKey == "" {
		secretKey = pailv1.DefaultSecretAccessKeyKey
	}
	return idKey, secretKey
}

func secretName(ak *pailv1.AccessKey) string {
	if ak.Spec.Secret.Name != "" {
		return ak.Spec.Secret.Name
	}
	return ak.Name
}

// readRecord parses the key record of an existing Secret.
func readRecord(ak *pailv1.AccessKey, s *corev1.Secret) keyRecord {
	idKey, secretKey := secretKeys(ak)
	r := keyRecord{
		Current:  keyPair{ID: string(s.Data[idKey]), Secret: string(s.Data[secretKey])},
		Previous: keyPair{ID: string(s.Data[idKey+previousSuffix]), Secret: string(s.Data[secretKey+previousSuffix])},
		Trigger:  s.Annotations[pailv1.AnnotationRotationTrigger],
	}
	r.Created, _ = time.Parse(time.RFC3339, s.Annotations[pailv1.AnnotationKeyCreated])
	r.PreviousExpires, _ = time.Parse(time.RFC3339, s.Annotations[pailv1.AnnotationPreviousExpires])
	if v := s.Annotations[pailv1.AnnotationPendingKey]; v != "" {
		var pc pendingCreate
		if err := json.Unmarshal([]byte(v), &pc); err == nil && !pc.Since.IsZero() {
			r.Pending = &pc
		}
	}
	r.Retired = splitIDs(s.Annotations[pailv1.AnnotationRetiredKeys])
	r.Warned = splitIDs(s.Annotations[pailv1.AnnotationForeignKeys])
	if r.Current.Secret == "" {
		r.Current = keyPair{}
	}
	if r.Previous.Secret == "" {
		r.Previous = keyPair{}
	}
	return r
}

// secretContent is everything Pail writes into the Secret besides the keys.
type secretContent struct {
	Endpoint, Region string
	Buckets          []string
	User             string
}

// render writes rec and content into s, keeping labels and annotations that
// others added, and dropping the previous pair once it is retired.
func render(ak *pailv1.AccessKey, s *corev1.Secret, rec keyRecord, c secretContent) {
	idKey, secretKey := secretKeys(ak)
	spec := ak.Spec.Secret
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	maps.Copy(s.Labels, spec.Labels)
	s.Labels[pailv1.LabelAccessKey] = ak.Name
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	maps.Copy(s.Annotations, spec.Annotations)
	s.Annotations[pailv1.AnnotationUser] = c.User
	setOrDelete(s.Annotations, pailv1.AnnotationKeyCreated, timeString(rec.Created))
	setOrDelete(s.Annotations, pailv1.AnnotationRotationTrigger, rec.Trigger)
	prevExpires := ""
	if !rec.Previous.empty() {
		prevExpires = timeString(rec.PreviousExpires)
	}
	setOrDelete(s.Annotations, pailv1.AnnotationPreviousExpires, prevExpires)
	pending := ""
	if rec.Pending != nil {
		b, _ := json.Marshal(rec.Pending) //nolint:errchkjson // Since is a clock reading (years 0-9999) and Before strings: it always encodes
		pending = string(b)
	}
	setOrDelete(s.Annotations, pailv1.AnnotationPendingKey, pending)
	setOrDelete(s.Annotations, pailv1.AnnotationRetiredKeys, strings.Join(rec.Retired, ","))
	setOrDelete(s.Annotations, pailv1.AnnotationForeignKeys, strings.Join(rec.Warned, ","))

	s.Type = corev1.SecretTypeOpaque
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	setData := func(k, v string) {
		if v == "" {
			delete(s.Data, k)
			return
		}
		s.Data[k] = []byte(v)
	}
	setData(idKey, rec.Current.ID)
	setData(secretKey, rec.Current.Secret)
	setData(idKey+previousSuffix, rec.Previous.ID)
	setData(secretKey+previousSuffix, rec.Previous.Secret)
	setData(keyEndpoint, pick(spec.IncludeEndpoint, c.Endpoint))
	setData(keyRegion, pick(spec.IncludeRegion, c.Region))
	setData(keyBucketNames, pick(spec.IncludeBucketNames, strings.Join(c.Buckets, ",")))
}

func splitIDs(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func pick(on bool, v string) string {
	if on {
		return v
	}
	return ""
}

func setOrDelete(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func metaTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}
