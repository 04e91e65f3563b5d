package mail

import (
	"context"
	"errors"
	"time"
)

// Booking states the worker distinguishes; they are the booking store's
// status strings.
const (
	StatusConfirmed         = "confirmed"
	StatusPendingActivation = "pending_activation"
	StatusCancelled         = "cancelled"
)

// ErrNoBooking is wrapped by Bookings.MailBooking when the booking does not
// exist: the event can never be delivered.
var ErrNoBooking = errors.New("mail: booking not found")

// Bookings reads what the messages about one booking show.
type Bookings interface {
	MailBooking(ctx context.Context, bookingID int64) (Booking, error)
}

// Booking is the data of one booking as its messages show it.
type Booking struct {
	ID     int64
	Code   string
	Status string
	Name   string
	Email  string
	// Lang is the language the booking was made in; an event's own
	// language wins over it.
	Lang string
	// CalendarUID is the booking's stable calendar UID ("<random>@termin"),
	// never changed, so calendar programs update and cancel one entry.
	CalendarUID string
	// Sequence is the calendar SEQUENCE of the booking's current state: 0
	// when booked, one more for each reschedule and for the cancellation.
	Sequence int
	// Start and End of the appointment; shown in Timezone.
	Start, End      time.Time
	Timezone        string
	LocationID      string
	LocationName    string
	LocationAddress string
	// Services of an office appointment (one or several).
	Services []Service
	// Tickets of a pool order: ticket type and count.
	Tickets []Ticket
	// Persons is the number of units (visitors or desks) taken.
	Persons  int
	FeeCents int64
	// PaidOnline is set when the fee was paid through the payment
	// platform: a cancellation says the money is refunded.
	PaidOnline bool
	// OfficeReason is the office's reason when the office cancelled the
	// booking ("" when the citizen did).
	OfficeReason string
	// ManageToken is the booking's manage token, recomputed by the booking
	// side; the links are built here from the public base URL.
	ManageToken string
	// ActivationDeadline is when an unactivated booking is released.
	ActivationDeadline time.Time
	// PreviousStart and PreviousEnd are the time before the last
	// reschedule; zero when unknown.
	PreviousStart, PreviousEnd time.Time
}

// Service is one service of an appointment.
type Service struct {
	ID   string
	Name string
	// Bring says what to bring; may be empty.
	Bring Text
}

// Text is a text in German and English.
type Text struct{ DE, EN string }

// In returns the text in lang, falling back to German.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.DE
}

// Ticket is one line of a pool order.
type Ticket struct {
	ID    string
	Name  string
	Count int
}
