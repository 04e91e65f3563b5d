package fairness

import (
	"context"
	"testing"
	"time"
)

// Only quick releases cost a token; an ordinary change of mind, a hold of
// unknown age and a disabled guard cost nothing.
func TestReleaseGuard(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, time.January, 7, 8, 0, 0, 0, time.UTC)
	g := &ReleaseGuard{Limiter: NewLimiter(newMemStore(), []byte("k"), 1.0/30, 2), Quick: 30 * time.Second}
	tests := []struct {
		name   string
		placed time.Time
		want   bool
	}{
		{"quick, first of the burst", now.Add(-5 * time.Second), true},
		{"after the quick time", now.Add(-30 * time.Second), true},
		{"age unknown", time.Time{}, true},
		{"quick, second of the burst", now.Add(-time.Second), true},
		{"quick, over the burst", now.Add(-time.Second), false},
		{"after the quick time, over the burst", now.Add(-time.Minute), true},
	}
	for _, tt := range tests {
		ok, wait, err := g.Allow(ctx, "198.51.100.7", tt.placed, now)
		if err != nil || ok != tt.want {
			t.Errorf("%s: ok=%v err=%v, want %v", tt.name, ok, err, tt.want)
		}
		if !ok && wait < 29*time.Second {
			t.Errorf("%s: wait %v, want about 30s", tt.name, wait)
		}
	}
	if ok, _, _ := g.Allow(ctx, "198.51.100.8", now, now); !ok {
		t.Error("another client is slowed down")
	}
	off := &ReleaseGuard{Limiter: NewLimiter(newMemStore(), []byte("k"), 0, 1), Quick: time.Minute}
	for i := 0; i < 5; i++ {
		if ok, _, _ := off.Allow(ctx, "198.51.100.7", now, now); !ok || off.Enabled() {
			t.Fatal("a guard with rate 0 slows down")
		}
	}
}
