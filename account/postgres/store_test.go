package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/account"
	accountpg "github.com/digitale-verwaltung/termin/account/postgres"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

func newStore(t *testing.T) (*accountpg.Store, *sqlx.DB) {
	t.Helper()
	db, err := sqlx.Open("postgres", servicetest.DatabaseURL(t, accountpg.Migrations))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return accountpg.New(db), db
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func create(t *testing.T, s *accountpg.Store, login string, roles ...account.Role) *account.Account {
	t.Helper()
	a := &account.Account{Login: login, DisplayName: "Test " + login, Roles: roles, PasswordHash: "$argon2id$x", PasswordChangedAt: t0, CreatedAt: t0}
	id, err := s.CreateAccount(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	a.ID = id
	return a
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	admin := create(t, s, "admin", account.RoleAdmin)
	desk := create(t, s, "erika", account.RoleDesk, account.RoleDeskLead)
	if _, err := s.CreateAccount(ctx, &account.Account{Login: "erika", DisplayName: "x", Roles: []account.Role{account.RoleDesk}, PasswordHash: "h", PasswordChangedAt: t0, CreatedAt: t0}); !errors.Is(err, account.ErrLoginTaken) {
		t.Fatalf("second erika: %v", err)
	}
	got, err := s.AccountByLogin(ctx, "erika")
	if err != nil || got.ID != desk.ID || len(got.Roles) != 2 || got.Roles[1] != account.RoleDeskLead || !got.CreatedAt.Equal(t0) {
		t.Fatalf("by login: %+v %v", got, err)
	}
	if _, err := s.AccountByID(ctx, 999); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	// The last enabled administrator can neither be disabled nor demoted.
	admin.Disabled = true
	if err := s.UpdateAccount(ctx, admin); !errors.Is(err, account.ErrLastAdmin) {
		t.Fatalf("disable the last admin: %v", err)
	}
	admin.Disabled, admin.Roles = false, []account.Role{account.RoleFinance}
	if err := s.UpdateAccount(ctx, admin); !errors.Is(err, account.ErrLastAdmin) {
		t.Fatalf("demote the last admin: %v", err)
	}
	desk.Roles = []account.Role{account.RoleAdmin}
	desk.LocationID = "stadtbad"
	if err := s.UpdateAccount(ctx, desk); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAccount(ctx, admin); err != nil {
		t.Fatalf("demote with another admin: %v", err)
	}
	list, err := s.Accounts(ctx)
	if err != nil || len(list) != 2 || list[0].Login != "admin" || list[1].LocationID != "stadtbad" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestSessionsEndWithDisableAndPasswordChange(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	create(t, s, "admin", account.RoleAdmin)
	a := create(t, s, "erika", account.RoleDesk)
	h1, h2 := account.SessionHash("eins"), account.SessionHash("zwei")
	for _, h := range [][]byte{h1, h2} {
		if err := s.CreateSession(ctx, &account.Session{IDHash: h, AccountID: a.ID, CreatedAt: t0, LastSeen: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetSessionDesk(ctx, h1, "7"); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, h1, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, h1)
	if err != nil || got.Desk != "7" || !got.LastSeen.Equal(t0.Add(time.Minute)) || !bytes.Equal(got.IDHash, h1) {
		t.Fatalf("session: %+v %v", got, err)
	}
	if err := s.SetPassword(ctx, a.ID, "$argon2id$neu", t0, h1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, h2); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("other session after the password change: %v", err)
	}
	if _, err := s.Session(ctx, h1); err != nil {
		t.Fatalf("own session after the password change: %v", err)
	}
	a.Disabled = true
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, h1); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("session of a disabled account: %v", err)
	}
	if err := s.TouchSession(ctx, h1, t0); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("touch an ended session: %v", err)
	}
	// Expiry: idle and absolute.
	for i, sess := range []account.Session{
		{IDHash: account.SessionHash("alt"), CreatedAt: t0.Add(-13 * time.Hour), LastSeen: t0},
		{IDHash: account.SessionHash("still"), CreatedAt: t0, LastSeen: t0.Add(-3 * time.Hour)},
		{IDHash: account.SessionHash("frisch"), CreatedAt: t0, LastSeen: t0},
	} {
		sess.AccountID = 1
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatal(i, err)
		}
	}
	n, err := s.DeleteExpiredSessions(ctx, t0.Add(-2*time.Hour), t0.Add(-12*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("expired: %d %v", n, err)
	}
}

func TestFailuresSlideAndPrune(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	for i := range 4 {
		if err := s.RecordFailure(ctx, []string{"login:a", "addr:b"}, t0.Add(time.Duration(i)*time.Minute), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentFailures(ctx, "login:a", t0.Add(30*time.Second), 2)
	if err != nil || len(got) != 2 || !got[0].Equal(t0.Add(3*time.Minute)) || !got[1].Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("recent: %v %v", got, err)
	}
	if err := s.ClearFailures(ctx, "login:a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RecentFailures(ctx, "login:a", t0.Add(-time.Hour), 10); len(got) != 0 {
		t.Fatalf("after clear: %v", got)
	}
	// Recording prunes what left the window.
	if err := s.RecordFailure(ctx, []string{"addr:c"}, t0.Add(2*time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM staff_login_failures`); err != nil || n != 1 {
		t.Fatalf("rows after pruning: %d %v", n, err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := create(t, s, "kasse", account.RoleFinance)
	tok := &account.Token{AccountID: a.ID, Name: "Export", Hash: account.TokenHash("tmn_x"), CreatedAt: t0}
	id, err := s.CreateToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, account.TokenHash("tmn_x"))
	if err != nil || got.ID != id || !got.LastUsed.IsZero() || got.Revoked() {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, account.TokenHash("tmn_y")); !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	if err := s.TouchToken(ctx, id, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, a.ID+1, id, t0); !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("revoke by another account: %v", err)
	}
	if err := s.RevokeToken(ctx, a.ID, id, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, a.ID, id, t0); !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("revoke twice: %v", err)
	}
	list, err := s.Tokens(ctx, a.ID)
	if err != nil || len(list) != 1 || !list[0].LastUsed.Equal(t0.Add(time.Hour)) || !list[0].RevokedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("list: %+v %v", list, err)
	}
}
