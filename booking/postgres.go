package booking

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the booking core's schema migrations.
var Migrations = migrate.Component{Name: "booking", FS: mustSub(migrations, "migrations")}

// Postgres is the record of locations, services and bookings.
type Postgres struct {
	db *sqlx.DB
}

// NewPostgres uses db.
func NewPostgres(db *sqlx.DB) *Postgres { return &Postgres{db: db} }

// DB exposes the handle for packages that extend the booking transaction
// (payment writes postings next to the booking rows).
func (p *Postgres) DB() *sqlx.DB { return p.db }

// Ping checks that PostgreSQL answers.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: postgres: %w", ErrUnavailable, err)
	}
	return nil
}

// SaveCatalog inserts or updates locations and their services. Services of
// a location that are not listed are deactivated, not deleted: bookings
// keep pointing at them.
func (p *Postgres) SaveCatalog(ctx context.Context, locs []Location, services []Service) error {
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save catalog: %w", err)
	}
	defer tx.Rollback()
	for _, l := range locs {
		opening, _ := json.Marshal(l.Opening)
		closures, _ := json.Marshal(l.Closures)
		if opening == nil || string(opening) == "null" {
			opening = []byte("[]")
		}
		if string(closures) == "null" {
			closures = []byte("[]")
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO locations (id, kind, name, timezone, capacity, slot_minutes, closed_on_holidays, booking_horizon_days, opening, closures)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET kind = $2, name = $3, timezone = $4, capacity = $5, slot_minutes = $6,
				closed_on_holidays = $7, booking_horizon_days = $8, opening = $9, closures = $10, updated_at = now()`,
			l.ID, l.Kind, l.Name, l.Timezone, l.Capacity, l.SlotMinutes, l.ClosedOnHolidays, l.BookingHorizonDays, opening, closures); err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE services SET active = false WHERE location_id = $1`, l.ID); err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
	}
	for i, s := range services {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO services (id, location_id, name, duration_minutes, fee_cents, payment, max_units, position, active, queue_prefix)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
			ON CONFLICT (id) DO UPDATE SET location_id = $2, name = $3, duration_minutes = $4, fee_cents = $5,
				payment = $6, max_units = $7, position = $8, active = true, queue_prefix = $9`,
			s.ID, s.LocationID, s.Name, s.DurationMinutes, s.FeeCents, s.Payment, s.MaxUnits, i, queuePrefix(s)); err != nil {
			return fmt.Errorf("save service %s: %w", s.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save catalog: %w", err)
	}
	return nil
}

func queuePrefix(s Service) string {
	if s.QueuePrefix == "" {
		return "A"
	}
	return s.QueuePrefix
}

// LoadCatalog reads all locations and their active services.
func (p *Postgres) LoadCatalog(ctx context.Context) ([]Location, []Service, error) {
	rows, err := p.db.QueryxContext(ctx, `
		SELECT id, kind, name, timezone, capacity, slot_minutes, closed_on_holidays, booking_horizon_days, opening, closures
		FROM locations ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("load locations: %w", err)
	}
	defer rows.Close()
	var locs []Location
	for rows.Next() {
		var l Location
		var opening, closures []byte
		if err := rows.Scan(&l.ID, &l.Kind, &l.Name, &l.Timezone, &l.Capacity, &l.SlotMinutes,
			&l.ClosedOnHolidays, &l.BookingHorizonDays, &opening, &closures); err != nil {
			return nil, nil, fmt.Errorf("load locations: %w", err)
		}
		if err := json.Unmarshal(opening, &l.Opening); err != nil {
			return nil, nil, fmt.Errorf("location %s opening: %w", l.ID, err)
		}
		if err := json.Unmarshal(closures, &l.Closures); err != nil {
			return nil, nil, fmt.Errorf("location %s closures: %w", l.ID, err)
		}
		locs = append(locs, l)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load locations: %w", err)
	}
	var services []Service
	if err := p.db.SelectContext(ctx, &services, `
		SELECT id, location_id, name, duration_minutes, fee_cents, payment, max_units, queue_prefix
		FROM services WHERE active ORDER BY location_id, position`); err != nil {
		return nil, nil, fmt.Errorf("load services: %w", err)
	}
	return locs, services, nil
}

// unitCell is one booked unit of one grid cell.
type unitCell struct {
	CellStart time.Time `db:"cell_start"`
	Unit      int       `db:"unit"`
}

var (
	errUnitTaken = errors.New("unit already booked")
	errHoldUsed  = errors.New("hold already booked")
	errCodeTaken = errors.New("booking code taken")
)

// contactLimit is the per-contact limit a booking is counted against.
type contactLimit struct {
	hash []byte // keyed hash of the normalised e-mail address
	day  Date   // local day of the slot
	max  int    // 0: no limit, but the booking is still counted
}

// countContact counts a booking against its contact's limit. The UPSERT
// locks the contact's row for the rest of the transaction, so concurrent
// confirms of the same contact queue here and each sees the others'
// counts: the limit holds across replicas without any lock of ours.
func countContact(ctx context.Context, tx *sqlx.Tx, location string, c contactLimit) error {
	max := c.max
	if max <= 0 {
		max = math.MaxInt32
	}
	var n int
	err := tx.QueryRowxContext(ctx, `
		INSERT INTO contact_days (location_id, day, contact_hash, bookings) VALUES ($1, $2, $3, 1)
		ON CONFLICT (location_id, day, contact_hash)
		DO UPDATE SET bookings = contact_days.bookings + 1 WHERE contact_days.bookings < $4
		RETURNING bookings`, location, c.day.String(), c.hash, max).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrContactLimit
	}
	if err != nil {
		return fmt.Errorf("%w: count contact: %w", ErrUnavailable, err)
	}
	return nil
}

