package postgres

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
)

// The booking steps of payment transactions are booking/postgres's.

func (t *txStore) InsertBooking(ctx context.Context, nb *booking.NewBooking) error {
	return bookingpg.InsertBooking(ctx, t.tx, nb)
}

func (t *txStore) CancelBooking(ctx context.Context, bookingID int64, now time.Time) ([]booking.UnitCell, error) {
	return bookingpg.CancelBooking(ctx, t.tx, bookingID, now)
}

func (t *txStore) ConfirmPending(ctx context.Context, bookingID int64, now time.Time) (*booking.Booking, error) {
	return bookingpg.ConfirmPending(ctx, t.tx, bookingID, now)
}

func (t *txStore) ExpirePending(ctx context.Context, bookingID int64, now time.Time) (*booking.Booking, error) {
	return bookingpg.ExpirePending(ctx, t.tx, bookingID, now)
}

func (t *txStore) CarryManageToken(ctx context.Context, from, to int64) error {
	return bookingpg.CarryManageToken(ctx, t.tx, from, to)
}
