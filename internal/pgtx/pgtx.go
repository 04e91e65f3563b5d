// Package pgtx runs work in one PostgreSQL transaction and classifies the
// errors PostgreSQL raises; the storage packages share it.
package pgtx

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ErrInputRejected marks a statement PostgreSQL refused because of a value
// it was given (SQLSTATE class 22, data exception: an invalid byte
// sequence, a NUL character, a number out of range, a malformed date).
// The request that carried the value is at fault; the store is not down.
var ErrInputRejected = errors.New("database refused an input value")

// sqlStater is what the PostgreSQL drivers' errors implement.
type sqlStater interface{ SQLState() string }

// IsDataException reports an error PostgreSQL raised because of the data
// a statement was given (SQLSTATE class 22).
func IsDataException(err error) bool {
	var s sqlStater
	if !errors.As(err, &s) {
		return false
	}
	state := s.SQLState()
	return len(state) == 5 && state[:2] == "22"
}

// Fail wraps the error of a failed statement (what it did): with
// ErrInputRejected when PostgreSQL refused the input, otherwise with
// unavailable, the calling store's sentinel for an outage.
func Fail(unavailable error, what string, err error) error {
	if IsDataException(err) {
		return fmt.Errorf("%w: %s: %w", ErrInputRejected, what, err)
	}
	return fmt.Errorf("%w: %s: %w", unavailable, what, err)
}

// InTx runs fn in a transaction and commits when it returns nil. A failure
// to begin or commit is classified by Fail; fn's own error is returned as
// it is.
func InTx(ctx context.Context, db *sqlx.DB, unavailable error, fn func(*sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Fail(unavailable, "begin", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return Fail(unavailable, "commit", err)
	}
	return nil
}
