package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// CheckInPrefix starts the queue numbers of checked-in appointments.
const CheckInPrefix = "T"

// Queue ticket states.
const (
	QueueWaiting = "waiting"
	QueueCalled  = "called"
	QueueServed  = "served"
	QueueNoShow  = "no_show"
)

// Queue outcomes.
var (
	ErrQueueEmpty       = errors.New("nobody is waiting")
	ErrTicketNotFound   = errors.New("queue ticket not found")
	ErrTicketState      = errors.New("queue ticket is not in a state that allows this")
	ErrCheckInWrongDay  = errors.New("appointment is not today")
	ErrCheckInTooEarly  = errors.New("too early to check in")
	ErrCheckInTooLate   = errors.New("too late to check in")
	ErrCheckInWrongSite = errors.New("appointment is at another location")
	ErrBookingCancelled = errors.New("booking is cancelled")
	ErrAlreadyRedeemed  = errors.New("ticket already used")
)

// QueueTicket is a Wartenummer.
type QueueTicket struct {
	ID         int64      `json:"id" db:"id"`
	LocationID string     `json:"location" db:"location_id"`
	Day        time.Time  `json:"-" db:"day"`
	Number     string     `json:"number" db:"number"`
	ServiceID  *string    `json:"service,omitempty" db:"service_id"`
	BookingID  *int64     `json:"-" db:"booking_id"`
	State      string     `json:"state" db:"state"`
	Desk       *string    `json:"desk,omitempty" db:"desk"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	CalledAt   *time.Time `json:"called_at,omitempty" db:"called_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty" db:"finished_at"`
	// EstimatedWait is filled in when a ticket is drawn.
	EstimatedWait time.Duration `json:"-" db:"-"`
	// Ahead is the number of people waiting before this ticket.
	Ahead int `json:"ahead" db:"-"`
}

const ticketColumns = `id, location_id, day, number, service_id, booking_id, state, desk, created_at, called_at, finished_at`

// Queue runs the waiting lines of offices. All state is in PostgreSQL, so
// desks and kiosks on several server replicas see one queue.
type Queue struct {
	engine *Engine
	db     *sqlx.DB
	// CheckInEarly and CheckInLate bound check-in around a booking's start.
	CheckInEarly, CheckInLate time.Duration
}

// NewQueue returns the queue of the engine's locations.
func NewQueue(e *Engine) *Queue {
	return &Queue{engine: e, db: e.pg.db, CheckInEarly: 30 * time.Minute, CheckInLate: 15 * time.Minute}
}

func (q *Queue) today(locationID string) (*Location, Date, error) {
	l, tz, err := q.engine.Location(locationID)
	if err != nil {
		return nil, Date{}, err
	}
	return l, DateOf(q.engine.Now().In(tz)), nil
}

// draw takes the next number of a prefix and inserts the ticket, in tx.
func draw(ctx context.Context, tx *sqlx.Tx, t *QueueTicket, day Date, prefix string) error {
	var n int
	if err := tx.GetContext(ctx, &n, `
		INSERT INTO queue_counters (location_id, day, prefix, last) VALUES ($1, $2, $3, 1)
		ON CONFLICT (location_id, day, prefix) DO UPDATE SET last = queue_counters.last + 1
		RETURNING last`, t.LocationID, day.String(), prefix); err != nil {
		return fmt.Errorf("%w: draw number: %w", ErrUnavailable, err)
	}
	// Numbers wrap after 999; the UNIQUE constraint stops a wrapped number
	// from being handed out while its namesake is still in the list.
	t.Number = fmt.Sprintf("%s%03d", prefix, (n-1)%999+1)
	t.Day = day.Midnight(time.UTC)
	if err := tx.QueryRowxContext(ctx, `
		INSERT INTO queue_tickets (location_id, day, number, service_id, booking_id, state)
		VALUES ($1, $2, $3, $4, $5, 'waiting')
		RETURNING id, state, created_at`,
		t.LocationID, day.String(), t.Number, t.ServiceID, t.BookingID).Scan(&t.ID, &t.State, &t.CreatedAt); err != nil {
		return fmt.Errorf("%w: insert ticket: %w", ErrUnavailable, err)
	}
	return nil
}

// WalkIn draws a number for a visitor without an appointment.
func (q *Queue) WalkIn(ctx context.Context, locationID, serviceID string) (*QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	s, err := q.engine.Service(locationID, serviceID)
	if err != nil {
		return nil, err
	}
	t := &QueueTicket{LocationID: locationID, ServiceID: &s.ID}
	err = inTx(ctx, q.db, func(tx *sqlx.Tx) error { return draw(ctx, tx, t, day, queuePrefix(*s)) })
	if err != nil {
		return nil, err
	}
	return t, q.estimate(ctx, t)
}

// CheckIn turns today's appointment into a T number. Checking in twice
// returns the first ticket again (a reprint).
func (q *Queue) CheckIn(ctx context.Context, locationID, code string) (*QueueTicket, error) {
	l, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	b, _, err := q.engine.pg.bookingByCode(ctx, NormalizeBookingCode(code))
	if err != nil {
		return nil, err
	}
	_, tz, _ := q.engine.Location(l.ID)
	now := q.engine.Now()
	switch {
	case b.LocationID != l.ID:
		return nil, ErrCheckInWrongSite
	case b.Status == StatusCancelled:
		return nil, ErrBookingCancelled
	case b.Status != StatusConfirmed:
		return nil, ErrTicketState
	case DateOf(b.Start.In(tz)) != day:
		return nil, ErrCheckInWrongDay
	case now.Before(b.Start.Add(-q.CheckInEarly)):
		return nil, ErrCheckInTooEarly
	case now.After(b.Start.Add(q.CheckInLate)):
		return nil, ErrCheckInTooLate
	}
	t := &QueueTicket{LocationID: l.ID, ServiceID: &b.ServiceID, BookingID: &b.ID}
	err = inTx(ctx, q.db, func(tx *sqlx.Tx) error { return draw(ctx, tx, t, day, CheckInPrefix) })
	if err != nil {
		var existing QueueTicket
		if gerr := q.db.GetContext(ctx, &existing, `SELECT `+ticketColumns+` FROM queue_tickets WHERE booking_id = $1`, b.ID); gerr == nil {
			t = &existing
		} else {
			return nil, err
		}
	}
	return t, q.estimate(ctx, t)
}

// estimate fills in how many wait ahead and for how long: the people
// ahead times the recent mean service time, shared by the desks working.
func (q *Queue) estimate(ctx context.Context, t *QueueTicket) error {
	var st struct {
		Ahead int             `db:"ahead"`
		Mean  sql.NullFloat64 `db:"mean"`
		Desks int             `db:"desks"`
	}
	err := q.db.GetContext(ctx, &st, `
		SELECT
			(SELECT count(*) FROM queue_tickets WHERE location_id = $1 AND day = $2 AND state = 'waiting' AND id < $3) AS ahead,
			(SELECT avg(extract(epoch FROM finished_at - called_at)) FROM (
				SELECT finished_at, called_at FROM queue_tickets
				WHERE location_id = $1 AND day = $2 AND state = 'served' AND called_at IS NOT NULL
				ORDER BY finished_at DESC LIMIT 20) recent) AS mean,
			(SELECT count(DISTINCT desk) FROM queue_tickets
				WHERE location_id = $1 AND day = $2 AND called_at > now() - interval '30 minutes') AS desks`,
		t.LocationID, t.Day.Format(time.DateOnly), t.ID)
	if err != nil {
		return fmt.Errorf("%w: estimate wait: %w", ErrUnavailable, err)
	}
	mean := 15 * time.Minute
	if t.ServiceID != nil {
		if s, err := q.engine.Service(t.LocationID, *t.ServiceID); err == nil {
			mean = time.Duration(s.DurationMinutes) * time.Minute
		}
	}
	if st.Mean.Valid && st.Mean.Float64 > 0 {
		mean = time.Duration(st.Mean.Float64 * float64(time.Second))
	}
	desks := st.Desks
	if desks < 1 {
		desks = 1
	}
	t.Ahead = st.Ahead
	t.EstimatedWait = time.Duration(math.Ceil(float64(st.Ahead)/float64(desks))) * mean
	return nil
}

// CallNext calls the next waiting ticket to a desk: checked-in
// appointments first, then walk-ins, each in order of arrival. Desks
// calling at once never get the same ticket.
func (q *Queue) CallNext(ctx context.Context, locationID, desk string) (*QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	var t QueueTicket
	err = q.db.GetContext(ctx, &t, `
		UPDATE queue_tickets SET state = 'called', desk = $3, called_at = now()
		WHERE id = (
			SELECT id FROM queue_tickets
			WHERE location_id = $1 AND day = $2 AND state = 'waiting'
			ORDER BY (booking_id IS NULL), created_at, id
			LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+ticketColumns, locationID, day.String(), desk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrQueueEmpty
	}
	if err != nil {
		return nil, fmt.Errorf("%w: call next: %w", ErrUnavailable, err)
	}
	return &t, nil
}

