package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

func TestSigningKeyRotationStore(t *testing.T) {
	db := servicetest.DB(t, bookingpg.Migrations)
	s := bookingpg.New(db)
	ctx := context.Background()
	first, err := s.TicketKeys(ctx, time.Now())
	if err != nil || len(first) != 1 || first[0].ID != booking.FirstTicketKeyID || !first[0].Active {
		t.Fatalf("first key: %+v %v", first, err)
	}
	again, err := s.TicketKeys(ctx, time.Now())
	if err != nil || len(again) != 1 || !again[0].Public.Equal(first[0].Public) {
		t.Fatalf("the first key changed: %+v %v", again, err)
	}
	r, err := s.RotateSigningKey(ctx)
	if err != nil || r.Retired != booking.FirstTicketKeyID || r.Active == r.Retired {
		t.Fatalf("rotate: %+v %v", r, err)
	}
	keys, err := s.TicketKeys(ctx, time.Now())
	if err != nil || len(keys) != 2 || keys[0].ID != r.Active || !keys[0].Active || keys[1].Active || !keys[1].VerifyUntil.IsZero() {
		t.Fatalf("after the rotation: %+v %v", keys, err)
	}
	// Not settled before the pickup has passed.
	if got, err := s.SettleRetiredKeys(ctx, time.Hour, 30*time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("settled early: %+v %v", got, err)
	}
	// No bookings: the key verifies until the pickup plus the grace.
	got, err := s.SettleRetiredKeys(ctx, 0, 30*time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != r.Retired {
		t.Fatalf("settle: %+v %v", got, err)
	}
	if d := time.Until(got[0].VerifyUntil); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("verify until %s", got[0].VerifyUntil)
	}
	if again, err := s.SettleRetiredKeys(ctx, 0, time.Hour); err != nil || len(again) != 0 {
		t.Fatalf("settled twice: %+v %v", again, err)
	}
	if keys, err := s.TicketKeys(ctx, got[0].VerifyUntil.Add(time.Second)); err != nil || len(keys) != 1 || keys[0].ID != r.Active {
		t.Fatalf("past its end: %+v %v", keys, err)
	}
	if ids, err := s.DropRetiredKeys(ctx, got[0].VerifyUntil.Add(time.Second)); err != nil || len(ids) != 1 {
		t.Fatalf("drop: %v %v", ids, err)
	}
	if k, err := s.SigningKey(ctx); err != nil || !k.Equal(keys[0].Private) {
		t.Fatalf("signing key after the drop: %v", err)
	}
}
