package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Lockout bounds failed logins in a sliding window: after Failures
// failures within Window the account (or, after AddressFailures, the
// client address) is refused until the oldest of those failures leaves
// the window.
type Lockout struct {
	Failures        int
	AddressFailures int
	Window          time.Duration
}

// DefaultLockout: 5 failures per account or 20 per address in 15 minutes.
var DefaultLockout = Lockout{Failures: 5, AddressFailures: 20, Window: 15 * time.Minute}

// Service is the accounts' logic on a Store.
type Service struct {
	Store   Store
	Hashing HashParams
	Lockout Lockout
	// SessionIdle ends a session not used for that long; SessionMax ends
	// every session that long after its login.
	SessionIdle, SessionMax time.Duration
	// Key keys the hashes the failure counters use for logins and client
	// addresses, so the store holds neither in the clear. The same on
	// every replica.
	Key []byte
	Now func() time.Time

	dummyOnce sync.Once
	dummy     string
}

// NewService returns a service with the default parameters.
func NewService(store Store, key []byte) *Service {
	return &Service{Store: store, Hashing: DefaultHashParams, Lockout: DefaultLockout,
		SessionIdle: 2 * time.Hour, SessionMax: 12 * time.Hour, Key: key}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// NewAccount is what creating an account takes.
type NewAccount struct {
	Login, DisplayName, Password string
	Roles                        []Role
	LocationID                   string
}

// Create creates an account after checking its fields and password.
func (s *Service) Create(ctx context.Context, n NewAccount) (*Account, error) {
	login, err := NormalizeLogin(n.Login)
	if err != nil {
		return nil, err
	}
	name, err := checkName(n.DisplayName)
	if err != nil {
		return nil, err
	}
	roles, err := checkRoles(n.Roles)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(n.Password, login); err != nil {
		return nil, err
	}
	hash, err := Hash(n.Password, s.Hashing)
	if err != nil {
		return nil, err
	}
	now := s.now()
	a := &Account{Login: login, DisplayName: name, Roles: roles, LocationID: strings.TrimSpace(n.LocationID),
		PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now}
	id, err := s.Store.CreateAccount(ctx, a)
	if err != nil {
		return nil, err
	}
	a.ID = id
	return a, nil
}

// Update is an administrator's change of an account.
type Update struct {
	DisplayName string
	Roles       []Role
	LocationID  string
	Disabled    bool
}

// Update changes an account's name, roles, location and state; disabling
// ends its sessions.
func (s *Service) Update(ctx context.Context, id int64, u Update) (*Account, error) {
	a, err := s.Store.AccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.DisplayName, err = checkName(u.DisplayName); err != nil {
		return nil, err
	}
	if a.Roles, err = checkRoles(u.Roles); err != nil {
		return nil, err
	}
	a.LocationID, a.Disabled = strings.TrimSpace(u.LocationID), u.Disabled
	if err := s.Store.UpdateAccount(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Account returns an account by id.
func (s *Service) Account(ctx context.Context, id int64) (*Account, error) {
	return s.Store.AccountByID(ctx, id)
}

// Accounts lists every account.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) { return s.Store.Accounts(ctx) }

// ResetPassword sets a password chosen by an administrator and ends every
// session of the account.
func (s *Service) ResetPassword(ctx context.Context, id int64, password string) error {
	a, err := s.Store.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, a, password, nil)
}

// ChangePassword changes one's own password after checking the current
// one; every other session of the account ends, sessionID's stays.
func (s *Service) ChangePassword(ctx context.Context, id int64, sessionID, current, next string) error {
	a, err := s.Store.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	ok, err := Verify(current, a.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrPasswordWrong
	}
	return s.setPassword(ctx, a, next, SessionHash(sessionID))
}

func (s *Service) setPassword(ctx context.Context, a *Account, password string, keep []byte) error {
	if err := CheckPassword(password, a.Login); err != nil {
		return err
	}
	hash, err := Hash(password, s.Hashing)
	if err != nil {
		return err
	}
	return s.Store.SetPassword(ctx, a.ID, hash, s.now(), keep)
}

// failureKey names a failure counter without storing what it counts.
func (s *Service) failureKey(kind, value string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(kind + "\x00" + value))
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// lockedUntil returns when the counter under key lets logins through
// again, or zero when it does now.
func (s *Service) lockedUntil(ctx context.Context, key string, limit int, now time.Time) (time.Time, error) {
	if limit <= 0 {
		return time.Time{}, nil
	}
	times, err := s.Store.RecentFailures(ctx, key, now.Add(-s.Lockout.Window), limit)
	if err != nil {
		return time.Time{}, err
	}
	if len(times) < limit {
		return time.Time{}, nil
	}
	// The oldest of the newest limit failures leaves the window first.
	return times[limit-1].Add(s.Lockout.Window), nil
}

// checkLockout refuses a login while the account or the address is locked.
func (s *Service) checkLockout(ctx context.Context, loginKey, addrKey string, now time.Time) error {
	untilLogin, err := s.lockedUntil(ctx, loginKey, s.Lockout.Failures, now)
	if err != nil {
		return err
	}
	untilAddr, err := s.lockedUntil(ctx, addrKey, s.Lockout.AddressFailures, now)
	if err != nil {
		return err
	}
	switch {
	case untilAddr.After(untilLogin):
		return &LockoutError{Until: untilAddr, ByAddress: true}
	case !untilLogin.IsZero():
		return &LockoutError{Until: untilLogin}
	}
	return nil
}

// dummyHash is verified for unknown logins, so they cost as much time as
// known ones and the answer's timing does not tell them apart.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = Hash("not a password of anyone", s.Hashing)
	})
	return s.dummy
}

