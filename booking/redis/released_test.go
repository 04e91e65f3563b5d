package redis

import (
	"context"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

func TestReleasesAreRememberedForAWhile(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, backend servicetest.Backend) {
		ctx := context.Background()
		r := NewReleases(servicetest.UniversalRedis(t, backend))
		id := "stadtbad.20300107.REL" + time.Now().Format("150405.000000")
		if ok, err := r.Released(ctx, id); err != nil || ok {
			t.Fatalf("before: %v %v", ok, err)
		}
		if err := r.Note(ctx, id, time.Second); err != nil {
			t.Fatal(err)
		}
		if ok, err := r.Released(ctx, id); err != nil || !ok {
			t.Fatalf("after: %v %v", ok, err)
		}
		servicetest.Eventually(t, "the release forgotten", 5*time.Second, func() bool {
			ok, err := r.Released(ctx, id)
			return err == nil && !ok
		})
	})
}
