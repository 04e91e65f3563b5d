package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// retentionLock is the advisory lock the retention job holds for one
// round, so one replica at a time anonymises (the job's lease).
const retentionLock = 7_441_023_009

// AnonymiseEnded removes the personal data of at most limit bookings whose
// appointment ended, or that were cancelled, before cutoff: name, e-mail address and phone become
// empty, the keyed hash of the address goes, and so do error texts of
// their mail events (an SMTP error may quote the address); mails still
// waiting are given up. It returns how
// many it anonymised, and 0 when another replica holds the job's lease.
func (s *Store) AnonymiseEnded(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var leased bool
		if err := tx.GetContext(ctx, &leased, `SELECT pg_try_advisory_xact_lock($1)`, retentionLock); err != nil {
			return unavailable("retention lease", err)
		}
		if !leased {
			return nil
		}
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, `
			SELECT id FROM bookings
			WHERE anonymised_at IS NULL AND (end_at < $1 OR (status = 'cancelled' AND cancelled_at < $1))
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, cutoff, limit); err != nil {
			return unavailable("retention: select", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := anonymise(ctx, tx, ids); err != nil {
			return err
		}
		// Per-contact counters of past days protect nothing any more.
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_days WHERE day < $1::date`, cutoff.UTC().Format(time.DateOnly)); err != nil {
			return unavailable("retention: contact days", err)
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// AnonymiseBooking removes one booking's personal data at once: the
// citizen's request from the manage page. The booking must no longer be
// live (cancel it first).
func (s *Store) AnonymiseBooking(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return anonymise(ctx, tx, []int64{id}) })
}

func anonymise(ctx context.Context, tx *sqlx.Tx, ids []int64) error {
	q, args, err := sqlx.In(`
		UPDATE bookings SET name = '', email = '', phone = '', contact_hash = NULL, anonymised_at = now()
		WHERE id IN (?)`, ids)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return unavailable("anonymise bookings", err)
	}
	// Mails not sent by now would go to an address that is gone.
	q, args, err = sqlx.In(`
		UPDATE booking_events SET last_error = NULL,
			state = CASE WHEN state = 'pending' THEN 'dead' ELSE state END,
			done_at = CASE WHEN state = 'pending' THEN now() ELSE done_at END
		WHERE booking_id IN (?) AND (last_error IS NOT NULL OR state = 'pending')`, ids)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return unavailable("anonymise booking events", err)
	}
	return nil
}
