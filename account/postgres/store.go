// Package postgres is the account package's PostgreSQL storage: staff
// accounts, sessions, failed logins and API tokens, and their migrations.
// The failure counters live here (not in a process) so that every server
// replica counts the same failures.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the account tables' schema migrations.
var Migrations = migrate.Embedded("account", migrations, "migrations")

// Store implements account.Store.
type Store struct{ db *sqlx.DB }

var _ account.Store = (*Store)(nil)

// New uses db.
func New(db *sqlx.DB) *Store { return &Store{db: db} }

func fail(what string, err error) error { return pgtx.Fail(account.ErrStoreUnavailable, what, err) }

// lastAdminLock serialises changes that could remove the last
// administrator.
const lastAdminLock = 7_441_023_101

type accountRow struct {
	ID                int64          `db:"id"`
	Login             string         `db:"login"`
	DisplayName       string         `db:"display_name"`
	Roles             pq.StringArray `db:"roles"`
	LocationID        string         `db:"location_id"`
	Disabled          bool           `db:"disabled"`
	PasswordHash      string         `db:"password_hash"`
	PasswordChangedAt time.Time      `db:"password_changed_at"`
	CreatedAt         time.Time      `db:"created_at"`
}

func (r accountRow) account() account.Account {
	a := account.Account{ID: r.ID, Login: r.Login, DisplayName: r.DisplayName, LocationID: r.LocationID,
		Disabled: r.Disabled, PasswordHash: r.PasswordHash, PasswordChangedAt: r.PasswordChangedAt, CreatedAt: r.CreatedAt}
	for _, role := range r.Roles {
		a.Roles = append(a.Roles, account.Role(role))
	}
	return a
}

