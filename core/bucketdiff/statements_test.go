package bucketdiff

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/policydoc"
)

// parse is doc's Document; "" is none.
func parse(t *testing.T, doc string) *policydoc.Document {
	if doc == "" {
		return nil
	}
	d, err := policydoc.Parse([]byte(doc))
	require.NoError(t, err)
	return d
}

func TestStatementDiff(t *testing.T) {
	const read = `{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"%s}`
	doc := func(statements ...string) string {
		out := `{"Version":"2012-10-17","Statement":[`
		var outSb27 strings.Builder
		for i, s := range statements {
			if i > 0 {
				outSb27.WriteString(",")
			}
			outSb27.WriteString(s)
		}
		out += outSb27.String()
		return out + "]}"
	}
	withCond := func(c string) string { return doc(fmt.Sprintf(read, `,"Condition":`+c)) }
	for _, tc := range []struct {
		name           string
		want, have     string
		added, removed []string
	}{
		{
			name:  "new policy",
			want:  doc(fmt.Sprintf(read, "")),
			added: []string{"+ PublicRead: Allow s3:getobject on arn:aws:s3:::b/*"},
		},
		{
			name:    "removed policy",
			have:    doc(fmt.Sprintf(read, "")),
			removed: []string{"- PublicRead: Allow s3:getobject on arn:aws:s3:::b/*"},
		},
		{
			// The defect: both lines read the same when only a Condition changed.
			name:    "condition value changed",
			want:    withCond(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}`),
			have:    withCond(`{"IpAddress":{"aws:SourceIp":["192.168.0.0/16"]},"Bool":{"aws:SecureTransport":"true"}}`),
			added:   []string{`+ PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [Condition IpAddress aws:SourceIp=["10.0.0.0/8"]]`},
			removed: []string{`- PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [Condition IpAddress aws:SourceIp=["192.168.0.0/16"]]`},
		},
		{
			name:    "condition added",
			want:    withCond(`{"StringEquals":{"aws:SourceVpce":"vpce-1"}}`),
			have:    doc(fmt.Sprintf(read, "")),
			added:   []string{`+ PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [Condition StringEquals aws:SourceVpce=["vpce-1"]]`},
			removed: []string{`- PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [no Condition StringEquals aws:SourceVpce]`},
		},
		{
			name:    "condition key added beside one that stays",
			want:    withCond(`{"StringEquals":{"aws:SourceVpce":"vpce-1","aws:SourceAccount":"1"}}`),
			have:    withCond(`{"StringEquals":{"aws:SourceVpce":"vpce-1"}}`),
			added:   []string{`+ PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [Condition StringEquals aws:SourceAccount=["1"]]`},
			removed: []string{`- PublicRead: Allow s3:getobject on arn:aws:s3:::b/* [no Condition StringEquals aws:SourceAccount]`},
		},
		{
			name:    "principal changed",
			want:    doc(`{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			have:    doc(`{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::2:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			added:   []string{`+ R: Allow s3:getobject on arn:aws:s3:::b/* [Principal {"AWS":["arn:aws:iam::1:root"]}]`},
			removed: []string{`- R: Allow s3:getobject on arn:aws:s3:::b/* [Principal {"AWS":["arn:aws:iam::2:root"]}]`},
		},
		{
			name:    "different statements stay plain",
			want:    doc(`{"Sid":"A","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			have:    doc(`{"Sid":"B","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			added:   []string{"+ A: Allow s3:getobject on arn:aws:s3:::b/*"},
			removed: []string{"- B: Allow s3:getobject on arn:aws:s3:::b/*"},
		},
		{
			name: "rewritten by the backend only",
			want: doc(fmt.Sprintf(read, "")),
			have: `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			added, removed := StatementDiff(parse(t, tc.want), parse(t, tc.have))
			if !reflect.DeepEqual(added, tc.added) || !reflect.DeepEqual(removed, tc.removed) {
				t.Errorf("StatementDiff:\nadded   %q\nwant    %q\nremoved %q\nwant    %q", added, tc.added, removed, tc.removed)
			}
			for _, a := range added {
				for _, r := range removed {
					if a[1:] == r[1:] {
						t.Errorf("added and removed lines read the same: %q", a)
					}
				}
			}
		})
	}
}
