package booking

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"
)

// Bookings waiting for a payment. Engine.Book writes them with
// StatusPendingPayment, so their units are occupied like any booking's; the
// payment side later confirms or expires them by id, inside transactions
// it owns, because the payment row must change in the same transaction and
// its lock must be taken first (payment, then booking) everywhere.

// ErrNotPending reports a booking that is no longer waiting for payment
// (confirmed or cancelled meanwhile).
var ErrNotPending = errors.New("booking is not pending payment")

// HoldService returns the service a live hold is for, so a caller can
// choose the booking's status before booking. A hold that is gone or
// malformed yields (nil, nil): Book then reports the precise reason.
func (e *Engine) HoldService(ctx context.Context, holdID string) (*Service, error) {
	locID, d, ok := parseHoldID(holdID)
	if !ok {
		return nil, nil
	}
	raw, err := e.holds.rdb.HGet(ctx, dayKeys(locID, d)[1], holdID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read hold: %w", ErrUnavailable, err)
	}
	var rec holdRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return nil, fmt.Errorf("decode hold record: %w", err)
	}
	s, err := e.Service(locID, rec.Service)
	if err != nil {
		return nil, nil
	}
	return s, nil
}

const bookingColumns = `id, code, hold_id, location_id, service_id, start_at, end_at, unit_indexes,
	name, email, status, created_at, cancelled_at`

type bookingRow struct {
	Booking
	Units pq.Int64Array `db:"unit_indexes"`
}

func (r bookingRow) booking() *Booking {
	b := r.Booking
	b.Units = nil
	for _, u := range r.Units {
		b.Units = append(b.Units, int(u))
	}
	return &b
}

// BookingByID returns a booking without checking a manage token; for
// server-side processes (payment, staff), never for citizens' requests.
func (e *Engine) BookingByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*Booking, error) {
	if q == nil {
		q = e.pg.db
	}
	var row bookingRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+bookingColumns+` FROM bookings WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBookingNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: booking %d: %w", ErrUnavailable, id, err)
	}
	return row.booking(), nil
}

// ConfirmPendingTx turns a pending booking into a confirmed one inside the
// caller's transaction. Its units are already booked, so Redis is not
// touched. ErrNotPending when it was confirmed or cancelled before.
func (e *Engine) ConfirmPendingTx(ctx context.Context, tx *sqlx.Tx, id int64) (*Booking, error) {
	var row bookingRow
	err := tx.GetContext(ctx, &row, `
		UPDATE bookings SET status = 'confirmed' WHERE id = $1 AND status = 'pending_payment'
		RETURNING `+bookingColumns, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotPending
	}
	if err != nil {
		return nil, fmt.Errorf("%w: confirm booking %d: %w", ErrUnavailable, id, err)
	}
	return row.booking(), nil
}

// ExpirePendingTx cancels a pending booking and deletes its unit rows
// inside the caller's transaction. After the commit the caller must call
// FreeUnits so Redis offers the units again. ErrNotPending when the booking
// was confirmed or cancelled before.
func (e *Engine) ExpirePendingTx(ctx context.Context, tx *sqlx.Tx, id int64) (*Booking, error) {
	var row bookingRow
	err := tx.GetContext(ctx, &row, `
		UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1 AND status = 'pending_payment'
		RETURNING `+bookingColumns, id, e.Now().UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotPending
	}
	if err != nil {
		return nil, fmt.Errorf("%w: expire booking %d: %w", ErrUnavailable, id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM booking_units WHERE booking_id = $1`, id); err != nil {
		return nil, fmt.Errorf("%w: free units of booking %d: %w", ErrUnavailable, id, err)
	}
	return row.booking(), nil
}

// FreeUnits clears a cancelled booking's units in Redis. A failure leaves
// the units blocked until the day is reloaded: a lost unit, never a double
// booking, so it is logged and not returned.
func (e *Engine) FreeUnits(ctx context.Context, b *Booking) {
	l, tz, err := e.Location(b.LocationID)
	if err != nil {
		return
	}
	var cells []unitCell
	for _, u := range b.Units {
		for t := b.Start; t.Before(b.End); t = t.Add(time.Duration(l.SlotMinutes) * time.Minute) {
			cells = append(cells, unitCell{CellStart: t, Unit: u})
		}
	}
	d := DateOf(b.Start.In(tz))
	if err := e.holds.unmark(ctx, l.ID, d, offsetsOf(l, d, tz, cells)); err != nil && !errors.Is(err, errNotLoaded) {
		e.log.WarnContext(ctx, "free expired units in redis", "err", err)
	}
}
