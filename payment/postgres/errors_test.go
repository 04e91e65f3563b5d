package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
)

// TestRefusedInputIsNotAnOutage: a value PostgreSQL refuses (a NUL byte,
// invalid UTF-8: SQLSTATE class 22) in a filter or a notification is
// reported as refused input, never as the store being unavailable.
func TestRefusedInputIsNotAnOutage(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"NUL in a kassenzeichen filter", func() error {
			_, err := r.store.ListPostings(ctx, payment.PostingFilter{Kassenzeichen: "\x00"})
			return err
		}},
		{"NUL in a payments filter", func() error {
			_, err := r.store.ListPayments(ctx, payment.PaymentFilter{Kassenzeichen: "TB\x00"})
			return err
		}},
		{"invalid UTF-8 in a reference", func() error { _, err := r.store.PaymentByReference(ctx, "\xff"); return err }},
		{"NUL in a notification's event id", func() error {
			_, err := r.store.SeenEvent(ctx, "ev-\x00")
			return err
		}},
		{"NUL in a stored notification", func() error {
			return r.store.RecordInbox(ctx, 0, "notify", "ev-\x00", true, []byte(`{}`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, pgtx.ErrInputRejected) || errors.Is(err, payment.ErrStoreUnavailable) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
