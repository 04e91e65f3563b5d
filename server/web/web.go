// Package web serves the citizens' pages: choosing a location, services or
// ticket types, a day and a time, holding it, contact data, review,
// payment at the platform, the confirmation and the manage page. Pages are
// html/template rendered on the server and embedded in the binary; every
// page works without JavaScript, the few scripts only add a countdown, the
// proof of work and polling. A GET never changes a booking.
package web

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// Item is one line of a choice: an office service (Count 1) or a pool
// ticket type with its number of persons.
type Item struct {
	ServiceID string `json:"s"`
	Count     int    `json:"n"`
}

// Day is a local day with the number of starts that can be held now.
type Day struct {
	Day  booking.Date
	Free int
}

// Contact is what the contact form collects.
type Contact struct {
	Name, Email, Phone string
	// Lang is the page language the booking remembers ("de" or "en").
	Lang string
}

// ErrChoiceUnsupported answers a choice the booking core cannot hold
// yet (several services in one appointment, several ticket types in one
// order).
var ErrChoiceUnsupported = errors.New("web: this combination cannot be booked")

// ErrPhoneInvalid answers a phone number that does not look like one.
var ErrPhoneInvalid = errors.New("web: phone number invalid")

// Catalog is the city's locations and services.
type Catalog interface {
	Locations() []booking.Location
	Location(id string) (*booking.Location, *time.Location, error)
	Services(locationID string) ([]booking.Service, error)
}

// Reservations answers which days and times can be held for a choice and
// places and releases holds.
type Reservations interface {
	// Calendar lists the days between from and to (inclusive) with a start
	// that can be held now, and the earliest such start from from on
	// (beyond to, up to the booking window's end; nil when none).
	Calendar(ctx context.Context, locationID string, items []Item, from, to booking.Date) ([]Day, *booking.Slot, error)
	// Times lists the starts of one day that can be held now.
	Times(ctx context.Context, locationID string, items []Item, day booking.Date) ([]booking.Slot, error)
	PlaceHold(ctx context.Context, locationID string, items []Item, start time.Time) (*booking.Hold, error)
	ReleaseHold(ctx context.Context, id string) error
}

// Bookings books holds and manages bookings by code and manage token.
type Bookings interface {
	// Book books a hold paid at the counter (or free).
	Book(ctx context.Context, holdID string, c Contact) (*booking.Confirmation, error)
	Lookup(ctx context.Context, code, token string) (*booking.Booking, error)
	// Cancel cancels a booking, refunding or cancelling its payment.
	Cancel(ctx context.Context, code, token string) error
}

// Payments books holds of services paid online and checks payments.
type Payments interface {
	// BookPending books a hold as pending payment and starts the payment
	// at the platform.
	BookPending(ctx context.Context, holdID string, c Contact) (*booking.Confirmation, *payment.Payment, error)
	// Check asks the platform for the payment's state (never trusting the
	// redirect) and returns it with the booking's status.
	Check(ctx context.Context, reference string) (*payment.Payment, string, error)
	// PaymentFor returns the payment of a booking; payment.ErrPaymentNotFound when none.
	PaymentFor(ctx context.Context, bookingID int64) (*payment.Payment, error)
}

// Rescheduler moves a booking to the time of a hold for the same choice:
// the new time is booked first and the old one released in the same
// transaction; code and manage token stay.
type Rescheduler interface {
	Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error)
}

// Finder sends the manage link of a booking again when code and e-mail
// address match; any mismatch is booking.ErrBookingNotFound, and the page
// answers the same either way.
type Finder interface {
	SendManageLink(ctx context.Context, code, email, lang string) error
}

// CalendarFiles builds a booking's calendar file: the same event (UID and
// sequence) the booking's mails attach, so a calendar that has both keeps
// one entry and a cancellation removes it.
type CalendarFiles interface {
	CalendarFile(ctx context.Context, bookingID int64, lang string) (name, contentType string, data []byte, err error)
}