// Finish marks a called ticket served or a no-show.
func (q *Queue) Finish(ctx context.Context, locationID string, id int64, state string) (*QueueTicket, error) {
	if state != QueueServed && state != QueueNoShow {
		return nil, ErrTicketState
	}
	var t QueueTicket
	err := q.db.GetContext(ctx, &t, `
		UPDATE queue_tickets SET state = $3, finished_at = now()
		WHERE id = $1 AND location_id = $2 AND state = 'called'
		RETURNING `+ticketColumns, id, locationID, state)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		q.db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM queue_tickets WHERE id = $1 AND location_id = $2)`, id, locationID)
		if exists {
			return nil, ErrTicketState
		}
		return nil, ErrTicketNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: finish ticket: %w", ErrUnavailable, err)
	}
	return &t, nil
}

// Today lists the day's tickets of a location, newest call first for the
// display, then the waiting ones.
func (q *Queue) Today(ctx context.Context, locationID string) ([]QueueTicket, error) {
	_, day, err := q.today(locationID)
	if err != nil {
		return nil, err
	}
	ts := []QueueTicket{}
	if err := q.db.SelectContext(ctx, &ts, `
		SELECT `+ticketColumns+` FROM queue_tickets WHERE location_id = $1 AND day = $2
		ORDER BY called_at DESC NULLS LAST, id`, locationID, day.String()); err != nil {
		return nil, fmt.Errorf("%w: list tickets: %w", ErrUnavailable, err)
	}
	return ts, nil
}

// Redemption is one admission at an entrance.
type Redemption struct {
	Code      string    `json:"code" db:"booking_code"`
	Location  string    `json:"location" db:"location_id"`
	Nonce     string    `json:"nonce" db:"nonce"`
	ScannedAt time.Time `json:"scanned_at" db:"scanned_at"`
	Offline   bool      `json:"offline" db:"offline"`
}

// Redeem records an admission. The same nonce again (a repeated upload)
// returns the recorded admission with first=true; a different nonce for a
// ticket already used returns the first admission and ErrAlreadyRedeemed.
func (q *Queue) Redeem(ctx context.Context, deviceID string, r Redemption) (*Redemption, error) {
	var first Redemption
	err := inTx(ctx, q.db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO ticket_redemptions (booking_code, location_id, nonce, device_id, scanned_at, offline)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			r.Code, r.Location, r.Nonce, deviceID, r.ScannedAt, r.Offline)
		if err != nil {
			return fmt.Errorf("%w: redeem: %w", ErrUnavailable, err)
		}
		return tx.GetContext(ctx, &first, `
			SELECT booking_code, location_id, nonce, scanned_at, offline FROM ticket_redemptions
			WHERE location_id = $1 AND booking_code = $2`, r.Location, r.Code)
	})
	if err != nil {
		return nil, err
	}
	if first.Nonce != r.Nonce {
		return &first, ErrAlreadyRedeemed
	}
	return &first, nil
}

func inTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", ErrUnavailable, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: commit: %w", ErrUnavailable, err)
	}
	return nil
}
