package main

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/web"
)

// newWeb wires the citizens' pages to the booking engine and the payment
// flow. The engine holds one service (or one ticket type with a count)
// per booking today, so the page adapters answer web.ErrChoiceUnsupported
// for combinations.
func newWeb(d *deps, limiter citizen.RateLimiter, challenges citizen.Challenges, released releasedHolds) *web.Handler {
	key := d.cfg.SubKey("web")
	if d.cfg.Secret == "" {
		key = make([]byte, 32)
		rand.Read(key)
	}
	h := &web.Handler{
		Catalog: d.engine, Reservations: webReservations{d.engine}, Bookings: webBookings{citizenBookings{d.engine, d.pay.flow, released}},
		Limiter: limiter, Challenges: challenges, SigningKey: d.signingKey, Key: key,
		ClientAddr:       func(c *fiber.Ctx) string { return citizen.ClientAddr(c, d.cfg.ClientIPHeader) },
		FreeCancelBefore: d.cfg.Pay.FreeCancelBefore, Feedback: "barrierefreiheit@termin.example",
		Now: d.engine.Now, Log: d.log,
	}
	if d.pay.flow != nil {
		h.Payments = webPayments{d.pay.flow, d.pay.store, d.engine}
	}
	return h
}

// webReservations answers the pages' day and time questions with the
// engine's availability of one service.
type webReservations struct{ engine *booking.Engine }

func single(items []web.Item) (web.Item, error) {
	if len(items) != 1 || items[0].Count < 1 {
		return web.Item{}, web.ErrChoiceUnsupported
	}
	return items[0], nil
}

func (r webReservations) Calendar(ctx context.Context, locationID string, items []web.Item, from, to booking.Date) ([]web.Day, *booking.Slot, error) {
	it, err := single(items)
	if err != nil {
		return nil, nil, err
	}
	l, tz, err := r.engine.Location(locationID)
	if err != nil {
		return nil, nil, err
	}
	horizon := l.BookingHorizonDays
	if horizon <= 0 {
		horizon = 400
	}
	last := booking.DateOf(r.engine.Now().In(tz)).AddDays(horizon)
	var days []web.Day
	var next *booking.Slot
	for chunk := from; !last.Before(chunk) && (next == nil || !to.Before(chunk)); chunk = chunk.AddDays(booking.MaxAvailabilityDays) {
		end := chunk.AddDays(booking.MaxAvailabilityDays - 1)
		if last.Before(end) {
			end = last
		}
		slots, err := r.engine.Availability(ctx, locationID, it.ServiceID, chunk, end)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range slots {
			if s.Free < it.Count {
				continue
			}
			if next == nil {
				s := s
				next = &s
			}
			d := booking.DateOf(s.Start.In(tz))
			if to.Before(d) {
				continue
			}
			if n := len(days); n > 0 && days[n-1].Day == d {
				days[n-1].Free++
			} else {
				days = append(days, web.Day{Day: d, Free: 1})
			}
		}
	}
	return days, next, nil
}

func (r webReservations) Times(ctx context.Context, locationID string, items []web.Item, day booking.Date) ([]booking.Slot, error) {
	it, err := single(items)
	if err != nil {
		return nil, err
	}
	slots, err := r.engine.Availability(ctx, locationID, it.ServiceID, day, day)
	if err != nil {
		return nil, err
	}
	out := slots[:0]
	for _, s := range slots {
		if s.Free >= it.Count {
			out = append(out, s)
		}
	}
	return out, nil
}

func (r webReservations) PlaceHold(ctx context.Context, locationID string, items []web.Item, start time.Time) (*booking.Hold, error) {
	it, err := single(items)
	if err != nil {
		return nil, err
	}
	return r.engine.PlaceHold(ctx, locationID, it.ServiceID, start, it.Count)
}

func (r webReservations) ReleaseHold(ctx context.Context, id string) error {
	return r.engine.ReleaseHold(ctx, id)
}

// webBookings books with the contact the engine keeps today (name and
// e-mail; the page hides the phone field and the language is not stored).
type webBookings struct{ citizenBookings }

func (b webBookings) Book(ctx context.Context, holdID string, c web.Contact) (*booking.Confirmation, error) {
	return b.citizenBookings.Book(ctx, holdID, booking.Contact{Name: c.Name, Email: c.Email})
}

// Cancel cancels; the manage page says what happens to the money from the
// refund rule it shows.
func (b webBookings) Cancel(ctx context.Context, code, token string) error {
	_, err := b.citizenBookings.Cancel(ctx, code, token)
	return err
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
	return p.flow.Book(ctx, holdID, booking.Contact{Name: c.Name, Email: c.Email}, svc)
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