// Login checks a login and password from a client address and starts a
// session. It returns the session's secret id for the cookie. Every
// failure is ErrInvalidCredentials, or a *LockoutError (ErrLockedOut).
func (s *Service) Login(ctx context.Context, login, password, addr string) (*Account, string, error) {
	now := s.now()
	norm, normErr := NormalizeLogin(login)
	if normErr != nil {
		norm = strings.ToLower(strings.TrimSpace(login)) // counted all the same
	}
	loginKey, addrKey := s.failureKey("login", norm), s.failureKey("addr", addr)
	if err := s.checkLockout(ctx, loginKey, addrKey, now); err != nil {
		return nil, "", err
	}
	var a *Account
	if normErr == nil { // no account has a malformed login
		var err error
		if a, err = s.Store.AccountByLogin(ctx, norm); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
	}
	hash := s.dummyHash()
	if a != nil {
		hash = a.PasswordHash
	}
	ok, verr := Verify(password, hash)
	if a == nil || a.Disabled || !ok || verr != nil || len(password) > 4*MaxPasswordLen {
		if err := s.Store.RecordFailure(ctx, []string{loginKey, addrKey}, now, now.Add(-s.Lockout.Window)); err != nil {
			return nil, "", err
		}
		// This failure may be the one that locks: say so now.
		if err := s.checkLockout(ctx, loginKey, addrKey, now); err != nil {
			return nil, "", err
		}
		return nil, "", ErrInvalidCredentials
	}
	if err := s.Store.ClearFailures(ctx, loginKey); err != nil {
		return nil, "", err
	}
	id, err := randomSecret(32)
	if err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateSession(ctx, &Session{IDHash: SessionHash(id), AccountID: a.ID, CreatedAt: now, LastSeen: now}); err != nil {
		return nil, "", err
	}
	return a, id, nil
}

// touchEvery is how often a session's last use is written: seldom enough
// that each page view is not a write, often enough for the idle expiry.
const touchEvery = time.Minute

