package booking

import (
	"context"
	"errors"
)

// Bookings waiting for a payment. Engine.Book writes them with
// StatusPendingPayment, so their units are occupied like any booking's; the
// payment side later confirms or expires them by id, inside transactions
// it owns (payment/postgres), because the payment row must change in the
// same transaction and its lock must be taken first (payment, then
// booking) everywhere.

// ErrNotPending reports a booking that is no longer waiting for payment
// (confirmed or cancelled meanwhile).
var ErrNotPending = errors.New("booking is not pending payment")

// HoldService returns the service a live hold is for, so a caller can
// choose the booking's status before booking. A hold that is gone or
// malformed yields (nil, nil): Book then reports the precise reason.
func (e *Engine) HoldService(ctx context.Context, holdID string) (*Service, error) {
	locID, d, ok := ParseHoldID(holdID)
	if !ok {
		return nil, nil
	}
	l, _, err := e.Location(locID)
	if err != nil {
		return nil, nil
	}
	rec, err := e.holds.Peek(ctx, l.HoldsKey(), d, holdID)
	if err != nil || rec == nil {
		return nil, err
	}
	s, err := e.Service(locID, rec.Service)
	if err != nil {
		return nil, nil
	}
	return s, nil
}

// HoldLines returns the services or ticket types of a live hold with
// their counts; nil when the hold is gone or malformed (Book then reports
// the precise reason).
func (e *Engine) HoldLines(ctx context.Context, holdID string) ([]Line, error) {
	locID, d, ok := ParseHoldID(holdID)
	if !ok {
		return nil, nil
	}
	l, _, err := e.Location(locID)
	if err != nil {
		return nil, nil
	}
	rec, err := e.holds.Peek(ctx, l.HoldsKey(), d, holdID)
	if err != nil || rec == nil {
		return nil, err
	}
	var lines []Line
	for _, it := range rec.items() {
		s, err := e.Service(locID, it.ServiceID)
		if err != nil {
			return nil, nil
		}
		lines = append(lines, Line{Service: *s, Count: it.Count})
	}
	return lines, nil
}

// BookingByID returns a booking without checking a manage token; for
// server-side processes (payment, staff), never for citizens' requests.
func (e *Engine) BookingByID(ctx context.Context, id int64) (*Booking, error) {
	return e.records.BookingByID(ctx, id)
}

// FreeUnits clears a cancelled booking's units in the hold store. A
// failure leaves the units blocked until the day is reloaded: a lost unit,
// never a double booking, so it is logged and not returned.
func (e *Engine) FreeUnits(ctx context.Context, b *Booking) {
	l, tz, err := e.Location(b.LocationID)
	if err != nil {
		return
	}
	d := DateOf(b.Start.In(tz))
	if err := e.holds.Unmark(ctx, l.HoldsKey(), d, offsetsOf(l, d, tz, l.unitCells(b))); err != nil && !errors.Is(err, ErrDayNotLoaded) {
		e.log.WarnContext(ctx, "free expired units in the hold store", "err", err)
	}
}
