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
	ErrHoldUsed        = errors.New("hold already used")
	ErrBookingNotFound = errors.New("booking not found")
	ErrTooLate         = errors.New("booking can no longer be changed")
	ErrContactLimit    = errors.New("contact has reached the booking limit for this day")
	ErrUnavailable     = errors.New("reservation store unavailable")
)

// Location is an office (Bürgeramt, capacity = desks) or a pool (capacity =
// visitors per slot).
type Location struct {
	ID       string `json:"id" db:"id"`
	Kind     string `json:"kind" db:"kind"`
	Name     string `json:"name" db:"name"`
	Timezone string `json:"timezone" db:"timezone"`
	// Capacity is the number of units of every slot: desks or visitors.
	Capacity int `json:"capacity" db:"capacity"`
	// SlotMinutes is the grid every slot and service duration sits on.
	SlotMinutes int `json:"slot_minutes" db:"slot_minutes"`
	// ClosedOnHolidays closes the location on the public holidays of
	// Rhineland-Palatinate.
	ClosedOnHolidays bool `json:"closed_on_holidays" db:"closed_on_holidays"`
	// BookingHorizonDays is how far ahead citizens may book.
	BookingHorizonDays int           `json:"booking_horizon_days" db:"booking_horizon_days"`
	Opening            []OpeningRule `json:"opening" db:"-"`
	Closures           []Closure     `json:"closures" db:"-"`
}

// OpeningRule opens a location on one weekday between two wall-clock times
// in the location's time zone. A weekday may have several rules.
type OpeningRule struct {
	Weekday time.Weekday `json:"weekday"`
	Opens   ClockTime    `json:"opens"`
	Closes  ClockTime    `json:"closes"`
}

// Closure closes a location for a whole local day.
type Closure struct {
	Day    Date   `json:"day"`
	Reason string `json:"reason"`
}

// Service is a Dienstleistung of an office or a ticket type of a pool.
type Service struct {
	ID              string `json:"id" db:"id"`
	LocationID      string `json:"location" db:"location_id"`
	Name            string `json:"name" db:"name"`
	DurationMinutes int    `json:"duration_minutes" db:"duration_minutes"`
	FeeCents        int64  `json:"fee_cents" db:"fee_cents"`
	Payment         string `json:"payment" db:"payment"`
	// MaxUnits bounds the units one booking may take (1 for an office desk,
	// a family's tickets at the pool).
	MaxUnits int `json:"max_units" db:"max_units"`
	// QueuePrefix is the letter of walk-in queue numbers for this service
	// (A017); T is reserved for checked-in appointments.
	QueuePrefix string `json:"queue_prefix,omitempty" db:"queue_prefix"`
}

// Slot is a bookable start time of a service with its free units.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Free  int       `json:"free"`
}

// Hold reserves units of a slot for a short time.
type Hold struct {
	ID         string    `json:"id"`
	LocationID string    `json:"location"`
	ServiceID  string    `json:"service"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Units      []int     `json:"units"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Booking is the record of confirmed (or payment-pending) units of a slot.
type Booking struct {
	ID          int64      `json:"-" db:"id"`
	Code        string     `json:"code" db:"code"`
	HoldID      string     `json:"-" db:"hold_id"`
	LocationID  string     `json:"location" db:"location_id"`
	ServiceID   string     `json:"service" db:"service_id"`
	Start       time.Time  `json:"start" db:"start_at"`
	End         time.Time  `json:"end" db:"end_at"`
	Units       []int      `json:"units" db:"-"`
	Name        string     `json:"name" db:"name"`
	Email       string     `json:"email" db:"email"`
	Status      string     `json:"status" db:"status"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty" db:"cancelled_at"`
}
