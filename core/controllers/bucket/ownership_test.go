package bucket

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

const (
	epA = "http://127.0.0.1:9000"
	epB = "http://127.0.0.1:9100"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func bkt(ns, name string, created time.Duration, mut func(*pailv1.Bucket)) pailv1.Bucket {
	b := pailv1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: metav1.NewTime(t0.Add(created))},
		Spec:       pailv1.BucketSpec{ProviderRef: pailv1.ProviderReference{Name: "p"}, BucketName: "data"},
	}
	if mut != nil {
		mut(&b)
	}
	return b
}

func withLocation(ep, account string) func(*pailv1.Bucket) {
	return func(b *pailv1.Bucket) {
		b.Status.Ownership = pailv1.OwnershipCreated
		b.Status.Location = &pailv1.Location{Endpoint: ep, Account: account}
	}
}

func TestIntentLocation(t *testing.T) {
	loc := pailv1.Location{Endpoint: epA, Account: "acct"}
	for _, tc := range []struct {
		name, value string
		want        pailv1.Location
		ok          bool
	}{
		{"written by intentValue", intentValue(t0, loc), loc, true},
		{"legacy timestamp", "2026-01-01T00:00:00Z", pailv1.Location{}, false},
		{"empty", "", pailv1.Location{}, false},
		{"json without endpoint", `{"at":"2026-01-01T00:00:00Z"}`, pailv1.Location{}, false},
		{"broken json", `{"endpoint":`, pailv1.Location{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := intentLocation(tc.value)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("intentLocation(%q) = %+v, %v; want %+v, %v", tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*pailv1.Bucket)
		want pailv1.Location
		ok   bool
	}{
		{"owns nothing", func(b *pailv1.Bucket) { b.Status.Endpoint = epA }, pailv1.Location{}, false},
		{"recorded location", withLocation(epB, "x"), pailv1.Location{Endpoint: epB, Account: "x"}, true},
		{"recorded location wins over status.endpoint", func(b *pailv1.Bucket) {
			withLocation(epB, "")(b)
			b.Status.Endpoint = epA
		}, pailv1.Location{Endpoint: epB}, true},
		{"upgrade: owned, no location, last synced endpoint", func(b *pailv1.Bucket) {
			b.Status.Ownership = pailv1.OwnershipAdopted
			b.Status.Endpoint = "HTTP://127.0.0.1:9000/"
		}, pailv1.Location{Endpoint: epA}, true},
		{"intent with location, create unconfirmed", func(b *pailv1.Bucket) {
			b.Annotations = map[string]string{pailv1.AnnotationCreateIntent: intentValue(t0, pailv1.Location{Endpoint: epA})}
			b.Status.Endpoint = epB
		}, pailv1.Location{Endpoint: epA}, true},
		{"legacy intent falls back to status.endpoint", func(b *pailv1.Bucket) {
			b.Annotations = map[string]string{pailv1.AnnotationCreateIntent: "2026-01-01T00:00:00Z"}
			b.Status.Endpoint = epB
		}, pailv1.Location{Endpoint: epB}, true},
		{"legacy intent and no endpoint: no record", func(b *pailv1.Bucket) {
			b.Annotations = map[string]string{pailv1.AnnotationCreateIntent: "2026-01-01T00:00:00Z"}
		}, pailv1.Location{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bkt("ns", "b", 0, tc.mut)
			got, ok := record(&b)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("record = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestMovedFrom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mut   func(*pailv1.Bucket)
		cur   pailv1.Location
		moved bool
		why   string
	}{
		{"owns nothing: never moved", nil, pailv1.Location{Endpoint: epB}, false, ""},
		{"same endpoint", withLocation(epA, ""), pailv1.Location{Endpoint: epA}, false, ""},
		{"same endpoint, spelt differently", withLocation(epA, ""), pailv1.Location{Endpoint: "http://127.0.0.1:9000/"}, false, ""},
		{"endpoint changed", withLocation(epA, ""), pailv1.Location{Endpoint: epB}, true, "the endpoint changed from " + epA + " to " + epB},
		{"account learnt later: not moved", withLocation(epA, ""), pailv1.Location{Endpoint: epA, Account: "x"}, false, ""},
		{"account changed", withLocation(epA, "x"), pailv1.Location{Endpoint: epA, Account: "y"}, true, "account"},
		{"upgrade: last synced endpoint differs", func(b *pailv1.Bucket) {
			b.Status.Ownership = pailv1.OwnershipCreated
			b.Status.Endpoint = epA
		}, pailv1.Location{Endpoint: epB}, true, "endpoint changed"},
		{"crash after intent, then endpoint changed", func(b *pailv1.Bucket) {
			b.Annotations = map[string]string{pailv1.AnnotationCreateIntent: intentValue(t0, pailv1.Location{Endpoint: epA})}
		}, pailv1.Location{Endpoint: epB}, true, "endpoint changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bkt("ns", "b", 0, tc.mut)
			rec, moved, why := movedFrom(&b, tc.cur)
			if moved != tc.moved || !strings.Contains(why, tc.why) {
				t.Fatalf("movedFrom = %v %q; want %v containing %q", moved, why, tc.moved, tc.why)
			}
			if moved {
				msg := locationChangedMessage(&b, rec, tc.cur, why)
				if !strings.HasSuffix(msg, ".") || strings.Contains(msg, "..") {
					t.Fatalf("message must end in one full stop: %q", msg)
				}
			}
		})
	}
}

func TestLocationChangedMessages(t *testing.T) {
	b := bkt("ns", "b", 0, withLocation(epA, ""))
	rec, moved, why := movedFrom(&b, pailv1.Location{Endpoint: epB})
	if !moved {
		t.Fatal("want moved")
	}
	for _, msg := range []string{
		locationChangedMessage(&b, rec, pailv1.Location{Endpoint: epB}, why),
		locationChangedDeleteMessage(&b, rec, why),
	} {
		for _, want := range []string{epA, epB, "spec.deletionPolicy", "Retain"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		if !strings.HasSuffix(msg, ".") || strings.Contains(msg, "..") {
			t.Errorf("message must end in exactly one full stop: %s", msg)
		}
	}
}

func TestManagedBy(t *testing.T) {
	cur := pailv1.Location{Endpoint: epA}
	owner := bkt("team-a", "data", 0, withLocation(epA, ""))
	for _, tc := range []struct {
		name       string
		self       pailv1.Bucket
		cur        pailv1.Location
		candidates []pailv1.Bucket
		want       string // namespace/name of the winner, "" for none
	}{
		{"alone", bkt("team-b", "data", time.Hour, nil), cur, nil, ""},
		{"itself in the index", owner, cur, []pailv1.Bucket{owner}, ""},
		{"newcomer yields to an owner", bkt("team-b", "data", time.Hour, func(b *pailv1.Bucket) { b.Spec.Adopt = true }), cur,
			[]pailv1.Bucket{owner}, "team-a/data"},
		{"older newcomer still yields to an owner", bkt("team-b", "data", -time.Hour, nil), cur,
			[]pailv1.Bucket{owner}, "team-a/data"},
		{"owner with an unconfirmed intent counts", bkt("team-b", "data", time.Hour, nil), cur,
			[]pailv1.Bucket{bkt("team-a", "data", 0, func(b *pailv1.Bucket) {
				b.Annotations = map[string]string{pailv1.AnnotationCreateIntent: intentValue(t0, cur)}
			})}, "team-a/data"},
		{"two owners: the earlier wins", bkt("team-b", "data", time.Hour, withLocation(epA, "")), cur,
			[]pailv1.Bucket{owner}, "team-a/data"},
		{"two owners: the later yields", owner, cur,
			[]pailv1.Bucket{bkt("team-b", "data", time.Hour, withLocation(epA, ""))}, ""},
		{"two owners created together: by namespace", bkt("team-b", "data", 0, withLocation(epA, "")), cur,
			[]pailv1.Bucket{owner}, "team-a/data"},
		{"the earliest of several", bkt("team-z", "data", 3*time.Hour, nil), cur,
			[]pailv1.Bucket{bkt("team-c", "data", 2*time.Hour, withLocation(epA, "")), bkt("team-b", "data", time.Hour, withLocation(epA, ""))}, "team-b/data"},
		{"owner elsewhere does not count", bkt("team-b", "data", time.Hour, nil), cur,
			[]pailv1.Bucket{bkt("team-a", "data", 0, withLocation(epB, ""))}, ""},
		{"other bucket name does not count", bkt("team-b", "data", time.Hour, nil), cur,
			[]pailv1.Bucket{bkt("team-a", "data", 0, func(b *pailv1.Bucket) { withLocation(epA, "")(b); b.Spec.BucketName = "other" })}, ""},
		{"not owned does not count", bkt("team-b", "data", time.Hour, nil), cur,
			[]pailv1.Bucket{bkt("team-a", "data", 0, func(b *pailv1.Bucket) { b.Status.Endpoint = epA })}, ""},
		{"other account does not count", bkt("team-b", "data", time.Hour, nil), pailv1.Location{Endpoint: epA, Account: "y"},
			[]pailv1.Bucket{bkt("team-a", "data", 0, withLocation(epA, "x"))}, ""},
		{"unknown account counts", bkt("team-b", "data", time.Hour, nil), pailv1.Location{Endpoint: epA, Account: "y"},
			[]pailv1.Bucket{owner}, "team-a/data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := managedBy(&tc.self, tc.cur, tc.candidates)
			name := ""
			if got != nil {
				name = got.Namespace + "/" + got.Name
			}
			if name != tc.want {
				t.Fatalf("managedBy = %q; want %q", name, tc.want)
			}
		})
	}
}

func TestIndexByLocation(t *testing.T) {
	owner := bkt("ns", "b", 0, withLocation("HTTP://127.0.0.1:9000/", "acct"))
	got := indexByLocation(&owner)
	if len(got) != 1 || got[0] != locationKey(epA, "data") {
		t.Fatalf("index = %v; want the normalised endpoint without the account, %q", got, locationKey(epA, "data"))
	}
	free := bkt("ns", "c", 0, func(b *pailv1.Bucket) { b.Status.Endpoint = epA })
	if got := indexByLocation(&free); got != nil {
		t.Fatalf("a Bucket that owns nothing is not indexed, got %v", got)
	}
}
