// Package postgres is the booking core's record in PostgreSQL: the
// catalog, bookings and their units, the per-contact limit, devices, the
// ticket signing key, queue tickets and admissions, and the schema
// migrations of those tables. It implements booking.Records and
// booking.QueueStore. A UNIQUE constraint on location, grid cell and unit
// makes a double booking impossible even when Redis is wrong or lost.
//
// The functions taking a *sqlx.Tx are the booking steps of transactions
// other storage packages own (payment/postgres confirms a paid booking in
// the transaction that writes its posting).
package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the booking core's schema migrations.
var Migrations = migrate.Embedded("booking", migrations, "migrations")

// Store is the record of locations, services, bookings, devices and
// queues.
type Store struct {
	db *sqlx.DB
	// group writes the bookings of concurrent InsertBooking calls in one
	// transaction (group.go).
	group *insertGroup
}

var (
	_ booking.Records    = (*Store)(nil)
	_ booking.QueueStore = (*Store)(nil)
)

// New uses db.
func New(db *sqlx.DB) *Store { return &Store{db: db, group: &insertGroup{db: db}} }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: postgres: %w", booking.ErrUnavailable, err)
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	return pgtxInTx(ctx, s.db, fn)
}

func pgtxInTx(ctx context.Context, db *sqlx.DB, fn func(*sqlx.Tx) error) error {
	return pgtx.InTx(ctx, db, booking.ErrUnavailable, fn)
}

// unavailable wraps the error of a failed statement: an outage of the
// store, unless PostgreSQL refused the statement's input (pgtx.Fail).
func unavailable(what string, err error) error {
	return pgtx.Fail(booking.ErrUnavailable, what, err)
}
