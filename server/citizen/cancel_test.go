package citizen

import (
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

// TestCancellationSaysWhatHappensToTheMoney: every outcome of a
// cancellation is told in both languages, with the amount and the refund
// window where they matter.
func TestCancellationSaysWhatHappensToTheMoney(t *testing.T) {
	b := &booking.Booking{Code: "ABCD2345", Status: booking.StatusCancelled}
	tests := []struct {
		money      payment.CancelOutcome
		outcome    string
		inEN, inDE string
		notInEN    string
	}{
		{payment.CancelOutcome{Money: payment.MoneyRefund, AmountCents: 900, FreeCancelBefore: 24 * time.Hour}, "refund", "9,00 € will be refunded", "9,00 € werden", "not refunded"},
		{payment.CancelOutcome{Money: payment.MoneyNoRefund, AmountCents: 450, FreeCancelBefore: 24 * time.Hour}, "no_refund", "less than 24 hours", "nicht erstattet", "will be refunded"},
		{payment.CancelOutcome{Money: payment.MoneyPaymentCancelled, FreeCancelBefore: 24 * time.Hour}, "payment_cancelled", "nothing is charged", "nichts abgebucht", "refund"},
		{payment.CancelOutcome{Money: payment.MoneyNone}, "none", "Nothing was paid online", "nichts bezahlt", "refund"},
		{payment.CancelOutcome{}, "none", "Nothing was paid online", "nichts bezahlt", "refund"},
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			out := newCancellationJSON(&Cancellation{Booking: b, Money: tt.money})
			m := out.Money
			if out.Code != b.Code || out.Status != "cancelled" || m.Outcome != tt.outcome || !strings.Contains(m.Message, tt.inEN) ||
				!strings.Contains(m.MessageDE, tt.inDE) || strings.Contains(m.Message, tt.notInEN) {
				t.Fatalf("%+v", out)
			}
		})
	}
}
