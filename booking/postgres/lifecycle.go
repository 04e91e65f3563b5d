package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/booking"
)

// ManageSecret returns the code a booking's manage token was issued for
// and its salt (nil for bookings from before recomputable tokens).
func (s *Store) ManageSecret(ctx context.Context, id int64) (string, []byte, error) {
	var row struct {
		Code string  `db:"code"`
		For  *string `db:"token_code"`
		Salt []byte  `db:"token_salt"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT code, token_code, token_salt FROM bookings WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, booking.ErrBookingNotFound
	}
	if err != nil {
		return "", nil, unavailable("manage secret", err)
	}
	code := row.Code
	if row.For != nil {
		code = *row.For
	}
	return code, row.Salt, nil
}

// ActivateBooking confirms a booking waiting for activation whose
// deadline has not passed, with its confirmed and reminder events.
func (s *Store) ActivateBooking(ctx context.Context, id int64, now time.Time) (*booking.Booking, error) {
	var b *booking.Booking
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			bookingRow
			RemindAt *time.Time `db:"remind_at"`
		}
		err := tx.GetContext(ctx, &row, `
			UPDATE bookings SET status = 'confirmed', activation_deadline = NULL
			WHERE id = $1 AND status = 'pending_activation' AND activation_deadline > $2
			RETURNING `+bookingColumns+`, remind_at`, id, now.UTC())
		if errors.Is(err, sql.ErrNoRows) {
			return booking.ErrNotActivatable
		}
		if err != nil {
			return unavailable("activate booking", err)
		}
		b = row.booking()
		return confirmedEvents(ctx, tx, id, row.Lang, row.RemindAt, now)
	})
	return b, err
}

// ExpireActivations releases up to max bookings whose activation
// deadline passed: each is cancelled, taken off its contact's count, its
// unit rows deleted and an activation_expired event written, in one
// transaction. Rows locked by another replica's sweep are skipped.
func (s *Store) ExpireActivations(ctx context.Context, now time.Time, max int) ([]*booking.Booking, error) {
	var out []*booking.Booking
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out = nil
		var rows []struct {
			bookingRow
			Day  *string `db:"local_day"`
			Hash []byte  `db:"contact_hash"`
		}
		if err := tx.SelectContext(ctx, &rows, `
			UPDATE bookings b SET status = 'cancelled', cancelled_at = $1
			FROM (SELECT id FROM bookings
				WHERE status = 'pending_activation' AND activation_deadline <= $1
				ORDER BY activation_deadline LIMIT $2
				FOR UPDATE SKIP LOCKED) due
			WHERE b.id = due.id
			RETURNING `+prefixed("b.", bookingColumns)+`, b.local_day::text AS local_day, b.contact_hash`, now.UTC(), max); err != nil {
			return unavailable("expire activations", err)
		}
		for _, r := range rows {
			if err := uncount(ctx, tx, r.LocationID, r.Day, r.Hash); err != nil {
				return err
			}
			if _, err := freeUnits(ctx, tx, r.ID); err != nil {
				return err
			}
			if err := addEvent(ctx, tx, booking.EventActivationExpired, r.ID, r.Lang, now); err != nil {
				return err
			}
			out = append(out, r.booking())
		}
		return nil
	})
	return out, err
}

// RescheduleBooking moves a live booking to a new slot in one
// transaction: the booking row is locked and checked (still live, still
// at r.From), the contact count moves to the new day, the old unit rows
// are deleted and the new ones inserted (the UNIQUE guard applies), the
// booking gets its new time, hold and sequence, its pending reminders
// are superseded, and a rescheduled event (and a new reminder) is
// written. It returns the freed cells.
func (s *Store) RescheduleBooking(ctx context.Context, r *booking.Reschedule) ([]booking.UnitCell, error) {
	var freed []booking.UnitCell
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur struct {
			Location string    `db:"location_id"`
			Status   string    `db:"status"`
			Start    time.Time `db:"start_at"`
			Day      *string   `db:"local_day"`
			Hash     []byte    `db:"contact_hash"`
			Lang     string    `db:"lang"`
		}
		err := tx.GetContext(ctx, &cur, `
			SELECT location_id, status, start_at, local_day::text AS local_day, contact_hash, lang
			FROM bookings WHERE id = $1 FOR UPDATE`, r.BookingID)
		if errors.Is(err, sql.ErrNoRows) {
			return booking.ErrBookingNotFound
		}
		if err != nil {
			return unavailable("lock booking", err)
		}
		if (cur.Status != booking.StatusConfirmed && cur.Status != booking.StatusPendingActivation) || !cur.Start.Equal(r.From) {
			return booking.ErrNotReschedulable
		}
		newDay := r.Limit.Day.String()
		if cur.Hash != nil && (cur.Day == nil || *cur.Day != newDay) {
			if err := uncount(ctx, tx, cur.Location, cur.Day, cur.Hash); err != nil {
				return err
			}
			if err := countContact(ctx, tx, cur.Location, booking.ContactLimit{Hash: cur.Hash, Day: r.Limit.Day, Max: r.Limit.Max}); err != nil {
				return err
			}
		}
		if freed, err = freeUnits(ctx, tx, r.BookingID); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO booking_units (booking_id, location_id, cell_start, unit) VALUES ($1, $2, $3, $4)`)
		if err != nil {
			return unavailable("prepare", err)
		}
		defer stmt.Close()
		for _, c := range r.Cells {
			if _, err := stmt.ExecContext(ctx, r.BookingID, cur.Location, c.CellStart, c.Unit); err != nil {
				return classifyInsert(err)
			}
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE bookings SET previous_start_at = start_at, previous_end_at = end_at,
				start_at = $2, end_at = $3, unit_indexes = $4, hold_id = $5, local_day = $6, remind_at = $7,
				sequence = sequence + 1
			WHERE id = $1`,
			r.BookingID, r.Start, r.End, pq.Array(r.Units), r.HoldID, newDay, r.RemindAt); err != nil {
			return classifyInsert(err)
		}
		if err := supersedeReminders(ctx, tx, r.BookingID, r.Now); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, booking.EventRescheduled, r.BookingID, cur.Lang, r.Now); err != nil {
			return err
		}
		if cur.Status == booking.StatusConfirmed && r.RemindAt != nil && r.RemindAt.After(r.Now) {
			return addEventAt(ctx, tx, booking.EventReminder, r.BookingID, cur.Lang, *r.RemindAt)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reschedule booking %d: %w", r.BookingID, err)
	}
	return freed, nil
}
