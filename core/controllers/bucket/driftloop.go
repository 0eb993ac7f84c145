package bucket

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// DriftLoop breaks the loop in which another writer keeps changing what Pail
// keeps correcting: after Threshold corrections of one Bucket within Window,
// Pail stops writing to it until its spec changes or the window has passed
// without a correction, and says so in its conditions and a metric.
type DriftLoop struct {
	Threshold int
	Window    time.Duration

	mu  sync.Mutex
	log map[types.NamespacedName]driftLog
}

type driftLog struct {
	generation int64
	times      []time.Time
}

// recent prunes and returns the corrections of key in the window; a new
// generation starts a new history, since the user changed the spec.
func (d *DriftLoop) recent(key types.NamespacedName, gen int64, now time.Time) []time.Time {
	if d.log == nil {
		d.log = map[types.NamespacedName]driftLog{}
	}
	l := d.log[key]
	if l.generation != gen {
		l = driftLog{generation: gen}
	}
	kept := l.times[:0]
	for _, t := range l.times {
		if now.Sub(t) < d.Window {
			kept = append(kept, t)
		}
	}
	l.times = kept
	d.log[key] = l
	return kept
}

// Paused reports whether writes to key are paused, and until when.
func (d *DriftLoop) Paused(key types.NamespacedName, gen int64, now time.Time) (bool, time.Time, int) {
	if d == nil || d.Threshold <= 0 {
		return false, time.Time{}, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.recent(key, gen, now)
	if len(r) < d.Threshold {
		return false, time.Time{}, len(r)
	}
	return true, r[len(r)-d.Threshold].Add(d.Window), len(r)
}

// Corrected records one correction of key.
func (d *DriftLoop) Corrected(key types.NamespacedName, gen int64, now time.Time) {
	if d == nil || d.Threshold <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recent(key, gen, now) // prunes d.log[key] to the window
	l := d.log[key]
	l.times = append(l.times, now)
	d.log[key] = l
}

// Forget drops a deleted Bucket's history.
func (d *DriftLoop) Forget(key types.NamespacedName) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.log, key)
}