// PersonalData reads and deletes what the booking record holds about a
// booking's person: the citizen's copy of their data and its deletion
// (DSGVO Art. 15 and 17).
type PersonalData interface {
	PersonalData(ctx context.Context, bookingID int64) (*booking.PersonalData, error)
	// AnonymiseBooking removes name, e-mail address and phone number and
	// gives up the booking's mails still waiting; the booking must no
	// longer be ahead (cancel it first).
	AnonymiseBooking(ctx context.Context, bookingID int64) error
}

// QueuePositions reads a printed queue ticket's place in today's line.
type QueuePositions interface {
	// Position returns the ticket of that number with the people before
	// it and the estimated wait; booking.ErrTicketNotFound when none.
	Position(ctx context.Context, locationID, number string) (*booking.QueueTicket, error)
	// Today lists the day's tickets of a location, newest call first,
	// then the waiting in the order they are called (the call display).
	Today(ctx context.Context, locationID string) ([]booking.QueueTicket, error)
	// Board is Today with the people ahead and the wait of every waiting
	// ticket (the live pages' streams).
	Board(ctx context.Context, locationID string) ([]booking.QueueTicket, error)
}

// Activator confirms a booking waiting for the citizen's double opt-in.
type Activator interface {
	Activate(ctx context.Context, code, token string) (*booking.Booking, error)
}

// ErrNotActivatable answers an activation of a booking that was released
// or cancelled, or after its deadline.
var ErrNotActivatable = errors.New("web: booking cannot be activated")

// statusPendingActivation is the booking core's status of a booking
// waiting for its activation.
const statusPendingActivation = "pending_activation"

// ErrNotReschedulable answers a move the booking core refuses (the
// booking is not confirmed, or the hold is for another choice).
var ErrNotReschedulable = errors.New("web: booking cannot be moved")

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

