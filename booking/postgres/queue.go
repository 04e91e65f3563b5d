package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

const ticketColumns = `id, location_id, day, number, service_id, booking_id, state, desk, created_at, called_at, finished_at,
	last_called_at, recalls, transferred_from`

// QueueChannel is the PostgreSQL notification channel of queue changes:
// every change of a location's queue (a number drawn, called, recalled,
// transferred or finished) notifies it with the location's id when its
// transaction commits, so every replica's call displays hear of it.
const QueueChannel = "termin_queue"

// notifyQueue announces a change of a location's queue; PostgreSQL
// delivers it when tx commits, and not at all when it rolls back.
func notifyQueue(ctx context.Context, tx *sqlx.Tx, location string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, QueueChannel, location); err != nil {
		return unavailable("notify queue change", err)
	}
	return nil
}

type ticketRow struct {
	ID         int64      `db:"id"`
	LocationID string     `db:"location_id"`
	Day        time.Time  `db:"day"`
	Number     string     `db:"number"`
	ServiceID  *string    `db:"service_id"`
	BookingID  *int64     `db:"booking_id"`
	State      string     `db:"state"`
	Desk       *string    `db:"desk"`
	CreatedAt  time.Time  `db:"created_at"`
	CalledAt   *time.Time `db:"called_at"`
	FinishedAt *time.Time `db:"finished_at"`
	LastCalled *time.Time `db:"last_called_at"`
	Recalls    int        `db:"recalls"`
	FromSvc    *string    `db:"transferred_from"`
}

func (r ticketRow) ticket() *booking.QueueTicket {
	return &booking.QueueTicket{ID: r.ID, LocationID: r.LocationID, Day: r.Day, Number: r.Number, ServiceID: r.ServiceID,
		BookingID: r.BookingID, State: r.State, Desk: r.Desk, CreatedAt: r.CreatedAt, CalledAt: r.CalledAt, FinishedAt: r.FinishedAt,
		LastCalledAt: r.LastCalled, Recalls: r.Recalls, TransferredFrom: r.FromSvc}
}

// DrawTicket takes the next number of a prefix and inserts the ticket.
func (s *Store) DrawTicket(ctx context.Context, t *booking.QueueTicket, day booking.Date, prefix string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, `
			INSERT INTO queue_counters (location_id, day, prefix, last) VALUES ($1, $2, $3, 1)
			ON CONFLICT (location_id, day, prefix) DO UPDATE SET last = queue_counters.last + 1
			RETURNING last`, t.LocationID, day.String(), prefix); err != nil {
			return unavailable("draw number", err)
		}
		// Numbers wrap after 999; the UNIQUE constraint stops a wrapped
		// number from being handed out while its namesake is still in the
		// list.
		t.Number = fmt.Sprintf("%s%03d", prefix, (n-1)%999+1)
		t.Day = day.Midnight(time.UTC)
		if err := tx.QueryRowxContext(ctx, `
			INSERT INTO queue_tickets (location_id, day, number, service_id, booking_id, state)
			VALUES ($1, $2, $3, $4, $5, 'waiting')
			RETURNING id, state, created_at`,
			t.LocationID, day.String(), t.Number, t.ServiceID, t.BookingID).Scan(&t.ID, &t.State, &t.CreatedAt); err != nil {
			return unavailable("insert ticket", err)
		}
		return notifyQueue(ctx, tx, t.LocationID)
	})
}

// TicketOfBooking returns the ticket drawn for a booking.
func (s *Store) TicketOfBooking(ctx context.Context, bookingID int64) (*booking.QueueTicket, error) {
	var r ticketRow
	err := s.db.GetContext(ctx, &r, `SELECT `+ticketColumns+` FROM queue_tickets WHERE booking_id = $1`, bookingID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrTicketNotFound
	}
	if err != nil {
		return nil, unavailable("ticket of booking", err)
	}
	return r.ticket(), nil
}

