package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/web"
)

// TestChoiceRefused: the engine's refusals of a combination reach the
// pages as web.ErrChoiceUnsupported and keep their cause; other errors
// pass unchanged.
func TestChoiceRefused(t *testing.T) {
	for _, tt := range []struct {
		name        string
		err         error
		unsupported bool
	}{
		{"choice invalid", fmt.Errorf("plan: %w", booking.ErrChoiceInvalid), true},
		{"accounting mixed", payment.ErrAccountingMixed, true},
		{"slot full", booking.ErrSlotFull, false},
		{"units invalid", booking.ErrUnitsInvalid, false},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := choiceRefused(tt.err)
			if errors.Is(got, web.ErrChoiceUnsupported) != tt.unsupported {
				t.Fatalf("choiceRefused(%v) = %v, unsupported want %v", tt.err, got, tt.unsupported)
			}
			if tt.err != nil && !errors.Is(got, tt.err) {
				t.Fatalf("choiceRefused(%v) lost its cause: %v", tt.err, got)
			}
			if tt.err == nil && got != nil {
				t.Fatalf("choiceRefused(nil) = %v", got)
			}
		})
	}
}
