package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/payment"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/web"
)

// newWeb wires the citizens' pages to the booking engine, the payment
// flow, the mails' calendar files and the queue (the page a printed
// queue ticket's QR opens).
func newWeb(d *deps, queue *booking.Queue, limiter citizen.RateLimiter, challenges citizen.Challenges, released releasedHolds) *web.Handler {
	key := d.cfg.SubKey("web")
	if d.cfg.Secret == "" {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand)
	}
	bookings := citizenBookings{d.engine, d.pay.flow, released}
	h := &web.Handler{
		Catalog: d.engine, Reservations: webReservations{d.engine}, Bookings: webBookings{bookings},
		Rescheduler: webRescheduler{d.engine}, Finder: d.engine, Activator: webActivator{d.engine}, Queue: queue,
		Limiter: limiter, Challenges: challenges, SigningKey: d.signingKey, Key: key,
		ClientAddr:  func(c *fiber.Ctx) string { return citizen.ClientAddr(c, d.cfg.ClientIPHeader) },
		MultiChoice: true, PhoneField: true,
		FreeCancelBefore: d.cfg.Pay.FreeCancelBefore, Feedback: "barrierefreiheit@termin.example",
		Now: func() time.Time { return d.engine.Now() }, Log: d.log, // one clock (tests move it)
		Privacy: d.pg, RetentionDays: d.cfg.RetentionDays,
		Accounts: d.accounts, Audit: d.audit, SecureCookies: d.cfg.Staff.SecureCookies, Zone: d.cfg.Zone,
		Live: d.live, KeepAlive: d.cfg.EventKeepAlive, Desk: queue,
	}
	if d.cfg.OneHold {
		h.Holders = webHolders{d.engine}
	}
	if guard := newReleaseGuard(d); guard.Enabled() {
		h.Releases = guard
	}
	if d.pay.flow != nil {
		h.Payments = webPayments{d.pay.flow, d.pay.store, d.engine}
	}
	h.Admin = catalogAdmin{d}
	financePages(d, h)
	// The .ics download is the mails' calendar file; without a usable
	// MAIL_FROM the page offers none rather than a different event.
	if comp, err := d.calendarComposer(); err != nil {
		d.log.Warn("no calendar download on the booking pages", "err", err)
	} else {
		comp.Now = func() time.Time { return d.engine.Now() }
		h.Calendars = webCalendars{source: d.mailSource(), composer: comp}
	}
	return h
}

// choiceRefused turns the engine's refusals of a combination into the
// pages' "this combination cannot be booked".
func choiceRefused(err error) error {
	if errors.Is(err, booking.ErrChoiceInvalid) || errors.Is(err, payment.ErrAccountingMixed) {
		return fmt.Errorf("%w: %w", web.ErrChoiceUnsupported, err)
	}
	return err
}

func itemsOf(items []web.Item) []booking.Item {
	out := make([]booking.Item, len(items))
	for i, it := range items {
		out[i] = booking.Item{ServiceID: it.ServiceID, Count: it.Count}
	}
	return out
}

// webReservations answers the pages' day and time questions with the
// engine's availability of a whole choice.
type webReservations struct{ engine *booking.Engine }

func (r webReservations) Calendar(ctx context.Context, locationID string, items []web.Item, from, to booking.Date) ([]web.Day, *booking.Slot, error) {
	cal, err := r.engine.Calendar(ctx, locationID, itemsOf(items), from, to)
	if err != nil {
		return nil, nil, choiceRefused(err)
	}
	days := make([]web.Day, 0, len(cal.Days))
	for _, d := range cal.Days {
		if d.Free > 0 {
			days = append(days, web.Day{Day: d.Day, Free: d.Free})
		}
	}
	return days, cal.Next, nil
}

func (r webReservations) Times(ctx context.Context, locationID string, items []web.Item, day booking.Date) ([]booking.Slot, error) {
	slots, err := r.engine.AvailabilityFor(ctx, locationID, itemsOf(items), day, day)
	return slots, choiceRefused(err)
}

func (r webReservations) PlaceHold(ctx context.Context, locationID string, items []web.Item, start time.Time) (*booking.Hold, error) {
	hold, err := r.engine.PlaceHoldFor(ctx, locationID, itemsOf(items), start)
	return hold, choiceRefused(err)
}

