package bucket

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMFAValue(t *testing.T) {
	// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" gives
	// 94287082 at T=59 s, so the 6-digit code is 287082.
	const rfcSeed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct {
		name, serial, seed string
		at                 time.Time
		want               string
		wantErr            bool
	}{
		{name: "virtual device", serial: "arn:aws:iam::123456789012:mfa/root", seed: rfcSeed, at: time.Unix(59, 0), want: "arn:aws:iam::123456789012:mfa/root 287082"},
		{name: "hardware serial", serial: "GAHT12345678", seed: rfcSeed, at: time.Unix(1111111109, 0), want: "GAHT12345678 081804"},
		{name: "seed that is not base32", serial: "s", seed: "not base32 !!", at: time.Unix(59, 0), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := mfaValue(tc.serial, tc.seed, tc.at)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, v)
		})
	}
}
