package mailtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
)

// AddEvent writes one pending event of the kind, due at deliverAfter, into
// the store under test, for a booking of the store's choice, and returns
// the event's and the booking's id.
type AddEvent func(t *testing.T, kind, lang string, deliverAfter time.Time) (eventID, bookingID int64)

// TestEvents checks that an implementation of mail.Events keeps the
// contract the worker relies on: claims only what is due, one claim per
// lease, the attempt count as the fence of Done/Failed/Dead, backoff by
// Failed, dead letters, and no event handed to two concurrent claimers.
// events must start empty and see only the events added through add;
// times are passed in, so the store must not use its own clock for the
// lease.
func TestEvents(t *testing.T, events mail.Events, add AddEvent) {
	ctx := context.Background()
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	claim := func(t *testing.T, at time.Time, max int, lease time.Duration) []mail.Event {
		t.Helper()
		evs, err := events.ClaimEvents(ctx, at, max, lease)
		if err != nil {
			t.Fatalf("claim at %s: %v", at, err)
		}
		return evs
	}
	ids := func(evs []mail.Event) []int64 {
		out := make([]int64, len(evs))
		for i, e := range evs {
			out[i] = e.ID
		}
		return out
	}

	first, firstBooking := add(t, mail.KindConfirmed, "en", t0)
	later, _ := add(t, mail.KindReminder, "de", t0.Add(time.Hour))

	t.Run("claims what is due, once per lease", func(t *testing.T) {
		evs := claim(t, t0, 10, time.Minute)
		if len(evs) != 1 || evs[0].ID != first {
			t.Fatalf("claimed %v, want [%d]", ids(evs), first)
		}
		ev := evs[0]
		if ev.Kind != mail.KindConfirmed || ev.BookingID != firstBooking || ev.Lang != "en" || ev.Attempt != 1 || !ev.LeaseUntil.Equal(t0.Add(time.Minute)) {
			t.Errorf("claimed %+v", ev)
		}
		if evs := claim(t, t0.Add(30*time.Second), 10, time.Minute); len(evs) != 0 {
			t.Fatalf("claimed %v under a live lease", ids(evs))
		}
	})

	t.Run("a claim after the lease fences the old one", func(t *testing.T) {
		stale := mail.Event{ID: first, Attempt: 1}
		evs := claim(t, t0.Add(2*time.Minute), 10, time.Minute)
		if len(evs) != 1 || evs[0].ID != first || evs[0].Attempt != 2 {
			t.Fatalf("reclaim: %+v", evs)
		}
		for name, err := range map[string]error{
			"done":   events.EventDone(ctx, stale, t0),
			"failed": events.EventFailed(ctx, stale, t0, "stale"),
			"dead":   events.EventDead(ctx, stale, t0, "stale"),
		} {
			if !errors.Is(err, mail.ErrLeaseLost) {
				t.Errorf("stale %s: %v, want ErrLeaseLost", name, err)
			}
		}
		if err := events.EventFailed(ctx, evs[0], t0.Add(10*time.Minute), "smtp: 451"); err != nil {
			t.Fatalf("failed: %v", err)
		}
		if evs := claim(t, t0.Add(5*time.Minute), 10, time.Minute); len(evs) != 0 {
			t.Fatalf("claimed %v before its next attempt", ids(evs))
		}
	})

	t.Run("dead letters", func(t *testing.T) {
		evs := claim(t, t0.Add(10*time.Minute), 10, time.Minute)
		if len(evs) != 1 || evs[0].ID != first || evs[0].Attempt != 3 {
			t.Fatalf("third claim: %+v", evs)
		}
		if err := events.EventDead(ctx, evs[0], t0.Add(10*time.Minute), "gave up"); err != nil {
			t.Fatalf("dead: %v", err)
		}
		dead, err := events.DeadEvents(ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].ID != first || dead[0].LastError != "gave up" || dead[0].Kind != mail.KindConfirmed {
			t.Fatalf("dead letters %+v, %v", dead, err)
		}
		if err := events.EventDone(ctx, evs[0], t0); !errors.Is(err, mail.ErrLeaseLost) {
			t.Errorf("done after dead: %v, want ErrLeaseLost", err)
		}
	})

	t.Run("done is final", func(t *testing.T) {
		evs := claim(t, t0.Add(2*time.Hour), 10, time.Minute)
		if len(evs) != 1 || evs[0].ID != later {
			t.Fatalf("claimed %v, want [%d] (the dead one never again)", ids(evs), later)
		}
		if err := events.EventDone(ctx, evs[0], t0.Add(2*time.Hour)); err != nil {
			t.Fatalf("done: %v", err)
		}
		if err := events.EventDone(ctx, evs[0], t0.Add(2*time.Hour)); !errors.Is(err, mail.ErrLeaseLost) {
			t.Errorf("done twice: %v, want ErrLeaseLost", err)
		}
		if evs := claim(t, t0.Add(24*time.Hour), 10, time.Minute); len(evs) != 0 {
			t.Fatalf("claimed %v after done", ids(evs))
		}
	})

	t.Run("batches, oldest first, never one event to two claimers", func(t *testing.T) {
		const n, claimers = 60, 6
		at := t0.Add(48 * time.Hour)
		want := map[int64]bool{}
		for i := 0; i < n; i++ {
			id, _ := add(t, mail.KindCancelled, "de", at.Add(-time.Duration(n-i)*time.Second))
			want[id] = true
		}
		if evs := claim(t, at, 4, time.Hour); len(evs) != 4 {
			t.Fatalf("batch of %d, want 4", len(evs))
		} else {
			for _, e := range evs {
				// release them again for the race below
				if err := events.EventFailed(ctx, e, at, "released"); err != nil {
					t.Fatal(err)
				}
			}
		}
		var mu sync.Mutex
		got := map[int64]int{}
		var wg sync.WaitGroup
		for c := 0; c < claimers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					evs, err := events.ClaimEvents(ctx, at, 3, time.Hour)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if len(evs) == 0 {
						return
					}
					mu.Lock()
					for _, e := range evs {
						got[e.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(got) != n {
			t.Errorf("%d distinct events claimed, want %d", len(got), n)
		}
		for id, k := range got {
			if k != 1 || !want[id] {
				t.Errorf("event %d claimed %d times (known %v)", id, k, want[id])
			}
		}
	})
}
