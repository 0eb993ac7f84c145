package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// TestListSurvivesOneBadObject decodes lists the way the operator's client
// does: one object whose spec or status the Go types cannot hold no longer
// fails the list.
func TestListSurvivesOneBadObject(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	buckets := `{"apiVersion":"pail.dev/v1alpha1","kind":"BucketList","metadata":{},"items":[
	 {"apiVersion":"pail.dev/v1alpha1","kind":"Bucket","metadata":{"name":"big","namespace":"a"},
	  "spec":{"providerRef":{"name":"p"},"bucketName":"big","lifecycle":{"rules":[{"id":"r","expiration":{"days":3000000000}}]}},
	  "status":{"endpoint":"http://x","conditions":[{"type":"Ready","status":"True","reason":"R","message":"m","lastTransitionTime":"2026-01-01t00:00:00z"}]}},
	 {"apiVersion":"pail.dev/v1alpha1","kind":"Bucket","metadata":{"name":"fine","namespace":"b"},"spec":{"providerRef":{"name":"p"},"bucketName":"fine"}}]}`
	obj, _, err := dec.Decode([]byte(buckets), nil, nil)
	if err != nil {
		t.Fatalf("the list failed to decode: %v", err)
	}
	list := obj.(*BucketList)
	if len(list.Items) != 2 {
		t.Fatalf("got %d items", len(list.Items))
	}
	big, fine := &list.Items[0], &list.Items[1]
	if big.Name != "big" || big.Namespace != "a" || !strings.Contains(big.DecodeError(), "spec.lifecycle.rules.expiration.days") {
		t.Errorf("bad object: name %s/%s, decode error %q", big.Namespace, big.Name, big.DecodeError())
	}
	if big.Spec.BucketName != "" || big.Status.Endpoint != "http://x" || big.Status.Conditions != nil {
		t.Errorf("bad object: the spec is zero, good status fields kept, bad ones dropped: %+v", big.Status)
	}
	if fine.DecodeError() != "" || fine.Spec.BucketName != "fine" {
		t.Errorf("good object: %q %+v", fine.DecodeError(), fine.Spec)
	}

	// A bad status alone keeps the spec.
	p := `{"apiVersion":"pail.dev/v1alpha1","kind":"Provider","metadata":{"name":"p"},"spec":{"driver":"minio","endpoint":"http://x","credentialsSecretRef":{"name":"s"}},
	  "status":{"lastCheckTime":"2026-01-01t00:00:00z","account":"acct"}}`
	obj, _, err = dec.Decode([]byte(p), nil, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	prov := obj.(*Provider)
	if prov.DecodeError() != "" || prov.Spec.Driver != "minio" || prov.Status.LastCheckTime != nil || prov.Status.Account != "acct" {
		t.Errorf("provider: %q %+v %+v", prov.DecodeError(), prov.Spec, prov.Status)
	}
}
