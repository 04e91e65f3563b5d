package booking

import (
	"errors"
	"strings"
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
	// StatusPendingActivation: booked at a location with double opt-in,
	// waiting for the citizen's click behind the activation e-mail; its
	// units are occupied and released when it is not activated in time.
	StatusPendingActivation = "pending_activation"
	StatusCancelled         = "cancelled"
)

// Languages a booking can remember (mails go out in it).
const (
	LangDE = "de"
	LangEN = "en"
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
	// ErrRangeInvalid: a queried date range is reversed or longer than
	// allowed.
	ErrRangeInvalid = errors.New("date range reversed or too long")
	// ErrChoiceInvalid: the services or ticket types asked for cannot be
	// booked together (see Location.Plan).
	ErrChoiceInvalid = errors.New("services cannot be booked together")
	// ErrNotActivatable: the booking is not waiting for activation any
	// more (cancelled, or released because it was not activated in time).
	ErrNotActivatable = errors.New("booking cannot be activated")
	// ErrNotReschedulable: the booking cannot be moved (it waits for a
	// payment or is cancelled), or the new hold is for another location
	// or choice.
	ErrNotReschedulable = errors.New("booking cannot be rescheduled")
	// ErrTokenUnavailable: the booking predates recomputable manage
	// tokens, or the engine has no ManageKey.
	ErrTokenUnavailable = errors.New("manage token cannot be recomputed")
	// ErrLeaseLost: an event's claim is no longer held by the caller.
	ErrLeaseLost = errors.New("event lease lost")
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
	// LeadMinutes is the minimum time between booking and start; 0 lets
	// any future start be booked.
	LeadMinutes int
	// ActivationMinutes > 0 turns on double opt-in: a booking stays
	// StatusPendingActivation until activated and is released after
	// this many minutes.
	ActivationMinutes int
	// Release is when days become bookable; the zero value opens every
	// day of the horizon.
	Release Release
	// CancelBlockMinutes is how long a cancelled booking's units stay
	// blocked before anyone can hold them again (ZMS's deallocation
	// time), so that a cancellation cannot hand an appointment to a
	// buyer waiting for it; 0 frees them at once.
	CancelBlockMinutes int
	Address            Address
	Opening            []OpeningRule
	Closures           []Closure
	// LayoutVersion counts the changes of Capacity and SlotMinutes, which
	// lay out the hold store's bitmaps; see HoldsKey.
	LayoutVersion int
}

// Address is a location's postal address, for confirmations and mails.
type Address struct {
	Street     string
	PostalCode string
	City       string
}

// String is the address on one line, "" when none is configured.
func (a Address) String() string {
	city := strings.TrimSpace(a.PostalCode + " " + a.City)
	switch {
	case a.Street == "":
		return city
	case city == "":
		return a.Street
	}
	return a.Street + ", " + city
}

// Text is a text in both languages of the citizen pages.
type Text struct {
	DE, EN string
}

// In returns the text in lang, the German one when there is no English.
func (t Text) In(lang string) string {
	if lang == LangEN && t.EN != "" {
		return t.EN
	}
	return t.DE
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
	// WhatToBring tells the citizen what to bring to the appointment
	// (documents, photo); shown on the confirmation page and in mails.
	WhatToBring Text
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

// Item is one line of a choice: an office service (Count 1) or a pool
// ticket type with its number of persons.
type Item struct {
	ServiceID string
	Count     int
}

// Hold reserves units of a slot for a short time.
type Hold struct {
	ID         string
	LocationID string
	// ServiceID is the first item's service.
	ServiceID string
	Items     []Item
	Start     time.Time
	End       time.Time
	Units     []int
	ExpiresAt time.Time
}

// Booking is the record of confirmed (or payment-pending) units of a slot.
type Booking struct {
	ID         int64
	Code       string
	HoldID     string
	LocationID string
	// ServiceID is the first item's service.
	ServiceID string
	// Items are the booked services or ticket types; a booking from
	// before multi-service bookings has one item.
	Items       []Item
	Start       time.Time
	End         time.Time
	Units       []int
	Name        string
	Email       string
	Phone       string
	Lang        string
	Status      string
	CreatedAt   time.Time
	CancelledAt *time.Time
	// CalendarUID is the booking's stable calendar UID ("…@termin").
	CalendarUID string
	// Sequence is the calendar SEQUENCE of the booking's state: 0 when
	// booked, one more on every reschedule and on cancellation.
	Sequence int
	// ActivationDeadline is when a pending activation is released.
	ActivationDeadline *time.Time
	// PreviousStart and PreviousEnd are the times before the last
	// reschedule.
	PreviousStart, PreviousEnd *time.Time
	// AnonymisedAt is when name, e-mail address and phone number were
	// removed (the retention job or the citizen's request); nil while
	// they are kept.
	AnonymisedAt *time.Time
	// CancelReason is the office's reason when the office cancelled the
	// booking (or is about to, see CancelByStaff); "" otherwise.
	CancelReason string
}

// Persons is the number of units the booking takes (persons at a pool).
func (b *Booking) Persons() int { return len(b.Units) }

// Live reports whether the booking occupies its units.
func (b *Booking) Live() bool { return b.Status != StatusCancelled }