// insertBooking writes the booking and the units it occupies in one
// transaction, counted against the contact's limit; extra runs inside the
// same transaction, so callers can add rows (an outbox entry, a payment)
// that must commit with the booking.
func (p *Postgres) insertBooking(ctx context.Context, b *Booking, tokenHash []byte, limit contactLimit, cells []unitCell, extra func(*sqlx.Tx, *Booking) error) error {
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", ErrUnavailable, err)
	}
	defer tx.Rollback()
	if err := countContact(ctx, tx, b.LocationID, limit); err != nil {
		return err
	}
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes, name, email, status,
			contact_hash, local_day)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		RETURNING id, created_at`,
		b.Code, b.HoldID, tokenHash, b.LocationID, b.ServiceID, b.Start, b.End, pq.Array(b.Units), b.Name, b.Email, b.Status,
		limit.hash, limit.day.String(),
	).Scan(&b.ID, &b.CreatedAt)
	if err != nil {
		return classifyInsert(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO booking_units (booking_id, location_id, cell_start, unit) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return fmt.Errorf("%w: prepare: %w", ErrUnavailable, err)
	}
	defer stmt.Close()
	for _, c := range cells {
		if _, err := stmt.ExecContext(ctx, b.ID, b.LocationID, c.CellStart, c.Unit); err != nil {
			return classifyInsert(err)
		}
	}
	if extra != nil {
		if err := extra(tx, b); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return classifyInsert(err)
	}
	return nil
}

func classifyInsert(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		switch pqErr.Constraint {
		case "booking_units_once":
			return errUnitTaken
		case "bookings_hold_id_key":
			return errHoldUsed
		case "bookings_code_key":
			return errCodeTaken
		}
	}
	return fmt.Errorf("%w: insert booking: %w", ErrUnavailable, err)
}

// bookedCells lists the booked units of a location whose cells start in
// [from, to).
func (p *Postgres) bookedCells(ctx context.Context, location string, from, to time.Time) ([]unitCell, error) {
	var cells []unitCell
	if err := p.db.SelectContext(ctx, &cells, `
		SELECT cell_start, unit FROM booking_units
		WHERE location_id = $1 AND cell_start >= $2 AND cell_start < $3`, location, from, to); err != nil {
		return nil, fmt.Errorf("%w: booked units: %w", ErrUnavailable, err)
	}
	return cells, nil
}

// holdUsed reports whether a booking was made from the hold.
func (p *Postgres) holdUsed(ctx context.Context, holdID string) (bool, error) {
	var used bool
	if err := p.db.GetContext(ctx, &used, `SELECT EXISTS (SELECT 1 FROM bookings WHERE hold_id = $1)`, holdID); err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return used, nil
}

// bookingByCode returns a booking and its manage-token hash.
func (p *Postgres) bookingByCode(ctx context.Context, code string) (*Booking, []byte, error) {
	var row struct {
		Booking
		TokenHash []byte        `db:"manage_token_hash"`
		Units     pq.Int64Array `db:"unit_indexes"`
	}
	err := p.db.GetContext(ctx, &row, `
		SELECT id, code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes,
			name, email, status, created_at, cancelled_at
		FROM bookings WHERE code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrBookingNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: booking: %w", ErrUnavailable, err)
	}
	b := row.Booking
	for _, u := range row.Units {
		b.Units = append(b.Units, int(u))
	}
	return &b, row.TokenHash, nil
}

// cancelBooking marks a booking cancelled and frees its unit rows,
// returning the freed cells. extra runs in the same transaction.
func (p *Postgres) cancelBooking(ctx context.Context, id int64, now time.Time, extra func(*sqlx.Tx) error) ([]unitCell, error) {
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: begin: %w", ErrUnavailable, err)
	}
	defer tx.Rollback()
	var counted struct {
		Location string  `db:"location_id"`
		Day      *string `db:"local_day"`
		Hash     []byte  `db:"contact_hash"`
	}
	err = tx.GetContext(ctx, &counted, `
		UPDATE bookings SET status = 'cancelled', cancelled_at = $2
		WHERE id = $1 AND status <> 'cancelled'
		RETURNING location_id, local_day::text, contact_hash`, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // already cancelled
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cancel: %w", ErrUnavailable, err)
	}
	// A cancelled appointment no longer counts against its contact's
	// limit. Bookings from before the limit have no hash and were never
	// counted.
	if counted.Hash != nil && counted.Day != nil {
		if _, err := tx.ExecContext(ctx, `
			UPDATE contact_days SET bookings = bookings - 1
			WHERE location_id = $1 AND day = $2 AND contact_hash = $3 AND bookings > 0`,
			counted.Location, *counted.Day, counted.Hash); err != nil {
			return nil, fmt.Errorf("%w: uncount contact: %w", ErrUnavailable, err)
		}
	}
	var cells []unitCell
	if err := tx.SelectContext(ctx, &cells, `
		DELETE FROM booking_units WHERE booking_id = $1 RETURNING cell_start, unit`, id); err != nil {
		return nil, fmt.Errorf("%w: free units: %w", ErrUnavailable, err)
	}
	if extra != nil {
		if err := extra(tx); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%w: cancel: %w", ErrUnavailable, err)
	}
	return cells, nil
}

// CountLiveUnits counts the booked unit rows of a location in [from, to);
// tests and the operator check compare it with what Redis believes.
func (p *Postgres) CountLiveUnits(ctx context.Context, location string, from, to time.Time) (int, error) {
	var n int
	err := p.db.GetContext(ctx, &n, `SELECT count(*) FROM booking_units WHERE location_id = $1 AND cell_start >= $2 AND cell_start < $3`,
		location, from, to)
	return n, err
}
