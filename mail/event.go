package mail

import (
	"context"
	"errors"
	"time"
)

// Event kinds: the kinds of booking events a citizen hears about. They are
// the strings the booking store writes.
const (
	KindConfirmed           = "confirmed"
	KindCancelled           = "cancelled"
	KindRescheduled         = "rescheduled"
	KindActivationRequested = "activation_requested"
	KindActivationExpired   = "activation_expired"
	KindReminder            = "reminder"
	// KindManageLink sends the manage link again ("find my booking").
	KindManageLink = "manage_link"
)

// Event is one booking event claimed for delivery.
type Event struct {
	ID        int64
	Kind      string
	BookingID int64
	// Lang is the citizen's language, "de" or "en"; empty means "de".
	Lang         string
	DeliverAfter time.Time
	// Attempt counts the claims of this event including the current one.
	// It is also the fence of the claim: a store applies Done, Failed and
	// Dead only while the event's attempt count still equals it.
	Attempt int
	// LeaseUntil is when the claim ends and another worker may take the
	// event.
	LeaseUntil time.Time
	CreatedAt  time.Time
	// LastError is filled in dead letters: why the event was given up.
	LastError string
}

// ErrLeaseLost is returned by EventDone, EventFailed and EventDead when the
// event is no longer held by this claim: the lease ran out and another
// worker claimed it, or it is no longer pending.
var ErrLeaseLost = errors.New("mail: event lease lost")

// Events is the outbox of booking events.
type Events interface {
	// ClaimEvents leases up to max pending events whose deliver_after has
	// passed at now and whose lease (if any) has run out, oldest first. A
	// claim increments the event's attempt count and sets its lease to
	// now+lease; no other claim returns the event before then.
	ClaimEvents(ctx context.Context, now time.Time, max int, lease time.Duration) ([]Event, error)
	// EventDone marks a claimed event delivered (or deliberately skipped).
	EventDone(ctx context.Context, ev Event, now time.Time) error
	// EventFailed releases a claimed event for another attempt at next.
	// reason never holds personal data.
	EventFailed(ctx context.Context, ev Event, next time.Time, reason string) error
	// EventDead gives a claimed event up: it stays in the dead-letter list.
	EventDead(ctx context.Context, ev Event, now time.Time, reason string) error
	// DeadEvents lists dead letters, newest first.
	DeadEvents(ctx context.Context, max int) ([]Event, error)
}
