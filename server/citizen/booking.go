package citizen

import (
	"fmt"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

type bookingRequest struct {
	Hold  string `json:"hold"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Phone is optional; Lang ("de", the default, or "en") is the
	// language of the booking's mails.
	Phone string `json:"phone"`
	Lang  string `json:"lang"`
}

type bookingJSON struct {
	Code        string     `json:"code"`
	ManageToken string     `json:"manage_token,omitempty"`
	Status      string     `json:"status"`
	Start       time.Time  `json:"start"`
	End         time.Time  `json:"end"`
	Location    string     `json:"location"`
	Service     string     `json:"service"`
	Units       int        `json:"units"`
	Items       []itemJSON `json:"items"`
	Name        string     `json:"name,omitempty"`
	Email       string     `json:"email,omitempty"`
	Phone       string     `json:"phone,omitempty"`
	Lang        string     `json:"lang"`
	CreatedAt   time.Time  `json:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	// ActivationDeadline: a booking pending activation is released then.
	ActivationDeadline *time.Time `json:"activation_deadline,omitempty"`
	// PreviousStart and PreviousEnd are the time before the last
	// reschedule.
	PreviousStart *time.Time `json:"previous_start,omitempty"`
	PreviousEnd   *time.Time `json:"previous_end,omitempty"`
	// QR is the signed payload of the confirmation's QR code.
	QR string `json:"qr,omitempty"`
}

// newBookingJSON maps a booking; a confirmed one gets its QR payload
// signed with key.
func newBookingJSON(b *booking.Booking, key booking.TicketSigner) bookingJSON {
	out := bookingJSON{
		Code: b.Code, Status: b.Status, Start: b.Start, End: b.End, Location: b.LocationID,
		Service: b.ServiceID, Units: len(b.Units), Items: newItemsJSON(b.Items), Name: b.Name, Email: b.Email,
		Phone: b.Phone, Lang: b.Lang, CreatedAt: b.CreatedAt, CancelledAt: b.CancelledAt,
		ActivationDeadline: b.ActivationDeadline, PreviousStart: b.PreviousStart, PreviousEnd: b.PreviousEnd,
	}
	if out.Lang == "" {
		out.Lang = booking.LangDE
	}
	if b.Status == booking.StatusConfirmed {
		out.QR = key.SignTicket(booking.ClaimsOf(b))
	}
	return out
}

// Payment is a payment as citizens see it: after booking a fee-paying
// service and on returning from the platform's pay page.
type Payment struct {
	Reference     string    `json:"reference"`
	Kassenzeichen string    `json:"kassenzeichen"`
	AmountCents   int64     `json:"amount_cents"`
	Currency      string    `json:"currency"`
	State         string    `json:"state"`
	ExpiresAt     time.Time `json:"expires_at"`
	BookingCode   string    `json:"booking_code,omitempty"`
	BookingStatus string    `json:"booking_status,omitempty"`
}

// NewPayment maps a payment to its payload.
func NewPayment(p *payment.Payment) Payment {
	return Payment{Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, AmountCents: p.AmountCents, Currency: p.Currency,
		State: string(p.State), ExpiresAt: p.Deadline, BookingCode: p.BookingCode}
}

// pendingBookingJSON is a booking waiting for its online payment.
type pendingBookingJSON struct {
	bookingJSON
	PaymentURL string  `json:"payment_url"`
	Payment    Payment `json:"payment"`
}

type rescheduleRequest struct {
	Hold string `json:"hold"`
}

type manageLinkRequest struct {
	Code  string `json:"code"`
	Email string `json:"email"`
	// Lang is the language of the mail; the booking's own when empty.
	Lang string `json:"lang"`
}

// cancellationJSON answers a cancellation: the booking's new status and
// what happens to its money, in words for the citizen.
type cancellationJSON struct {
	Code   string    `json:"code"`
	Status string    `json:"status"`
	Money  moneyJSON `json:"money"`
}

type moneyJSON struct {
	// Outcome is none, payment_cancelled, refund or no_refund.
	Outcome     string `json:"outcome"`
	AmountCents int64  `json:"amount_cents"`
	Message     string `json:"message"`
	MessageDE   string `json:"message_de"`
}

func newCancellationJSON(c *Cancellation) cancellationJSON {
	m := c.Money
	out := moneyJSON{Outcome: m.Money, AmountCents: m.AmountCents}
	euro := strings.Replace(payment.FormatCents(m.AmountCents), ".", ",", 1) + " €"
	hours := int(m.FreeCancelBefore.Hours())
	switch m.Money {
	case payment.MoneyRefund:
		out.Message = fmt.Sprintf("The booking is cancelled. %s will be refunded to the way you paid.", euro)
		out.MessageDE = fmt.Sprintf("Die Buchung ist storniert. %s werden auf dem Zahlungsweg erstattet.", euro)
	case payment.MoneyNoRefund:
		out.Message = fmt.Sprintf("The booking is cancelled. It was cancelled less than %d hours before it starts, so the %s paid are not refunded.", hours, euro)
		out.MessageDE = fmt.Sprintf("Die Buchung ist storniert. Sie wurde weniger als %d Stunden vor Beginn storniert; die bezahlten %s werden nicht erstattet.", hours, euro)
	case payment.MoneyPaymentCancelled:
		out.Message = "The booking is cancelled. It was not paid yet; the payment is cancelled and nothing is charged."
		out.MessageDE = "Die Buchung ist storniert. Sie war noch nicht bezahlt; die Zahlung ist abgebrochen, es wird nichts abgebucht."
	default:
		out.Outcome = payment.MoneyNone
		out.Message = "The booking is cancelled. Nothing was paid online."
		out.MessageDE = "Die Buchung ist storniert. Online wurde nichts bezahlt."
	}
	return cancellationJSON{Code: c.Booking.Code, Status: c.Booking.Status, Money: out}
}
