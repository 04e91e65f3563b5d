package booking_test

import (
	"context"
	"errors"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"erika@example.org", "erika@example.org"},
		{" Erika@Example.ORG ", "erika@example.org"},
		{"erika+termin@example.org", "erika@example.org"},
		{"+erika@example.org", "+erika@example.org"},
		{"no-at-sign", "no-at-sign"},
	}
	for _, tt := range tests {
		if got := booking.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Confirms of one contact race on two engines (two replicas); the limit
// holds exactly, and other contacts and other days are not affected.
func TestContactLimitUnderRace(t *testing.T) {
	r := newRig(t, servicetest.Backends[0], 20, 30, booking.Service{ID: "ticket", DurationMinutes: 30, MaxUnits: 1})
	engines := []*booking.Engine{r.engine, r.newEngine()}
	for _, e := range engines {
		e.ContactLimits = map[string]int{booking.KindPool: 3}
		e.ContactKey = []byte("test key")
	}
	ctx := context.Background()
	const racers = 30
	holds := make([]*booking.Hold, racers)
	for i := range holds {
		var err error
		holds[i], err = r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), r.at(7+i/2%14, 30*(i%2)), 1)
		if err != nil {
			t.Fatal(err)
		}
	}
	var booked, limited atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, h := range holds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			// Spellings of one mailbox.
			email := []string{"erika@example.org", "Erika@example.org", "erika+x@example.org"}[i%3]
			_, err := engines[i%2].Book(ctx, h.ID, booking.Contact{Name: "Erika", Email: email}, booking.BookOptions{})
			switch {
			case err == nil:
				booked.Add(1)
			case errors.Is(err, booking.ErrContactLimit):
				limited.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if booked.Load() != 3 || limited.Load() != racers-3 {
		t.Fatalf("booked %d, limited %d; want 3 and %d", booked.Load(), limited.Load(), racers-3)
	}
	// A limited hold is still live and can be booked for someone else.
	var left *booking.Hold
	for _, h := range holds {
		if used, _ := r.pg.HoldUsed(ctx, h.ID); !used {
			left = h
			break
		}
	}
	if _, err := r.engine.Book(ctx, left.ID, booking.Contact{Name: "Max", Email: "max@example.org"}, booking.BookOptions{}); err != nil {
		t.Fatalf("other contact: %v", err)
	}
	// The next day counts afresh.
	h, err := r.engine.PlaceHold(ctx, r.loc.ID, r.svc("ticket"), r.at(10, 0).Add(24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Book(ctx, h.ID, someone, booking.BookOptions{}); err != nil {
		t.Fatalf("next day: %v", err)
	}
}