func roleArray(roles []account.Role) pq.StringArray {
	out := make(pq.StringArray, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

const accountColumns = `id, login, display_name, roles, location_id, disabled, password_hash, password_changed_at, created_at`

func (s *Store) CreateAccount(ctx context.Context, a *account.Account) (int64, error) {
	var id int64
	err := s.db.QueryRowxContext(ctx, `INSERT INTO staff_accounts
		(login, display_name, roles, location_id, disabled, password_hash, password_changed_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		a.Login, a.DisplayName, roleArray(a.Roles), a.LocationID, a.Disabled, a.PasswordHash, a.PasswordChangedAt, a.CreatedAt).Scan(&id)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return 0, account.ErrLoginTaken
	}
	if err != nil {
		return 0, fail("create account", err)
	}
	return id, nil
}

func (s *Store) accountWhere(ctx context.Context, where string, arg any) (*account.Account, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, `SELECT `+accountColumns+` FROM staff_accounts WHERE `+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrNotFound
	}
	if err != nil {
		return nil, fail("read account", err)
	}
	a := r.account()
	return &a, nil
}

func (s *Store) AccountByID(ctx context.Context, id int64) (*account.Account, error) {
	return s.accountWhere(ctx, `id = $1`, id)
}

func (s *Store) AccountByLogin(ctx context.Context, login string) (*account.Account, error) {
	return s.accountWhere(ctx, `login = $1`, login)
}

func (s *Store) Accounts(ctx context.Context) ([]account.Account, error) {
	var rows []accountRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+accountColumns+` FROM staff_accounts ORDER BY login`); err != nil {
		return nil, fail("list accounts", err)
	}
	out := make([]account.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return out, nil
}

func (s *Store) UpdateAccount(ctx context.Context, a *account.Account) error {
	return pgtx.InTx(ctx, s.db, account.ErrStoreUnavailable, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lastAdminLock); err != nil {
			return fail("lock administrators", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET display_name = $2, roles = $3, location_id = $4, disabled = $5
			WHERE id = $1`, a.ID, a.DisplayName, roleArray(a.Roles), a.LocationID, a.Disabled)
		if err != nil {
			return fail("update account", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return account.ErrNotFound
		}
		var admins int
		if err := tx.GetContext(ctx, &admins, `SELECT count(*) FROM staff_accounts WHERE NOT disabled AND 'admin' = ANY (roles)`); err != nil {
			return fail("count administrators", err)
		}
		if admins == 0 {
			return account.ErrLastAdmin
		}
		if a.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE account_id = $1`, a.ID); err != nil {
				return fail("end sessions", err)
			}
		}
		return nil
	})
}

func (s *Store) SetPassword(ctx context.Context, id int64, hash string, at time.Time, keepSession []byte) error {
	return pgtx.InTx(ctx, s.db, account.ErrStoreUnavailable, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_accounts SET password_hash = $2, password_changed_at = $3 WHERE id = $1`, id, hash, at)
		if err != nil {
			return fail("set password", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return account.ErrNotFound
		}
		if keepSession == nil {
			keepSession = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE account_id = $1 AND id_hash <> $2`, id, keepSession); err != nil {
			return fail("end sessions", err)
		}
		return nil
	})
}

func (s *Store) RecordFailure(ctx context.Context, keys []string, at, forgetBefore time.Time) error {
	return pgtx.InTx(ctx, s.db, account.ErrStoreUnavailable, func(tx *sqlx.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO staff_login_failures (key, at) VALUES ($1, $2)`, k, at); err != nil {
				return fail("record failed login", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staff_login_failures WHERE at < $1`, forgetBefore); err != nil {
			return fail("forget failed logins", err)
		}
		return nil
	})
}

func (s *Store) RecentFailures(ctx context.Context, key string, since time.Time, n int) ([]time.Time, error) {
	var out []time.Time
	if err := s.db.SelectContext(ctx, &out, `SELECT at FROM staff_login_failures WHERE key = $1 AND at > $2
		ORDER BY at DESC LIMIT $3`, key, since, n); err != nil {
		return nil, fail("read failed logins", err)
	}
	return out, nil
}

func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM staff_login_failures WHERE key = $1`, key); err != nil {
		return fail("clear failed logins", err)
	}
	return nil
}

func (s *Store) CreateSession(ctx context.Context, sess *account.Session) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO staff_sessions (id_hash, account_id, desk, created_at, last_seen)
		VALUES ($1, $2, $3, $4, $5)`, sess.IDHash, sess.AccountID, sess.Desk, sess.CreatedAt, sess.LastSeen); err != nil {
		return fail("create session", err)
	}
	return nil
}

type sessionRow struct {
	IDHash    []byte    `db:"id_hash"`
	AccountID int64     `db:"account_id"`
	Desk      string    `db:"desk"`
	CreatedAt time.Time `db:"created_at"`
	LastSeen  time.Time `db:"last_seen"`
}

func (s *Store) Session(ctx context.Context, idHash []byte) (*account.Session, error) {
	var r sessionRow
	err := s.db.GetContext(ctx, &r, `SELECT id_hash, account_id, desk, created_at, last_seen FROM staff_sessions WHERE id_hash = $1`, idHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrNoSession
	}
	if err != nil {
		return nil, fail("read session", err)
	}
	return &account.Session{IDHash: r.IDHash, AccountID: r.AccountID, Desk: r.Desk, CreatedAt: r.CreatedAt, LastSeen: r.LastSeen}, nil
}

func (s *Store) sessionExec(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fail(what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return account.ErrNoSession
	}
	return nil
}

func (s *Store) TouchSession(ctx context.Context, idHash []byte, at time.Time) error {
	return s.sessionExec(ctx, "touch session", `UPDATE staff_sessions SET last_seen = $2 WHERE id_hash = $1`, idHash, at)
}

func (s *Store) SetSessionDesk(ctx context.Context, idHash []byte, desk string) error {
	return s.sessionExec(ctx, "set desk", `UPDATE staff_sessions SET desk = $2 WHERE id_hash = $1`, idHash, desk)
}

func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fail("delete session", err)
	}
	return nil
}

func (s *Store) DeleteExpiredSessions(ctx context.Context, idle, created time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE last_seen < $1 OR created_at < $2`, idle, created)
	if err != nil {
		return 0, fail("delete expired sessions", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

type tokenRow struct {
	ID        int64        `db:"id"`
	AccountID int64        `db:"account_id"`
	Name      string       `db:"name"`
	Hash      []byte       `db:"hash"`
	CreatedAt time.Time    `db:"created_at"`
	LastUsed  sql.NullTime `db:"last_used"`
	RevokedAt sql.NullTime `db:"revoked_at"`
}

func (r tokenRow) token() account.Token {
	return account.Token{ID: r.ID, AccountID: r.AccountID, Name: r.Name, Hash: r.Hash, CreatedAt: r.CreatedAt,
		LastUsed: r.LastUsed.Time, RevokedAt: r.RevokedAt.Time}
}

const tokenColumns = `id, account_id, name, hash, created_at, last_used, revoked_at`

func (s *Store) CreateToken(ctx context.Context, t *account.Token) (int64, error) {
	var id int64
	if err := s.db.QueryRowxContext(ctx, `INSERT INTO staff_api_tokens (account_id, name, hash, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, t.AccountID, t.Name, t.Hash, t.CreatedAt).Scan(&id); err != nil {
		return 0, fail("create token", err)
	}
	return id, nil
}

func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*account.Token, error) {
	var r tokenRow
	err := s.db.GetContext(ctx, &r, `SELECT `+tokenColumns+` FROM staff_api_tokens WHERE hash = $1`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, account.ErrTokenUnknown
	}
	if err != nil {
		return nil, fail("read token", err)
	}
	t := r.token()
	return &t, nil
}

func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE staff_api_tokens SET last_used = $2 WHERE id = $1`, id, at); err != nil {
		return fail("touch token", err)
	}
	return nil
}

func (s *Store) Tokens(ctx context.Context, accountID int64) ([]account.Token, error) {
	var rows []tokenRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+tokenColumns+` FROM staff_api_tokens WHERE account_id = $1
		ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC`, accountID); err != nil {
		return nil, fail("list tokens", err)
	}
	out := make([]account.Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

func (s *Store) RevokeToken(ctx context.Context, accountID, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE staff_api_tokens SET revoked_at = $3
		WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL`, id, accountID, at)
	if err != nil {
		return fail("revoke token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: token %d", account.ErrTokenUnknown, id)
	}
	return nil
}
