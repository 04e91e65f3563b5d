// Package account is the staff's accounts: logins with a display name,
// roles and an optional location scope, argon2id password hashes, the
// lockout after repeated failed logins (per account and per client
// address, counted in the store so that every replica agrees), sessions
// whose ids are stored only as hashes, and per-account API tokens for
// machines. Storage is behind Store; account/postgres implements it.
package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what an account may do.
type Role string

// The roles, with the names the store and the API use.
const (
	RoleDesk     Role = "desk"      // counter staff of a location
	RoleDeskLead Role = "desk_lead" // desk plus statistics and the tomorrow view
	RolePool     Role = "pool"      // pool entrance staff
	RoleFinance  Role = "finance"   // Stadtkasse
	RoleAdmin    Role = "admin"     // administration, accounts, audit log
)

// Roles lists every role in the order pages show them.
var Roles = []Role{RoleDesk, RoleDeskLead, RolePool, RoleFinance, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Account is a member of staff's account.
type Account struct {
	ID          int64
	Login       string
	DisplayName string
	Roles       []Role
	// LocationID scopes desk work to one location; "" means every one.
	LocationID string
	Disabled   bool
	// PasswordHash is the encoded argon2id hash (see Hash).
	PasswordHash      string
	PasswordChangedAt time.Time
	CreatedAt         time.Time
}

// Has reports whether a holds role.
func (a *Account) Has(role Role) bool { return a != nil && slices.Contains(a.Roles, role) }

// Session is a login of one browser. The id the browser holds is never
// stored: the store keeps its SHA-256 (IDHash).
type Session struct {
	IDHash    []byte
	AccountID int64
	// Desk is the desk number chosen in this session ("" until chosen).
	Desk      string
	CreatedAt time.Time
	LastSeen  time.Time
}

// Token is an API token of an account. Its secret is shown once when it is
// made; the store keeps only its SHA-256.
type Token struct {
	ID        int64
	AccountID int64
	Name      string
	Hash      []byte
	CreatedAt time.Time
	LastUsed  time.Time // zero: never used
	RevokedAt time.Time // zero: live
}

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// The outcomes callers tell apart.
var (
	// ErrInvalidCredentials answers every failed login alike: unknown
	// login, wrong password, disabled account.
	ErrInvalidCredentials = errors.New("account: login or password wrong")
	// ErrLockedOut answers a login while the account or the client address
	// is locked; errors.As gives the *LockoutError with the time to retry.
	ErrLockedOut = errors.New("account: too many failed logins")
	// ErrNoSession answers a session id that is unknown, ended or expired.
	ErrNoSession = errors.New("account: no such session")
	// ErrTokenUnknown answers an API token that is unknown or revoked, or
	// whose account is disabled.
	ErrTokenUnknown = errors.New("account: unknown API token")
	ErrNotFound     = errors.New("account: no such account")
	ErrLoginTaken   = errors.New("account: login already taken")
	ErrLoginInvalid = errors.New("account: login invalid")
	ErrNameInvalid  = errors.New("account: display name invalid")
	ErrRoleInvalid  = errors.New("account: unknown role")
	ErrNoRoles      = errors.New("account: an account needs at least one role")
	// ErrPasswordWrong answers a password change whose current password
	// is wrong.
	ErrPasswordWrong = errors.New("account: current password wrong")
	// ErrTokenNameInvalid answers an API token name that is empty or long.
	ErrTokenNameInvalid = errors.New("account: token name invalid")
	// ErrLastAdmin refuses to disable or demote the last enabled
	// administrator, which would lock everyone out of the accounts.
	ErrLastAdmin = errors.New("account: the last administrator cannot be disabled or lose the role")
	// ErrStoreUnavailable wraps an outage of the store.
	ErrStoreUnavailable = errors.New("account: store unavailable")
)

// LockoutError says until when logins are refused and why.
type LockoutError struct {
	Until time.Time
	// ByAddress is true when the client address is locked, not (only) the
	// account.
	ByAddress bool
}

func (e *LockoutError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLockedOut, e.Until.UTC().Format(time.RFC3339))
}

func (e *LockoutError) Unwrap() error { return ErrLockedOut }

// Limits of the fields.
const (
	MaxLoginLen     = 64
	MaxNameLen      = 100
	MaxTokenNameLen = 60
	MaxDeskLen      = 10
)

// NormalizeLogin returns the canonical form of a login (trimmed, lower
// case) or ErrLoginInvalid: 2 to 64 of a-z, 0-9, '.', '-', '_'.
func NormalizeLogin(login string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if len(l) < 2 || len(l) > MaxLoginLen {
		return "", ErrLoginInvalid
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return "", ErrLoginInvalid
		}
	}
	return l, nil
}

// checkName checks a display name: 1 to 100 characters, no control
// characters.
func checkName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || utf8.RuneCountInString(n) > MaxNameLen || !utf8.ValidString(n) {
		return "", ErrNameInvalid
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return "", ErrNameInvalid
		}
	}
	return n, nil
}

// checkRoles checks and orders a set of roles.
func checkRoles(roles []Role) ([]Role, error) {
	if len(roles) == 0 {
		return nil, ErrNoRoles
	}
	var out []Role
	for _, r := range Roles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	for _, r := range roles {
		if !r.Valid() {
			return nil, fmt.Errorf("%w: %q", ErrRoleInvalid, r)
		}
	}
	return out, nil
}

// Store keeps accounts, sessions, failed logins and tokens.
type Store interface {
	CreateAccount(ctx context.Context, a *Account) (int64, error) // ErrLoginTaken
	AccountByID(ctx context.Context, id int64) (*Account, error)  // ErrNotFound
	AccountByLogin(ctx context.Context, login string) (*Account, error)
	Accounts(ctx context.Context) ([]Account, error)
	// UpdateAccount writes display name, roles, location and disabled;
	// disabling ends every session of the account in the same
	// transaction. It refuses with ErrLastAdmin a change that leaves no
	// enabled administrator.
	UpdateAccount(ctx context.Context, a *Account) error
	// SetPassword writes a new hash and ends every session of the account
	// except keepSession (nil: all of them).
	SetPassword(ctx context.Context, id int64, hash string, at time.Time, keepSession []byte) error

	// RecordFailure notes a failed login under each key at at and forgets
	// failures older than forgetBefore.
	RecordFailure(ctx context.Context, keys []string, at, forgetBefore time.Time) error
	// RecentFailures returns the times of the newest n failures under key
	// after since, newest first.
	RecentFailures(ctx context.Context, key string, since time.Time, n int) ([]time.Time, error)
	ClearFailures(ctx context.Context, key string) error

	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session of that hash; ErrNoSession when none.
	Session(ctx context.Context, idHash []byte) (*Session, error)
	TouchSession(ctx context.Context, idHash []byte, at time.Time) error
	SetSessionDesk(ctx context.Context, idHash []byte, desk string) error
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredSessions removes sessions idle since before idle or
	// created before created.
	DeleteExpiredSessions(ctx context.Context, idle, created time.Time) (int64, error)

	CreateToken(ctx context.Context, t *Token) (int64, error)
	// TokenByHash returns a token, revoked or not; ErrTokenUnknown when none.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
	Tokens(ctx context.Context, accountID int64) ([]Token, error)
	// RevokeToken revokes a live token of that account; ErrTokenUnknown
	// when it has none of that id.
	RevokeToken(ctx context.Context, accountID, id int64, at time.Time) error
}
