package bucket

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
)

func TestDriftLoop(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "b"}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		corrected  []time.Duration // offsets from t0, generation 1
		gen        int64
		at         time.Duration
		wantPaused bool
		wantUntil  time.Duration
	}{
		{name: "below the threshold", corrected: []time.Duration{0, time.Minute}, gen: 1, at: 2 * time.Minute},
		{name: "threshold reached", corrected: []time.Duration{0, time.Minute, 2 * time.Minute}, gen: 1, at: 3 * time.Minute, wantPaused: true, wantUntil: 10 * time.Minute},
		{name: "window passed", corrected: []time.Duration{0, time.Minute, 2 * time.Minute}, gen: 1, at: 11 * time.Minute},
		{name: "old corrections fall out", corrected: []time.Duration{0, 9 * time.Minute, 10 * time.Minute}, gen: 1, at: 10*time.Minute + time.Second},
		{name: "a spec change resumes writes", corrected: []time.Duration{0, time.Minute, 2 * time.Minute}, gen: 2, at: 3 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &DriftLoop{Threshold: 3, Window: 10 * time.Minute}
			for _, c := range tt.corrected {
				d.Corrected(key, 1, t0.Add(c))
			}
			paused, until, _ := d.Paused(key, tt.gen, t0.Add(tt.at))
			assert.Equal(t, tt.wantPaused, paused)
			if tt.wantPaused {
				assert.Equal(t, t0.Add(tt.wantUntil), until)
			}
		})
	}
	var off *DriftLoop
	paused, _, _ := off.Paused(key, 1, t0)
	assert.False(t, paused, "a nil breaker never pauses")
}