// QueueLoad counts who waits ahead of a ticket (in the order CallNext
// calls: checked-in appointments first), the mean service time of
// the last 20 served and the desks that called in the last half hour.
func (s *Store) QueueLoad(ctx context.Context, location string, day booking.Date, ticketID int64) (booking.QueueLoad, error) {
	var st struct {
		Ahead int             `db:"ahead"`
		Mean  sql.NullFloat64 `db:"mean"`
		Desks int             `db:"desks"`
	}
	err := s.db.GetContext(ctx, &st, `
		SELECT
			(SELECT count(*) FROM queue_tickets w, queue_tickets t
				WHERE t.id = $3 AND w.location_id = $1 AND w.day = $2 AND w.state = 'waiting'
					AND ((w.booking_id IS NULL), w.id) < ((t.booking_id IS NULL), t.id)) AS ahead,
			(SELECT avg(extract(epoch FROM finished_at - called_at)) FROM (
				SELECT finished_at, coalesce(last_called_at, called_at) AS called_at FROM queue_tickets
				WHERE location_id = $1 AND day = $2 AND state = 'served' AND called_at IS NOT NULL
				ORDER BY finished_at DESC LIMIT 20) recent) AS mean,
			(SELECT count(DISTINCT desk) FROM queue_tickets
				WHERE location_id = $1 AND day = $2 AND called_at > now() - interval '30 minutes') AS desks`,
		location, day.String(), ticketID)
	if err != nil {
		return booking.QueueLoad{}, unavailable("estimate wait", err)
	}
	load := booking.QueueLoad{Ahead: st.Ahead, Desks: st.Desks}
	if st.Mean.Valid && st.Mean.Float64 > 0 {
		load.MeanService = time.Duration(st.Mean.Float64 * float64(time.Second))
	}
	return load, nil
}

// CallNext calls the next waiting ticket to a desk. FOR UPDATE SKIP LOCKED
// keeps desks calling at once from getting the same ticket. Tickets are
// called in id order, not by created_at: created_at is the start of the
// drawing transaction, and of two kiosks drawing at once the one that
// started first may wait for the counter row and get the later number,
// while ids are handed out under that row's lock, in number order. A
// transferred ticket keeps its id, so it is called at its place of
// arrival. called_at keeps the first call, last_called_at this one.
func (s *Store) CallNext(ctx context.Context, location string, day booking.Date, desk string) (*booking.QueueTicket, error) {
	var r ticketRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &r, `
			UPDATE queue_tickets SET state = 'called', desk = $3, called_at = coalesce(called_at, now()), last_called_at = now()
			WHERE id = (
				SELECT id FROM queue_tickets
				WHERE location_id = $1 AND day = $2 AND state = 'waiting'
				ORDER BY (booking_id IS NULL), id
				LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING `+ticketColumns, location, day.String(), desk)
		if errors.Is(err, sql.ErrNoRows) {
			return booking.ErrQueueEmpty
		}
		if err != nil {
			return unavailable("call next", err)
		}
		return notifyQueue(ctx, tx, location)
	})
	if err != nil {
		return nil, err
	}
	return r.ticket(), nil
}

// changeCalled runs an UPDATE of one called ticket (id $1, location $2,
// further arguments from $3) and announces it; a ticket that is not
// called is booking.ErrTicketState, a missing one booking.ErrTicketNotFound.
func (s *Store) changeCalled(ctx context.Context, what, update string, location string, id int64, args ...any) (*booking.QueueTicket, error) {
	var r ticketRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &r, update+` RETURNING `+ticketColumns, append([]any{id, location}, args...)...)
		if errors.Is(err, sql.ErrNoRows) {
			var exists bool
			if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM queue_tickets WHERE id = $1 AND location_id = $2)`,
				id, location); err != nil {
				return unavailable(what, err)
			}
			if exists {
				return booking.ErrTicketState
			}
			return booking.ErrTicketNotFound
		}
		if err != nil {
			return unavailable(what, err)
		}
		return notifyQueue(ctx, tx, location)
	})
	if err != nil {
		return nil, err
	}
	return r.ticket(), nil
}

// FinishTicket marks a called ticket served or a no-show.
func (s *Store) FinishTicket(ctx context.Context, location string, id int64, state string) (*booking.QueueTicket, error) {
	return s.changeCalled(ctx, "finish ticket", `
		UPDATE queue_tickets SET state = $3, finished_at = now()
		WHERE id = $1 AND location_id = $2 AND state = 'called'`, location, id, state)
}

// RecallTicket calls a called ticket again, to desk: it goes back to the
// top of the call display.
func (s *Store) RecallTicket(ctx context.Context, location string, id int64, desk string) (*booking.QueueTicket, error) {
	return s.changeCalled(ctx, "recall ticket", `
		UPDATE queue_tickets SET desk = $3, last_called_at = now(), recalls = recalls + 1
		WHERE id = $1 AND location_id = $2 AND state = 'called'`, location, id, desk)
}

// TransferTicket sends a called ticket to another service: it waits
// again with its number and its place in the line.
func (s *Store) TransferTicket(ctx context.Context, location string, id int64, serviceID string) (*booking.QueueTicket, error) {
	return s.changeCalled(ctx, "transfer ticket", `
		UPDATE queue_tickets SET state = 'waiting', transferred_from = service_id, service_id = $3,
			transferred_at = now(), desk = NULL, last_called_at = NULL
		WHERE id = $1 AND location_id = $2 AND state = 'called' AND service_id IS DISTINCT FROM $3`, location, id, serviceID)
}

// Tickets lists the day's tickets of a location, newest call (or recall)
// first, then the waiting ones in the order they are called.
func (s *Store) Tickets(ctx context.Context, location string, day booking.Date) ([]booking.QueueTicket, error) {
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT `+ticketColumns+` FROM queue_tickets WHERE location_id = $1 AND day = $2
		ORDER BY last_called_at DESC NULLS LAST, (booking_id IS NULL), id`, location, day.String()); err != nil {
		return nil, unavailable("list tickets", err)
	}
	ts := make([]booking.QueueTicket, len(rows))
	for i, r := range rows {
		ts[i] = *r.ticket()
	}
	return ts, nil
}

