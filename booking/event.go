package booking

import "time"

// Booking event kinds: what a citizen hears about. Each is written by the
// record store in the transaction of the change (the booking_events
// outbox), and the mail worker delivers it.
const (
	EventConfirmed           = "confirmed"
	EventCancelled           = "cancelled"
	EventRescheduled         = "rescheduled"
	EventActivationRequested = "activation_requested"
	EventActivationExpired   = "activation_expired"
	// EventReminder is due ReminderBefore the start; it is written when
	// the booking is confirmed and superseded when it moves or is
	// cancelled.
	EventReminder = "reminder"
	// EventManageLink sends the manage link again ("find my booking").
	EventManageLink = "manage_link"
)

// Event is one claimed row of the booking events outbox.
type Event struct {
	ID           int64
	Kind         string
	BookingID    int64
	Lang         string
	DeliverAfter time.Time
	// Attempt counts the claims including this one; it fences the
	// answers of a claim whose lease ran out.
	Attempt    int
	LeaseUntil time.Time
	CreatedAt  time.Time
	// LastError is filled for dead letters.
	LastError string
}