// Session returns the live session of a secret id with its account,
// refreshing its last use; ErrNoSession when it is unknown, expired, or
// its account is disabled.
func (s *Service) Session(ctx context.Context, id string) (*Session, *Account, error) {
	if !validSecret(id) {
		return nil, nil, ErrNoSession
	}
	h := SessionHash(id)
	sess, err := s.Store.Session(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if now.Sub(sess.LastSeen) > s.SessionIdle || now.Sub(sess.CreatedAt) > s.SessionMax {
		if err := s.Store.DeleteSession(ctx, h); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrNoSession
	}
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	if a.Disabled {
		return nil, nil, ErrNoSession
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.Store.TouchSession(ctx, h, now); err != nil {
			return nil, nil, err
		}
		sess.LastSeen = now
	}
	return sess, a, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, id string) error {
	if !validSecret(id) {
		return nil
	}
	return s.Store.DeleteSession(ctx, SessionHash(id))
}

// ErrDeskInvalid answers a desk number that is empty, long or odd.
var ErrDeskInvalid = errors.New("account: desk number invalid")

// SetDesk stores the desk number chosen in a session.
func (s *Service) SetDesk(ctx context.Context, id, desk string) error {
	desk = strings.TrimSpace(desk)
	if desk == "" || len(desk) > MaxDeskLen {
		return ErrDeskInvalid
	}
	for _, r := range desk {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == ' ') {
			return ErrDeskInvalid
		}
	}
	if !validSecret(id) {
		return ErrNoSession
	}
	return s.Store.SetSessionDesk(ctx, SessionHash(id), desk)
}

// ExpireSessions deletes sessions past their idle or absolute expiry.
func (s *Service) ExpireSessions(ctx context.Context) (int64, error) {
	now := s.now()
	return s.Store.DeleteExpiredSessions(ctx, now.Add(-s.SessionIdle), now.Add(-s.SessionMax))
}

// tokenPrefix marks the project's API tokens, so a leaked one is
// recognisable (secret scanners) and told apart from the bootstrap key.
const tokenPrefix = "tmn_"

// CreateToken makes an API token for an account and returns its secret,
// the only time it is shown.
func (s *Service) CreateToken(ctx context.Context, accountID int64, name string) (*Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > MaxTokenNameLen {
		return nil, "", ErrTokenNameInvalid
	}
	if _, err := checkName(name); err != nil {
		return nil, "", ErrTokenNameInvalid
	}
	secret, err := randomSecret(32)
	if err != nil {
		return nil, "", err
	}
	secret = tokenPrefix + secret
	t := &Token{AccountID: accountID, Name: name, Hash: TokenHash(secret), CreatedAt: s.now()}
	if t.ID, err = s.Store.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens lists an account's tokens, revoked ones included.
func (s *Service) Tokens(ctx context.Context, accountID int64) ([]Token, error) {
	return s.Store.Tokens(ctx, accountID)
}

// RevokeToken revokes one of an account's tokens.
func (s *Service) RevokeToken(ctx context.Context, accountID, id int64) error {
	return s.Store.RevokeToken(ctx, accountID, id, s.now())
}

// Authenticate returns the account of a live API token and notes its use;
// ErrTokenUnknown for anything else.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Account, *Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || !validSecret(strings.TrimPrefix(secret, tokenPrefix)) {
		return nil, nil, ErrTokenUnknown
	}
	t, err := s.Store.TokenByHash(ctx, TokenHash(secret))
	if err != nil {
		return nil, nil, err
	}
	if t.Revoked() {
		return nil, nil, ErrTokenUnknown
	}
	a, err := s.Store.AccountByID(ctx, t.AccountID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrTokenUnknown
	}
	if err != nil {
		return nil, nil, err
	}
	if a.Disabled {
		return nil, nil, ErrTokenUnknown
	}
	if now := s.now(); now.Sub(t.LastUsed) >= touchEvery {
		if err := s.Store.TouchToken(ctx, t.ID, now); err != nil {
			return nil, nil, err
		}
		t.LastUsed = now
	}
	return a, t, nil
}

// IsToken reports whether a bearer token has the form of an account's API
// token (it may still be unknown).
func IsToken(secret string) bool { return strings.HasPrefix(secret, tokenPrefix) }

// SessionHash is what the store keeps of a session id.
func SessionHash(id string) []byte { h := sha256.Sum256([]byte("session\x00" + id)); return h[:] }

// TokenHash is what the store keeps of an API token. The secrets carry 256
// random bits, so an unsalted, fast hash suffices: there is nothing to
// guess.
func TokenHash(secret string) []byte { h := sha256.Sum256([]byte("token\x00" + secret)); return h[:] }

// secretLen is the length of a base64url-encoded 32-byte secret.
const secretLen = 43

func randomSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func validSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
