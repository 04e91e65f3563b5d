package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

type paymentJSON struct {
	Reference     string     `json:"reference"`
	Kassenzeichen string     `json:"kassenzeichen"`
	BookingCode   string     `json:"booking_code"`
	Service       string     `json:"service"`
	Units         int        `json:"units"`
	AmountCents   int64      `json:"amount_cents"`
	Currency      string     `json:"currency"`
	Platform      string     `json:"platform"`
	PlatformID    string     `json:"platform_id"`
	State         string     `json:"state"`
	Method        string     `json:"method"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	RefundedCents int64      `json:"refunded_cents"`
	Note          string     `json:"note,omitempty"`
	Deadline      time.Time  `json:"deadline"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func newPaymentJSON(p *payment.Payment) paymentJSON {
	return paymentJSON{Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, BookingCode: p.BookingCode,
		Service: p.ServiceID, Units: p.Units, AmountCents: p.AmountCents, Currency: p.Currency, Platform: p.Platform,
		PlatformID: p.PlatformID, State: string(p.State), Method: p.Method, PaidAt: p.PaidAt,
		RefundedCents: p.RefundedCents, Note: p.Note, Deadline: p.Deadline, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type paymentsJSON struct {
	Payments []paymentJSON `json:"payments"`
}
