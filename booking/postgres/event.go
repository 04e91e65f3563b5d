package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// The booking events outbox: rows are written in the transaction of the
// change they announce, claimed by the mail worker under a lease (FOR
// UPDATE SKIP LOCKED, so replicas never take the same row), and then
// marked done, rescheduled after a failure or dead-lettered. The attempts
// column fences each claim: a worker whose lease ran out and whose row
// was claimed again cannot mark it any more.

// addEvent writes an event due at once.
func addEvent(ctx context.Context, tx *sqlx.Tx, kind string, bookingID int64, lang string, now time.Time) error {
	return addEventAt(ctx, tx, kind, bookingID, lang, now)
}

func addEventAt(ctx context.Context, tx *sqlx.Tx, kind string, bookingID int64, lang string, due time.Time) error {
	if lang == "" {
		lang = booking.LangDE
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO booking_events (kind, booking_id, lang, deliver_after) VALUES ($1, $2, $3, $4)`,
		kind, bookingID, lang, due.UTC()); err != nil {
		return unavailable("write "+kind+" event", err)
	}
	return nil
}

// confirmedEvents announces a confirmed booking and schedules its
// reminder (none when remindAt is nil or past).
func confirmedEvents(ctx context.Context, tx *sqlx.Tx, bookingID int64, lang string, remindAt *time.Time, now time.Time) error {
	if err := addEvent(ctx, tx, booking.EventConfirmed, bookingID, lang, now); err != nil {
		return err
	}
	if remindAt == nil || !remindAt.After(now) {
		return nil
	}
	return addEventAt(ctx, tx, booking.EventReminder, bookingID, lang, *remindAt)
}

// supersedeReminders ends the pending reminders of a booking that moved
// or was cancelled.
func supersedeReminders(ctx context.Context, tx *sqlx.Tx, bookingID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE booking_events SET state = 'done', done_at = $2, lease_until = NULL, last_error = 'superseded'
		WHERE booking_id = $1 AND kind = 'reminder' AND state = 'pending'`, bookingID, now.UTC()); err != nil {
		return unavailable("supersede reminders", err)
	}
	return nil
}

type eventRow struct {
	ID           int64      `db:"id"`
	Kind         string     `db:"kind"`
	BookingID    int64      `db:"booking_id"`
	Lang         string     `db:"lang"`
	DeliverAfter time.Time  `db:"deliver_after"`
	Attempts     int        `db:"attempts"`
	LeaseUntil   *time.Time `db:"lease_until"`
	CreatedAt    time.Time  `db:"created_at"`
	LastError    *string    `db:"last_error"`
}

func (r eventRow) event() booking.Event {
	ev := booking.Event{ID: r.ID, Kind: r.Kind, BookingID: r.BookingID, Lang: r.Lang, DeliverAfter: r.DeliverAfter,
		Attempt: r.Attempts, CreatedAt: r.CreatedAt}
	if r.LeaseUntil != nil {
		ev.LeaseUntil = *r.LeaseUntil
	}
	if r.LastError != nil {
		ev.LastError = *r.LastError
	}
	return ev
}

const eventColumns = `id, kind, booking_id, lang, deliver_after, attempts, lease_until, created_at, last_error`

// ClaimEvents leases up to max due events (pending, deliver_after <= now,
// not leased or the lease run out), oldest first, until now + lease, and
// counts the attempt. Replicas claiming at the same time get different
// rows.
func (s *Store) ClaimEvents(ctx context.Context, now time.Time, max int, lease time.Duration) ([]booking.Event, error) {
	var rows []eventRow
	err := s.db.SelectContext(ctx, &rows, `
		UPDATE booking_events SET lease_until = $2, attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM booking_events
			WHERE state = 'pending' AND deliver_after <= $1 AND (lease_until IS NULL OR lease_until < $1)
			ORDER BY deliver_after, id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+eventColumns, now.UTC(), now.Add(lease).UTC(), max)
	if err != nil {
		return nil, unavailable("claim events", err)
	}
	out := make([]booking.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	// UPDATE ... RETURNING does not keep the subquery's order.
	sortEvents(out)
	return out, nil
}

func sortEvents(evs []booking.Event) {
	slices.SortFunc(evs, func(a, b booking.Event) int {
		if c := a.DeliverAfter.Compare(b.DeliverAfter); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// fenced runs an update of a claimed event that only applies while the
// claim is still the caller's; booking.ErrLeaseLost otherwise.
func (s *Store) fenced(ctx context.Context, what string, ev booking.Event, set string, args ...any) error {
	res, err := s.db.ExecContext(ctx, `UPDATE booking_events SET `+set+`
		WHERE id = $1 AND state = 'pending' AND attempts = $2`, append([]any{ev.ID, ev.Attempt}, args...)...)
	if err != nil {
		return unavailable(what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return unavailable(what, err)
	} else if n == 0 {
		return booking.ErrLeaseLost
	}
	return nil
}

// EventDone records a delivered event.
func (s *Store) EventDone(ctx context.Context, ev booking.Event, now time.Time) error {
	return s.fenced(ctx, "event done", ev, `state = 'done', done_at = $3, lease_until = NULL`, now.UTC())
}

// EventFailed records a failed delivery; the event is due again at next.
func (s *Store) EventFailed(ctx context.Context, ev booking.Event, next time.Time, reason string) error {
	return s.fenced(ctx, "event failed", ev, `deliver_after = $3, lease_until = NULL, last_error = $4`, next.UTC(), reason)
}

// EventDead gives an event up: a dead letter for staff to look at.
func (s *Store) EventDead(ctx context.Context, ev booking.Event, now time.Time, reason string) error {
	return s.fenced(ctx, "event dead", ev, `state = 'dead', done_at = $3, lease_until = NULL, last_error = $4`, now.UTC(), reason)
}

// DeadEvents lists dead letters, newest first.
func (s *Store) DeadEvents(ctx context.Context, max int) ([]booking.Event, error) {
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT `+eventColumns+` FROM booking_events WHERE state = 'dead' ORDER BY done_at DESC, id DESC LIMIT $1`, max); err != nil {
		return nil, unavailable("dead events", err)
	}
	out := make([]booking.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// RequestManageLink writes a manage_link event for a booking.
func (s *Store) RequestManageLink(ctx context.Context, bookingID int64, lang string, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		return addEvent(ctx, tx, booking.EventManageLink, bookingID, lang, now)
	})
}

// PendingEvents lists a booking's pending events in order, for tests and
// the staff view of one booking.
func (s *Store) PendingEvents(ctx context.Context, bookingID int64) ([]booking.Event, error) {
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT `+eventColumns+` FROM booking_events WHERE booking_id = $1 AND state = 'pending' ORDER BY deliver_after, id`, bookingID); err != nil {
		return nil, unavailable("pending events", err)
	}
	out := make([]booking.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}
