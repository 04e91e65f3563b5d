package booking

import (
	"errors"
	"time"
)

// Kinds of location.
const (
	KindOffice = "office"
	KindPool   = "pool"
)

// Where a service's fee is paid.
const (
	PayOnline  = "online"
	PayCounter = "counter"
)

// Booking states.
const (
	StatusConfirmed      = "confirmed"
	StatusPendingPayment = "pending_payment"
	StatusCancelled      = "cancelled"
)

// Domain outcomes. Callers map them to user-facing errors; they are never
// wrapped around infrastructure failures.
var (
	ErrNotFound        = errors.New("not found")
	ErrLocationUnknown = errors.New("unknown location")
	ErrServiceUnknown  = errors.New("unknown service")
	ErrSlotFull        = errors.New("not enough free units in slot")
	ErrSlotInvalid     = errors.New("no slot starts at this time")
	ErrSlotPast        = errors.New("slot has already started")
	ErrUnitsInvalid    = errors.New("number of units out of range")
	ErrHoldNotFound    = errors.New("hold not found")
	ErrHoldExpired     = errors.New("hold expired")
	// ErrHoldReleased: the hold was given back by its holder.
	ErrHoldReleased    = errors.New("hold released")
	ErrHoldUsed        = errors.New("hold already used")
	ErrBookingNotFound = errors.New("booking not found")
	// ErrAlreadyCancelled: a cancellation of a booking cancelled before.
	ErrAlreadyCancelled = errors.New("booking already cancelled")
	ErrTooLate          = errors.New("booking can no longer be changed")
	ErrContactLimit     = errors.New("contact has reached the booking limit for this day")
	ErrUnavailable      = errors.New("reservation store unavailable")
)

// Outcomes a record store reports to the engine when it writes a booking.
// The engine turns them into the domain outcomes above; they never reach
// a caller of Engine.
var (
	// ErrUnitTaken: a unit the hold claimed is already booked (Redis was
	// lost or stale).
	ErrUnitTaken = errors.New("unit already booked")
	// ErrCodeTaken: the drawn booking code exists; draw another.
	ErrCodeTaken = errors.New("booking code taken")
)

// Location is an office (Bürgeramt, capacity = desks) or a pool (capacity =
// visitors per slot).
type Location struct {
	ID       string
	Kind     string
	Name     string
	Timezone string
	// Capacity is the number of units of every slot: desks or visitors.
	Capacity int
	// SlotMinutes is the grid every slot and service duration sits on.
	SlotMinutes int
	// ClosedOnHolidays closes the location on the public holidays of
	// Rhineland-Palatinate.
	ClosedOnHolidays bool
	// BookingHorizonDays is how far ahead citizens may book.
	BookingHorizonDays int
	Opening            []OpeningRule
	Closures           []Closure
}

// OpeningRule opens a location on one weekday between two wall-clock times
// in the location's time zone. A weekday may have several rules.
type OpeningRule struct {
	Weekday time.Weekday
	Opens   ClockTime
	Closes  ClockTime
}

// Closure closes a location for a whole local day.
type Closure struct {
	Day    Date
	Reason string
}

// Service is a Dienstleistung of an office or a ticket type of a pool.
type Service struct {
	ID              string
	LocationID      string
	Name            string
	DurationMinutes int
	FeeCents        int64
	Payment         string
	// MaxUnits bounds the units one booking may take (1 for an office desk,
	// a family's tickets at the pool).
	MaxUnits int
	// QueuePrefix is the letter of walk-in queue numbers for this service
	// (A017); T is reserved for checked-in appointments.
	QueuePrefix string
}

// QueuePrefixOrDefault is the letter of the service's walk-in numbers, A
// when none is set.
func (s Service) QueuePrefixOrDefault() string {
	if s.QueuePrefix == "" {
		return "A"
	}
	return s.QueuePrefix
}

// Slot is a bookable start time of a service with its free units.
type Slot struct {
	Start time.Time
	End   time.Time
	Free  int
}

// Hold reserves units of a slot for a short time.
type Hold struct {
	ID         string
	LocationID string
	ServiceID  string
	Start      time.Time
	End        time.Time
	Units      []int
	ExpiresAt  time.Time
}

// Booking is the record of confirmed (or payment-pending) units of a slot.
type Booking struct {
	ID          int64
	Code        string
	HoldID      string
	LocationID  string
	ServiceID   string
	Start       time.Time
	End         time.Time
	Units       []int
	Name        string
	Email       string
	Status      string
	CreatedAt   time.Time
	CancelledAt *time.Time
}