// Redeem records an admission unless the ticket was admitted before, and
// returns the ticket's first admission. A nonce already used for another
// ticket records nothing and fails with booking.ErrNonceReused.
func (s *Store) Redeem(ctx context.Context, deviceID string, r booking.Redemption) (*booking.Redemption, error) {
	var first redemptionRow
	var flag *string
	if r.Flag != "" {
		flag = &r.Flag
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO ticket_redemptions (booking_code, location_id, nonce, device_id, scanned_at, offline, flag)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			r.Code, r.Location, r.Nonce, deviceID, r.ScannedAt, r.Offline, flag)
		if err != nil {
			return unavailable("redeem", err)
		}
		err = tx.GetContext(ctx, &first, `
			SELECT `+redemptionColumns+` FROM ticket_redemptions
			WHERE location_id = $1 AND booking_code = $2`, r.Location, r.Code)
		if errors.Is(err, sql.ErrNoRows) {
			// Nothing was inserted and the ticket has no admission: the
			// nonce belongs to a scan of another ticket.
			return booking.ErrNonceReused
		}
		if err != nil {
			return unavailable("redeem", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return first.redemption(), nil
}

const redemptionColumns = `booking_code, location_id, nonce, scanned_at, offline, flag`

type redemptionRow struct {
	Code      string    `db:"booking_code"`
	Location  string    `db:"location_id"`
	Nonce     string    `db:"nonce"`
	ScannedAt time.Time `db:"scanned_at"`
	Offline   bool      `db:"offline"`
	Flag      *string   `db:"flag"`
}

func (r redemptionRow) redemption() *booking.Redemption {
	out := &booking.Redemption{Code: r.Code, Location: r.Location, Nonce: r.Nonce, ScannedAt: r.ScannedAt, Offline: r.Offline}
	if r.Flag != nil {
		out.Flag = *r.Flag
	}
	return out
}

// FlaggedRedemptions lists a location's flagged admissions scanned in
// [from, to), oldest first.
func (s *Store) FlaggedRedemptions(ctx context.Context, location string, from, to time.Time) ([]booking.Redemption, error) {
	var rows []redemptionRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT `+redemptionColumns+` FROM ticket_redemptions
		WHERE location_id = $1 AND flag IS NOT NULL AND scanned_at >= $2 AND scanned_at < $3
		ORDER BY scanned_at LIMIT 1000`, location, from, to); err != nil {
		return nil, unavailable("flagged redemptions", err)
	}
	out := make([]booking.Redemption, len(rows))
	for i, r := range rows {
		out[i] = *r.redemption()
	}
	return out, nil
}

// RevokedCodes lists the codes of cancelled bookings at a location whose
// slots overlap [from, to).
func (s *Store) RevokedCodes(ctx context.Context, location string, from, to time.Time) ([]string, error) {
	codes := []string{}
	// Slots are shorter than a day: the start bound lets the index on
	// (location_id, start_at) do the work.
	if err := s.db.SelectContext(ctx, &codes, `
		SELECT code FROM bookings
		WHERE location_id = $1 AND status = 'cancelled'
			AND start_at > $2::timestamptz - interval '1 day' AND start_at < $3 AND end_at > $2
		ORDER BY code LIMIT 20000`, location, from, to); err != nil {
		return nil, unavailable("revoked tickets", err)
	}
	return codes, nil
}
