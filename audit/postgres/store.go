// Package postgres is the audit log's PostgreSQL storage and migrations.
// It only inserts and reads; the table's trigger refuses changes.
package postgres

import (
	"context"
	"embed"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the audit log's schema migrations.
var Migrations = migrate.Embedded("audit", migrations, "migrations")

// Store implements audit.Store.
type Store struct{ db *sqlx.DB }

var _ audit.Store = (*Store)(nil)

// New uses db.
func New(db *sqlx.DB) *Store { return &Store{db: db} }

// Append writes one entry.
func (s *Store) Append(ctx context.Context, e audit.Entry) (int64, error) {
	e = e.Clean()
	var id int64
	if err := s.db.QueryRowxContext(ctx, `INSERT INTO audit_log (at, account_id, login, action, object, detail, address)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.At, e.AccountID, e.Login, e.Action, e.Object, e.Detail, e.Address).Scan(&id); err != nil {
		return 0, pgtx.Fail(audit.ErrStoreUnavailable, "append audit entry", err)
	}
	return id, nil
}

// List returns entries newest first.
func (s *Store) List(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Login != "" {
		where = append(where, "login = "+arg(f.Login))
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok && prefix != "" {
		where = append(where, "action LIKE "+arg(escapeLike(prefix)+".%"))
	} else if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Before > 0 {
		where = append(where, "id < "+arg(f.Before))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := `SELECT id, at, account_id, login, action, object, detail, address FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + arg(limit)
	var out []audit.Entry
	rows, err := s.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, pgtx.Fail(audit.ErrStoreUnavailable, "list audit entries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.ID, &e.At, &e.AccountID, &e.Login, &e.Action, &e.Object, &e.Detail, &e.Address); err != nil {
			return nil, pgtx.Fail(audit.ErrStoreUnavailable, "read audit entry", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, pgtx.Fail(audit.ErrStoreUnavailable, "list audit entries", err)
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
