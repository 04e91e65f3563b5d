// Package postgres is the payment package's PostgreSQL storage: payments,
// postings, the outbox and inbox, account assignments, reconciliation runs
// and their migrations. It implements payment.Store and reconcile.Store;
// its transactions take the booking steps through booking/postgres, so a
// paid booking is confirmed in the transaction that writes its posting.
package postgres

import (
	"context"
	"embed"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the payment tables' schema migrations; they build on
// booking/postgres.Migrations (payments reference bookings and services).
var Migrations = migrate.Embedded("payment", migrations, "migrations")

// Store is the payment storage on the booking core's database.
type Store struct {
	db *sqlx.DB
}

var _ payment.Store = (*Store)(nil)

// New uses db (the same database as the booking core).
func New(db *sqlx.DB) *Store { return &Store{db: db} }

// InTx runs fn in one transaction.
func (s *Store) InTx(ctx context.Context, fn func(payment.Tx) error) error {
	return pgtx.InTx(ctx, s.db, payment.ErrStoreUnavailable, func(tx *sqlx.Tx) error { return fn(&txStore{tx: tx}) })
}

// txStore is one transaction; it implements payment.Tx.
type txStore struct {
	tx *sqlx.Tx
}

var _ payment.Tx = (*txStore)(nil)

// unavailable wraps a database failure in the payment sentinel.
// unavailable wraps the error of a failed statement: an outage of the
// store, unless PostgreSQL refused the statement's input (pgtx.Fail).
func unavailable(what string, err error) error {
	return pgtx.Fail(payment.ErrStoreUnavailable, what, err)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func limit(n int) int {
	if n <= 0 || n > 1000 {
		return 1000
	}
	return n
}
