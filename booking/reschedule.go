package booking

import (
	"context"
	"errors"
)

// Reschedule moves a booking to the slot of a hold the citizen placed for
// the same choice (services and counts) at the same location. The new
// units are claimed in the hold store first; one record-store transaction
// writes the new unit rows, deletes the old ones and moves the booking
// (its id, code and manage token stay; a rescheduled event is written);
// only after that commit are the old units freed in the hold store. So at
// every moment the units of both slots are taken in the hold store or the
// record, and no unit is ever given to two bookings. The old slot's units
// cannot be reused for the new one: moving by less than the length of the
// appointment needs another free unit.
func (e *Engine) Reschedule(ctx context.Context, code, token, holdID string) (*Booking, error) {
	b, err := e.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	if b.Status != StatusConfirmed && b.Status != StatusPendingActivation {
		return nil, ErrNotReschedulable
	}
	if !b.Start.After(now) {
		return nil, ErrTooLate
	}
	locID, d, ok := ParseHoldID(holdID)
	if !ok {
		return nil, ErrHoldNotFound
	}
	if locID != b.LocationID {
		return nil, ErrNotReschedulable
	}
	l, tz, err := e.Location(locID)
	if err != nil {
		return nil, ErrHoldNotFound
	}
	rec, err := e.holds.Peek(ctx, l.HoldsKey(), d, holdID)
	if errors.Is(err, ErrDayNotLoaded) {
		rec, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec != nil && !sameItems(rec.items(), b.Items) {
		return nil, ErrNotReschedulable
	}
	rec, err = e.claimHold(ctx, l, d, holdID, now)
	if err != nil {
		return nil, err
	}
	unclaim := func() {
		if uerr := e.holds.Unclaim(ctx, l.HoldsKey(), d, holdID); uerr != nil && !errors.Is(uerr, ErrDayNotLoaded) {
			e.log.WarnContext(ctx, "unclaim hold after failed reschedule", "err", uerr)
		}
	}
	if !sameItems(rec.items(), b.Items) {
		unclaim()
		return nil, ErrNotReschedulable
	}
	start, end := rec.Start.UTC(), rec.End.UTC()
	r := &Reschedule{
		BookingID: b.ID, From: b.Start, HoldID: holdID, Start: start, End: end, Units: rec.Units,
		Cells: l.cellsBetween(start, end, rec.Units),
		Limit: ContactLimit{Hash: e.contactHash(b.Email), Day: DateOf(start.In(tz)), Max: e.ContactLimits[l.Kind]},
		// Kept with the booking; the record writes the reminder event once
		// the booking is confirmed (now, or when it is activated).
		RemindAt: e.remindAt(start, now),
		Now:      now.UTC(),
	}
	freed, err := e.records.RescheduleBooking(ctx, r)
	switch {
	case errors.Is(err, ErrUnitTaken):
		e.log.WarnContext(ctx, "hold store offered a booked unit; repairing day", "location", l.ID, "day", d.String())
		if _, err := e.holds.Release(ctx, l.HoldsKey(), d, holdID, now, true); err != nil {
			e.log.WarnContext(ctx, "release hold after conflict", "err", err)
		}
		if err := e.LoadDay(ctx, l, tz, d); err != nil {
			e.log.WarnContext(ctx, "repair day", "err", err)
		}
		return nil, ErrSlotFull
	case err != nil:
		// ErrNotReschedulable (changed meanwhile), ErrContactLimit on the
		// new day, or a store failure: the hold stays the citizen's.
		unclaim()
		return nil, err
	}
	if err := e.holds.Confirm(ctx, l.HoldsKey(), d, holdID); err != nil && !errors.Is(err, ErrDayNotLoaded) {
		e.log.WarnContext(ctx, "drop rescheduled hold from the hold store", "err", err)
	}
	oldDay := DateOf(b.Start.In(tz))
	if err := e.holds.Unmark(ctx, l.HoldsKey(), oldDay, offsetsOf(l, oldDay, tz, freed)); err != nil && !errors.Is(err, ErrDayNotLoaded) {
		// The old units stay blocked until the day is reloaded: a lost
		// unit, never a double booking.
		e.log.WarnContext(ctx, "free the old units of a rescheduled booking", "err", err)
	}
	return e.records.BookingByID(ctx, b.ID)
}
