package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Fakes for the staff pages' unit tests, without PostgreSQL:
//
//	accts := newFakeAccounts()
//	h := &Handler{Accounts: accts, Audit: &fakeAudit{}, Log: discardLog}
//	app := staffApp(h)
//	id := accts.session(t, auth.RoleDesk)           // a logged-in session
//	res := staffRequest(t, app, "POST", "/intern/...", id, url.Values{...}) // cookie and form token set

// fakeAccounts is an in-memory Accounts: accounts and their sessions.
type fakeAccounts struct {
	mu       sync.Mutex
	accounts map[int64]*account.Account
	sessions map[string]*account.Session
}

var _ Accounts = (*fakeAccounts)(nil)

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{accounts: map[int64]*account.Account{}, sessions: map[string]*account.Session{}}
}

// session makes an account with the roles and a session of it, and
// returns the session's secret id (the cookie's value).
func (f *fakeAccounts) session(t *testing.T, roles ...auth.Role) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	a := &account.Account{ID: int64(len(f.accounts) + 1), DisplayName: "Test"}
	a.Login = "test" + string(rune('0'+a.ID%10))
	for _, r := range roles {
		a.Roles = append(a.Roles, account.Role(r))
	}
	f.accounts[a.ID] = a
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	f.sessions[id] = &account.Session{AccountID: a.ID}
	return id
}

func (f *fakeAccounts) Session(_ context.Context, id string) (*account.Session, *account.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok || f.accounts[s.AccountID].Disabled {
		return nil, nil, account.ErrNoSession
	}
	sc, ac := *s, *f.accounts[s.AccountID]
	return &sc, &ac, nil
}

func (f *fakeAccounts) SetDesk(_ context.Context, id, desk string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return account.ErrNoSession
	}
	s.Desk = desk
	return nil
}

func (f *fakeAccounts) Logout(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, id)
	return nil
}

func (f *fakeAccounts) Account(_ context.Context, id int64) (*account.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return nil, account.ErrNotFound
	}
	c := *a
	return &c, nil
}

func (f *fakeAccounts) Accounts(context.Context) ([]account.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []account.Account
	for _, a := range f.accounts {
		out = append(out, *a)
	}
	return out, nil
}

func (f *fakeAccounts) Tokens(context.Context, int64) ([]account.Token, error) { return nil, nil }

// The rest is not needed by the fakes' users; it refuses.
func (f *fakeAccounts) Login(context.Context, string, string, string) (*account.Account, string, error) {
	return nil, "", account.ErrInvalidCredentials
}
func (f *fakeAccounts) ChangePassword(context.Context, int64, string, string, string) error {
	return account.ErrPasswordWrong
}
func (f *fakeAccounts) CreateToken(context.Context, int64, string) (*account.Token, string, error) {
	return nil, "", account.ErrTokenNameInvalid
}
func (f *fakeAccounts) RevokeToken(context.Context, int64, int64) error {
	return account.ErrTokenUnknown
}
func (f *fakeAccounts) Create(context.Context, account.NewAccount) (*account.Account, error) {
	return nil, account.ErrLoginInvalid
}
func (f *fakeAccounts) Update(context.Context, int64, account.Update) (*account.Account, error) {
	return nil, account.ErrNotFound
}
func (f *fakeAccounts) ResetPassword(context.Context, int64, string) error {
	return account.ErrNotFound
}

// fakeAudit keeps the entries recorded.
type fakeAudit struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *fakeAudit) Append(_ context.Context, e audit.Entry) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return int64(len(a.entries)), nil
}

func (a *fakeAudit) List(context.Context, audit.Filter) ([]audit.Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]audit.Entry, len(a.entries))
	for i, e := range a.entries {
		out[len(out)-1-i] = e
	}
	return out, nil
}

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// staffApp mounts the handler's pages on a bare application.
func staffApp(h *Handler) *fiber.App {
	if h.Log == nil {
		h.Log = discardLog
	}
	app := fiber.New()
	h.Routes(app)
	return app
}