// Handler serves the citizens' pages.
type Handler struct {
	Catalog      Catalog
	Reservations Reservations
	Bookings     Bookings
	// Payments is nil when online payment is off; services paid online
	// are then booked like counter services.
	Payments Payments
	// Rescheduler is nil while the booking core cannot move bookings;
	// the manage page then offers no reschedule.
	Rescheduler Rescheduler
	// Finder is nil while nothing can send the manage link again; "find
	// my booking" is then not offered.
	Finder Finder
	// Activator is nil while no location asks for a double opt-in.
	Activator Activator
	// Calendars is nil when no calendar file can be built; the
	// confirmation page then offers no download.
	Calendars CalendarFiles
	// Privacy is nil when the manage page offers no copy and no deletion
	// of the citizen's data.
	Privacy PersonalData
	// RetentionDays is how long after the appointment the retention job
	// keeps the contact (the manage page says so).
	RetentionDays int
	// Queue is nil when no page shows a queue ticket's place.
	Queue QueuePositions
	// Live signals queue changes to the event streams of the call
	// display and the ticket page; nil when those pages only reload.
	Live LiveQueue
	// Desk is the desk view's queue; nil: no desk view.
	Desk DeskQueue
	// KeepAlive spaces the event streams' keep-alive comments; 15 s when
	// zero.
	KeepAlive time.Duration
	// boards are the live pages' shared reads of each location's queue.
	boards     boards
	Limiter    RateLimiter
	Challenges Challenges
	// Room is the waiting room in front of releases; nil: none.
	Room WaitingRoom
	// Holders, when set, gives each browser (its browser cookie) one
	// live hold per location: a new hold replaces the last.
	Holders Holders
	// Releases, when set, slows down browsers that release holds within
	// seconds again and again.
	Releases ReleaseGuard
	// SigningKey signs the QR payload of a confirmed booking.
	SigningKey ed25519.PrivateKey
	// Key signs the hold tickets in the page URLs and derives nothing
	// else; the same on every replica.
	Key []byte
	// ClientAddr is the address a request is rate limited by.
	ClientAddr func(c *fiber.Ctx) string
	// MultiChoice offers several services for one appointment
	// (checkboxes) and says that several ticket types go in one order;
	// off while the booking core holds one service per booking.
	MultiChoice bool
	// PhoneField shows the optional phone field; off while the booking
	// core does not store phone numbers.
	PhoneField bool
	// Ledger is nil when no finance pages are served; Reconciliations nil
	// when they start no reconciliations. ExportDir holds the finance
	// system's import files ("" when there are none).
	Ledger          Ledger
	Reconciliations Reconciliations
	ExportDir       string
	// Refunds is the refund work list (nil: no such page).
	Refunds Refunds
	// StaffBookings shows a booking to finance staff by its code.
	StaffBookings StaffBookings
	// Stats is nil when no statistics pages are served.
	Stats Statistics
	// FreeCancelBefore is the refund window of paid bookings.
	FreeCancelBefore time.Duration
	// Feedback is the contact of the accessibility statement.
	Feedback string
	// Accounts is nil when there are no staff pages.
	Accounts Accounts
	// Audit records staff actions; nil records nothing.
	Audit AuditLog
	// SecureCookies marks every cookie Secure, also on plain HTTP (behind
	// a proxy that terminates TLS); on https they are Secure anyway.
	SecureCookies bool
	// Zone is the city's time zone, for times on the staff pages.
	Zone *time.Location
	// Admin is nil when the administration pages are off.
	Admin Administration
	Now   func() time.Time
	Log   *slog.Logger
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes mounts the pages at the root of the application, after the API.
func (h *Handler) Routes(app fiber.Router) {
	app.Use(h.headers)
	app.Get("/assets/:name", h.asset)
	if h.Accounts != nil {
		// Staff pages, before the catch-all /:location. The session and
		// form-token middleware comes first; each area adds one line.
		app.Use("/intern", h.staffSession)
		h.accountRoutes(app)
		h.deskRoutes(app)
		h.adminRoutes(app)
		h.financeRoutes(app)
		h.statsRoutes(app)
	}
	app.Get("/", h.index)
	app.Get("/sprache", h.language)
	app.Get("/barrierefreiheit", h.accessibility)
	app.Get("/zahlung/:reference", h.paymentResult)
	if h.Finder != nil {
		app.Get("/termin/suchen", h.findForm)
		app.Post("/termin/suchen", h.find)
	}
	app.Get("/termin/:code", h.manage)
	if h.Activator != nil {
		app.Get("/termin/:code/aktivieren", h.activateForm)
		app.Post("/termin/:code/aktivieren", h.activate)
	}
	if h.Queue != nil {
		app.Get("/warten/:location/:number", h.waiting)
		app.Get("/warten/:location/:number/events", h.waitingEvents)
		app.Get("/display/:location", h.display)
		app.Get("/display/:location/events", h.displayEvents)
	}
	app.Get("/termin/:code/qr.png", h.qr)
	if h.Calendars != nil {
		app.Get("/termin/:code/termin.ics", h.ics)
	}
	if h.Privacy != nil {
		app.Get("/termin/:code/daten", h.dataDownload)
		app.Get("/termin/:code/daten-loeschen", h.eraseForm)
		app.Post("/termin/:code/daten-loeschen", h.erase)
	}
	app.Get("/termin/:code/stornieren", h.cancelForm)
	app.Post("/termin/:code/stornieren", h.cancel)
	if h.Rescheduler != nil {
		app.Get("/termin/:code/verschieben", h.moveStart)
		app.Get("/termin/:code/verschieben/:ticket", h.moveReview)
		app.Post("/termin/:code/verschieben/:ticket", h.move)
	}
	app.Get("/reservierung/:ticket", h.contactForm)
	app.Post("/reservierung/:ticket", h.review)
	app.Post("/reservierung/:ticket/buchen", h.book)
	app.Post("/reservierung/:ticket/aufheben", h.release)
	app.Get("/:location/tag", h.days)
	app.Get("/:location/zeit", h.times)
	app.Post("/:location/reservieren", h.hold)
	if h.Room != nil {
		app.Get("/:location/warteraum", h.room)
		app.Post("/:location/warteraum", h.joinRoom)
	}
	app.Get("/:location", h.choice)
	app.Get("/:location/:service", h.choice)
	app.Use(func(c *fiber.Ctx) error {
		if strings.HasPrefix(c.Path(), "/api/") {
			return c.Next()
		}
		return h.notFound(c)
	})
}