func (r webReservations) ReleaseHold(ctx context.Context, id string) error {
	return r.engine.ReleaseHold(ctx, id)
}

// webHolders places the pages' holds as their browser.
type webHolders struct{ engine *booking.Engine }

func (w webHolders) PlaceHoldAs(ctx context.Context, holder, locationID string, items []web.Item, start time.Time) (*booking.Hold, error) {
	hold, err := w.engine.PlaceHoldAs(ctx, holder, locationID, itemsOf(items), start)
	return hold, choiceRefused(err)
}

func (w webHolders) HolderHold(ctx context.Context, holder, locationID string) (string, time.Time, error) {
	return w.engine.HolderHold(ctx, holder, locationID)
}

func (w webHolders) HoldPlaced(ctx context.Context, id string) (time.Time, bool, error) {
	return w.engine.HoldPlaced(ctx, id)
}

func contactOf(c web.Contact) booking.Contact {
	return booking.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang}
}

// webBookings books with the whole contact (phone and page language).
type webBookings struct{ citizenBookings }

func (b webBookings) Book(ctx context.Context, holdID string, c web.Contact) (*booking.Confirmation, error) {
	conf, err := b.citizenBookings.Book(ctx, holdID, contactOf(c))
	return conf, choiceRefused(err)
}

// Cancel cancels; the manage page says what happens to the money from the
// refund rule it shows.
func (b webBookings) Cancel(ctx context.Context, code, token string) error {
	_, err := b.citizenBookings.Cancel(ctx, code, token)
	return err
}

// webRescheduler moves a booking to a held time of the same choice.
type webRescheduler struct{ engine *booking.Engine }

func (r webRescheduler) Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error) {
	b, err := r.engine.Reschedule(ctx, code, token, holdID)
	if errors.Is(err, booking.ErrNotReschedulable) {
		return nil, fmt.Errorf("%w: %w", web.ErrNotReschedulable, err)
	}
	return b, err
}

// webActivator confirms a booking waiting for the double opt-in.
type webActivator struct{ engine *booking.Engine }

func (a webActivator) Activate(ctx context.Context, code, token string) (*booking.Booking, error) {
	b, err := a.engine.Activate(ctx, code, token)
	if errors.Is(err, booking.ErrNotActivatable) {
		return nil, fmt.Errorf("%w: %w", web.ErrNotActivatable, err)
	}
	return b, err
}

// webCalendars builds the confirmation page's .ics with the mails'
// composer, so the download and the attachment are the same event (one
// UID, one sequence).
type webCalendars struct {
	source interface {
		MailBooking(ctx context.Context, id int64) (mail.Booking, error)
	}
	composer *mail.Composer
}

func (w webCalendars) CalendarFile(ctx context.Context, bookingID int64, lang string) (string, string, []byte, error) {
	mb, err := w.source.MailBooking(ctx, bookingID)
	if err != nil {
		return "", "", nil, fmt.Errorf("calendar file of booking %d: %w", bookingID, err)
	}
	return w.composer.CalendarFile(mb, lang)
}

// webPayments books online-paid holds and checks payments for the
// result and manage pages.
type webPayments struct {
	flow   *payment.Flow
	store  *paymentpg.Store
	engine *booking.Engine
}

func (p webPayments) BookPending(ctx context.Context, holdID string, c web.Contact) (*booking.Confirmation, *payment.Payment, error) {
	svc, err := p.engine.HoldService(ctx, holdID)
	if err != nil {
		return nil, nil, err
	}
	if svc == nil {
		return nil, nil, booking.ErrHoldExpired
	}
	conf, pay, err := p.flow.Book(ctx, holdID, contactOf(c), svc)
	return conf, pay, choiceRefused(err)
}

func (p webPayments) Check(ctx context.Context, reference string) (*payment.Payment, string, error) {
	pay, err := p.flow.Check(ctx, reference)
	if pay == nil {
		return nil, "", err
	}
	b, berr := p.engine.BookingByID(ctx, pay.BookingID)
	if berr != nil {
		return pay, "", berr
	}
	return pay, b.Status, err
}

func (p webPayments) PaymentFor(ctx context.Context, bookingID int64) (*payment.Payment, error) {
	return p.store.PaymentByBooking(ctx, bookingID)
}
