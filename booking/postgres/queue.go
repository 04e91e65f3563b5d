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

const ticketColumns = `id, location_id, day, number, service_id, booking_id, state, desk, created_at, called_at, finished_at`

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
}

func (r ticketRow) ticket() *booking.QueueTicket {
	return &booking.QueueTicket{ID: r.ID, LocationID: r.LocationID, Day: r.Day, Number: r.Number, ServiceID: r.ServiceID,
		BookingID: r.BookingID, State: r.State, Desk: r.Desk, CreatedAt: r.CreatedAt, CalledAt: r.CalledAt, FinishedAt: r.FinishedAt}
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
		return nil
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

// QueueLoad counts who waits ahead of a ticket, the mean service time of
// the last 20 served and the desks that called in the last half hour.
func (s *Store) QueueLoad(ctx context.Context, location string, day booking.Date, ticketID int64) (booking.QueueLoad, error) {
	var st struct {
		Ahead int             `db:"ahead"`
		Mean  sql.NullFloat64 `db:"mean"`
		Desks int             `db:"desks"`
	}
	err := s.db.GetContext(ctx, &st, `
		SELECT
			(SELECT count(*) FROM queue_tickets WHERE location_id = $1 AND day = $2 AND state = 'waiting' AND id < $3) AS ahead,
			(SELECT avg(extract(epoch FROM finished_at - called_at)) FROM (
				SELECT finished_at, called_at FROM queue_tickets
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
// while ids are handed out under that row's lock, in number order.
func (s *Store) CallNext(ctx context.Context, location string, day booking.Date, desk string) (*booking.QueueTicket, error) {
	var r ticketRow
	err := s.db.GetContext(ctx, &r, `
		UPDATE queue_tickets SET state = 'called', desk = $3, called_at = now()
		WHERE id = (
			SELECT id FROM queue_tickets
			WHERE location_id = $1 AND day = $2 AND state = 'waiting'
			ORDER BY (booking_id IS NULL), id
			LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+ticketColumns, location, day.String(), desk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrQueueEmpty
	}
	if err != nil {
		return nil, unavailable("call next", err)
	}
	return r.ticket(), nil
}

// FinishTicket marks a called ticket served or a no-show.
func (s *Store) FinishTicket(ctx context.Context, location string, id int64, state string) (*booking.QueueTicket, error) {
	var r ticketRow
	err := s.db.GetContext(ctx, &r, `
		UPDATE queue_tickets SET state = $3, finished_at = now()
		WHERE id = $1 AND location_id = $2 AND state = 'called'
		RETURNING `+ticketColumns, id, location, state)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := s.db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM queue_tickets WHERE id = $1 AND location_id = $2)`,
			id, location); err != nil {
			return nil, unavailable("finish ticket", err)
		}
		if exists {
			return nil, booking.ErrTicketState
		}
		return nil, booking.ErrTicketNotFound
	}
	if err != nil {
		return nil, unavailable("finish ticket", err)
	}
	return r.ticket(), nil
}

// Tickets lists the day's tickets of a location, newest call first, then
// the waiting ones.
func (s *Store) Tickets(ctx context.Context, location string, day booking.Date) ([]booking.QueueTicket, error) {
	var rows []ticketRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT `+ticketColumns+` FROM queue_tickets WHERE location_id = $1 AND day = $2
		ORDER BY called_at DESC NULLS LAST, id`, location, day.String()); err != nil {
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