// staffRequest sends a request with the session's cookie (none when
// sessionID is empty) and, for a form, the session's form token.
func staffRequest(t *testing.T, app *fiber.App, method, path, sessionID string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		if sessionID != "" && form.Get("csrf") == "" {
			form.Set("csrf", sessionCSRF(sessionID))
		}
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sessionID != "" {
		req.AddCookie(&http.Cookie{Name: staffCookie, Value: sessionID})
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestStaffMiddlewareWithFakes(t *testing.T) {
	accts, log := newFakeAccounts(), &fakeAudit{}
	h := &Handler{Accounts: accts, Audit: log}
	app := staffApp(h)
	desk, admin := accts.session(t, auth.RoleDesk), accts.session(t, auth.RoleAdmin)

	for _, tt := range []struct {
		method, path, session string
		form                  url.Values
		status                int
		location              string
	}{
		{"GET", "/intern", "", nil, 303, "/intern/anmelden?weiter=%2Fintern"},
		{"GET", "/intern", "not-a-session", nil, 303, "/intern/anmelden?weiter=%2Fintern"},
		{"GET", "/intern", desk, nil, 200, ""},
		{"GET", "/intern/protokoll", desk, nil, 403, ""},
		{"GET", "/intern/protokoll", admin, nil, 200, ""},
		{"POST", "/intern/konto/passwort", "", url.Values{}, 303, "/intern/anmelden?weiter=%2Fintern"},
		{"POST", "/intern/konto/passwort", desk, url.Values{"csrf": {"wrong"}}, 403, ""},
		{"POST", "/intern/konto/passwort", desk, url.Values{"csrf": {sessionCSRF(admin)}}, 403, ""}, // another session's token
		{"POST", "/intern/konto/passwort", desk, url.Values{}, 422, ""},
		{"POST", "/intern/abmelden", desk, url.Values{}, 303, "/intern/anmelden?abgemeldet=1"},
		{"GET", "/intern", desk, nil, 303, "/intern/anmelden?weiter=%2Fintern"}, // logged out
	} {
		res := staffRequest(t, app, tt.method, tt.path, tt.session, tt.form)
		if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, res.StatusCode, res.Header.Get("Location"), tt.status, tt.location)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", tt.method, tt.path, res.Header.Get("Cache-Control"))
		}
	}
	if len(log.entries) != 1 || log.entries[0].Action != "logout" || log.entries[0].Address != "0.0.0.0/24" {
		t.Fatalf("audit entries: %+v", log.entries)
	}
}

func TestSetDeskAndAudit(t *testing.T) {
	accts, log := newFakeAccounts(), &fakeAudit{}
	h := &Handler{Accounts: accts, Audit: log, Log: discardLog, ClientAddr: func(*fiber.Ctx) string { return "2001:db8:1:2::7" }}
	app := fiber.New()
	app.Use("/intern", h.staffSession)
	app.Post("/intern/desk", h.staffPage(auth.RoleDesk), func(c *fiber.Ctx) error {
		if err := h.setDesk(c, c.FormValue("desk")); err != nil {
			return err
		}
		h.audit(c, "desk.choose", "desk:"+auth.StaffOf(c).Desk, "")
		return c.SendString(auth.StaffOf(c).Desk)
	})
	id := accts.session(t, auth.RoleDeskLead)
	res := staffRequest(t, app, "POST", "/intern/desk", id, url.Values{"desk": {"3"}})
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) != "3" {
		t.Fatalf("set desk: %d %s", res.StatusCode, b)
	}
	if sess, _, _ := accts.Session(context.Background(), id); sess.Desk != "3" {
		t.Fatalf("desk not stored: %q", sess.Desk)
	}
	e := log.entries[0]
	if e.Action != "desk.choose" || e.Object != "desk:3" || e.AccountID != 1 || e.Address != "2001:db8:1::/48" {
		t.Fatalf("audit entry %+v", e)
	}
}
