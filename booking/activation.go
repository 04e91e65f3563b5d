package booking

import (
	"context"
	"errors"
)

// Double opt-in (a location's ActivationMinutes > 0): Book writes the
// booking as StatusPendingActivation with an activation_requested event;
// the citizen activates it with the button behind the e-mail's link, or
// ExpireActivations releases it once its deadline has passed.

// Activate confirms a booking waiting for activation. Activating a
// confirmed booking again answers it unchanged (a second click is no
// error); a cancelled or released booking, or one whose deadline passed,
// is ErrNotActivatable. A wrong token is ErrBookingNotFound, as for
// Lookup.
func (e *Engine) Activate(ctx context.Context, code, token string) (*Booking, error) {
	b, err := e.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	switch b.Status {
	case StatusConfirmed:
		return b, nil
	case StatusPendingActivation:
	default:
		return nil, ErrNotActivatable
	}
	nb, err := e.records.ActivateBooking(ctx, b.ID, e.Now().UTC())
	if errors.Is(err, ErrNotActivatable) {
		// Activated meanwhile by a second click is still fine.
		if cur, lerr := e.records.BookingByID(ctx, b.ID); lerr == nil && cur.Status == StatusConfirmed {
			return cur, nil
		}
	}
	return nb, err
}

// activationBatch is how many expired activations one store call takes.
const activationBatch = 100

// ExpireActivations releases the bookings whose activation deadline has
// passed: cancelled in the record store (with an activation_expired event
// each) and their units freed in the hold store. Run it from every
// replica now and then; each row is released by exactly one of them. It
// returns how many it released.
func (e *Engine) ExpireActivations(ctx context.Context) (int, error) {
	total := 0
	for {
		bs, err := e.records.ExpireActivations(ctx, e.Now().UTC(), activationBatch)
		if err != nil {
			return total, err
		}
		for _, b := range bs {
			e.FreeUnits(ctx, b)
		}
		total += len(bs)
		if len(bs) < activationBatch {
			return total, nil
		}
	}
}
