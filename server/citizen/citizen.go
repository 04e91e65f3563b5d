// Package citizen serves the public booking API under /api/v1 that
// citizens' browsers and apps call: locations and services, availability,
// holds, bookings and managing a booking by its token (activating,
// cancelling, rescheduling), and sending the manage link again.
package citizen

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// Catalog is the city's locations and services.
type Catalog interface {
	Locations() []booking.Location
	Location(id string) (*booking.Location, *time.Location, error)
	Services(locationID string) ([]booking.Service, error)
}

// Reservations answers availability and places and releases holds.
type Reservations interface {
	Availability(ctx context.Context, locationID, serviceID string, from, to booking.Date) ([]booking.Slot, error)
	PlaceHold(ctx context.Context, locationID, serviceID string, start time.Time, units int) (*booking.Hold, error)
	ReleaseHold(ctx context.Context, id string) error
	// HoldService returns the service a hold is for (its first item's).
	HoldService(ctx context.Context, holdID string) (*booking.Service, error)
	// PlaceHoldFor holds one start for a choice of several services (one
	// desk for their summed length) or pool tickets (persons).
	PlaceHoldFor(ctx context.Context, locationID string, items []booking.Item, start time.Time) (*booking.Hold, error)
	// AvailabilityFor lists the starts where the whole choice can be held.
	AvailabilityFor(ctx context.Context, locationID string, items []booking.Item, from, to booking.Date) ([]booking.Slot, error)
	// Calendar lists the days with a holdable start for the choice and
	// the next free start.
	Calendar(ctx context.Context, locationID string, items []booking.Item, from, to booking.Date) (*booking.Calendar, error)
	// Window is the first and last day a location can be booked on now.
	Window(locationID string) (first, last booking.Date, err error)
}

// Bookings turns holds into bookings and manages them by code and token.
type Bookings interface {
	Book(ctx context.Context, holdID string, c booking.Contact) (*booking.Confirmation, error)
	Lookup(ctx context.Context, code, token string) (*booking.Booking, error)
	// Cancel cancels a booking, refunding or cancelling its payment, and
	// says what happens to the money. A booking cancelled before answers
	// booking.ErrAlreadyCancelled.
	Cancel(ctx context.Context, code, token string) (*Cancellation, error)
	// Activate confirms a booking pending activation (double opt-in).
	Activate(ctx context.Context, code, token string) (*booking.Booking, error)
	// Reschedule moves a booking to the start of a hold of the same
	// choice: the new time is booked and the old one freed at once.
	Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error)
	// SendManageLink mails the manage link again when code and e-mail
	// address belong to one booking; booking.ErrBookingNotFound otherwise.
	SendManageLink(ctx context.Context, code, email, lang string) error
}

// Cancellation is a cancelled booking and what happens to its money.
type Cancellation struct {
	Booking *booking.Booking
	Money   payment.CancelOutcome
}

// Payments books fee-paying services as pending online payment.
type Payments interface {
	// Required reports whether a booking of svc is paid online first.
	Required(svc *booking.Service) bool
	// BookPending books a hold as pending payment and starts the payment
	// at the platform.
	BookPending(ctx context.Context, holdID string, c booking.Contact, svc *booking.Service) (*booking.Confirmation, *payment.Payment, error)
}

// RateLimiter is a token bucket per client and bucket name.
type RateLimiter interface {
	Enabled() bool
	Allow(ctx context.Context, bucket, client string) (ok bool, wait time.Duration, err error)
}

// Challenges issues and checks proofs of work for busy location-days.
type Challenges interface {
	Issue(scope string) fairness.Challenge
	Required(ctx context.Context, location, day string) (bool, error)
	Verify(ctx context.Context, scope, day, challenge, solution string) error
}

// Holders places holds as a holder, who has one live hold per location
// (a new hold replaces the last), and says when holds were placed.
type Holders interface {
	PlaceHoldAs(ctx context.Context, holder, locationID string, items []booking.Item, start time.Time) (*booking.Hold, error)
	// HolderHold is the holder's live hold at a location and when it was
	// placed; "" when none.
	HolderHold(ctx context.Context, holder, locationID string) (id string, placed time.Time, err error)
	// HoldPlaced reports whether a hold is live and when it was placed.
	HoldPlaced(ctx context.Context, id string) (placed time.Time, live bool, err error)
}

// ReleaseGuard slows down clients that release holds within seconds of
// placing them, again and again (fairness.ReleaseGuard).
type ReleaseGuard interface {
	Allow(ctx context.Context, client string, placed, now time.Time) (ok bool, wait time.Duration, err error)
}

// Handler serves the citizens' API.
type Handler struct {
	Catalog      Catalog
	Reservations Reservations
	Bookings     Bookings
	// Payments is nil when online payment is off: fee-paying services are
	// then booked without payment.
	Payments   Payments
	Limiter    RateLimiter
	Challenges Challenges
	// Room is the waiting room in front of releases; nil: none.
	Room WaitingRoom
	// SigningKey signs the QR payload of a confirmed booking.
	SigningKey ed25519.PrivateKey
	// ClientIPHeader names the header a trusted proxy puts the client
	// address in; empty means the peer address.
	ClientIPHeader string
	// Holders, when set, gives each API client one live hold per
	// location, as far as clients can be told apart: a request with the
	// pages' browser cookie counts for that browser; others, with
	// HoldersByAddress, for their address (an IPv6 client by its /64,
	// keyed with HolderKey), so clients behind one address share one
	// live hold per location; without it they are not bound. Nil turns
	// the rule off.
	Holders          Holders
	HoldersByAddress bool
	HolderKey        []byte
	// Releases, when set, slows down clients that release holds within
	// seconds again and again.
	Releases ReleaseGuard
	// Now is the clock holds are placed by (the engine's); time.Now when nil.
	Now func() time.Time
	Log *slog.Logger
}

// Routes mounts the citizens' routes on the /api/v1 group.
func (h *Handler) Routes(v1 fiber.Router) {
	v1.Get("/locations", h.listLocations)
	v1.Get("/locations/:id/services", h.listServices)
	v1.Get("/availability", h.availability)
	v1.Get("/calendar", h.calendar)
	v1.Get("/challenge", h.challenge)
	v1.Post("/holds", h.rateLimited("holds"), h.createHold)
	v1.Get("/waiting-rooms/:location", h.getRoom)
	v1.Post("/waiting-rooms/:location/position", h.rateLimited("waiting-room"), h.joinRoom)
	v1.Get("/waiting-rooms/:location/position", h.getPosition)
	v1.Delete("/holds/:id", h.deleteHold)
	v1.Post("/bookings", h.rateLimited("bookings"), h.createBooking)
	v1.Get("/bookings/:code", auth.ManageToken, h.getBooking)
	v1.Delete("/bookings/:code", auth.ManageToken, h.cancelBooking)
	v1.Post("/bookings/:code/activate", auth.ManageToken, h.activateBooking)
	v1.Post("/bookings/:code/reschedule", h.rateLimited("bookings"), auth.ManageToken, h.rescheduleBooking)
	v1.Post("/manage-links", h.rateLimited("manage-links"), h.sendManageLink)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
