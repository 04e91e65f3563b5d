package postgres

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// countContact counts a booking against its contact's limit. The UPSERT
// locks the contact's row for the rest of the transaction, so concurrent
// confirms of the same contact queue here and each sees the others'
// counts: the limit holds across replicas without any lock of ours.
func countContact(ctx context.Context, tx *sqlx.Tx, location string, c booking.ContactLimit) error {
	max := c.Max
	if max <= 0 {
		max = math.MaxInt32
	}
	var n int
	err := tx.QueryRowxContext(ctx, `
		INSERT INTO contact_days (location_id, day, contact_hash, bookings) VALUES ($1, $2, $3, 1)
		ON CONFLICT (location_id, day, contact_hash)
		DO UPDATE SET bookings = contact_days.bookings + 1 WHERE contact_days.bookings < $4
		RETURNING bookings`, location, c.Day.String(), c.Hash, max).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return booking.ErrContactLimit
	}
	if err != nil {
		return unavailable("count contact", err)
	}
	return nil
}
