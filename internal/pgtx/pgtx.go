// Package pgtx runs work in one PostgreSQL transaction; the storage
// packages share it.
package pgtx

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// InTx runs fn in a transaction and commits when it returns nil. A failure
// to begin or commit wraps unavailable, the calling store's sentinel for an
// outage; fn's own error is returned as it is.
func InTx(ctx context.Context, db *sqlx.DB, unavailable error, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", unavailable, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: commit: %w", unavailable, err)
	}
	return nil
}
