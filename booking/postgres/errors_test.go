package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
)

// TestRefusedInputIsNotAnOutage: a value PostgreSQL refuses (a NUL byte
// in text or in JSON, SQLSTATE class 22) is reported as refused input,
// never as the store being unavailable.
func TestRefusedInputIsNotAnOutage(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	d, _, err := o.store.RegisterDevice(ctx, o.loc, "Kiosk", booking.ModeCounter, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"NUL in a device name", func() error {
			_, _, err := o.store.RegisterDevice(ctx, o.loc, "Kiosk\x00", booking.ModeCounter, time.Hour)
			return err
		}},
		{"NUL in a heartbeat version", func() error { return o.store.Heartbeat(ctx, d.ID, "1\x00", json.RawMessage(`{}`)) }},
		{"escaped NUL in a heartbeat status", func() error {
			return o.store.Heartbeat(ctx, d.ID, "1", json.RawMessage(`{"printer":"\u0000"}`))
		}},
		{"invalid UTF-8 in a desk", func() error { _, err := o.store.CallNext(ctx, o.loc, booking.DateOf(time.Now()), "\xff"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, pgtx.ErrInputRejected) || errors.Is(err, booking.ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
