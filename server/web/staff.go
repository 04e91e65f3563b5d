package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// The staff pages live under /intern. One middleware (staffSession)
// reads the login session of every request there and checks the form
// token of every POST; staffPage admits the roles of a page. Pages render
// with renderStaff, which adds the staff navigation to the common layout.

// Accounts is the staff accounts' logic (account.Service).
type Accounts interface {
	Login(ctx context.Context, login, password, addr string) (*account.Account, string, error)
	Session(ctx context.Context, id string) (*account.Session, *account.Account, error)
	Logout(ctx context.Context, id string) error
	SetDesk(ctx context.Context, id, desk string) error
	ChangePassword(ctx context.Context, accountID int64, sessionID, current, next string) error

	CreateToken(ctx context.Context, accountID int64, name string) (*account.Token, string, error)
	Tokens(ctx context.Context, accountID int64) ([]account.Token, error)
	RevokeToken(ctx context.Context, accountID, id int64) error

	Accounts(ctx context.Context) ([]account.Account, error)
	Account(ctx context.Context, id int64) (*account.Account, error)
	Create(ctx context.Context, n account.NewAccount) (*account.Account, error)
	Update(ctx context.Context, id int64, u account.Update) (*account.Account, error)
	ResetPassword(ctx context.Context, id int64, password string) error
}

// AuditLog records and lists the audit log (audit/postgres.Store).
type AuditLog interface {
	Append(ctx context.Context, e audit.Entry) (int64, error)
	List(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
}

const (
	// staffCookie holds the login session's secret id. SameSite=Strict:
	// no staff page needs to be entered logged in from another site; a
	// link from a mail shows the login page first, which then goes on.
	staffCookie = "termin_staff"
	loginPath   = "/intern/anmelden"
)

// staffSessionKey is where staffSession leaves the session it admitted.
type staffSessionKey struct{}

// secure tells whether cookies get the Secure attribute: on https, or
// always when the server is behind a TLS-terminating proxy (SecureCookies).
func (h *Handler) secure(c *fiber.Ctx) bool { return h.SecureCookies || c.Protocol() == "https" }

func (h *Handler) setStaffCookie(c *fiber.Ctx, id string) {
	c.Cookie(&fiber.Cookie{Name: staffCookie, Value: id, Path: "/intern", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: h.secure(c)})
}

func (h *Handler) clearStaffCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: staffCookie, Value: "", Path: "/intern", HTTPOnly: true, MaxAge: -1,
		Expires: time.Unix(0, 0), SameSite: fiber.CookieSameSiteStrictMode, Secure: h.secure(c)})
}

// staffOf makes the member of staff of an account and its session.
func staffOf(a *account.Account, sess *account.Session, sessionID string) *auth.Staff {
	s := &auth.Staff{AccountID: a.ID, Login: a.Login, Name: a.DisplayName, LocationID: a.LocationID, SessionID: sessionID}
	if sess != nil {
		s.Desk = sess.Desk
	}
	for _, r := range a.Roles {
		s.Roles = append(s.Roles, auth.Role(r))
	}
	return s
}

// sessionCSRF is the form token of a login session. It is derived from
// the secret session id, which no other site can read, so it needs no key
// and is the same on every replica.
func sessionCSRF(sessionID string) string {
	sum := sha256.Sum256([]byte("staff form token\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// staffSession runs before every route under /intern: it admits the login
// session (if any) as the member of staff StaffOf returns, keeps staff
// pages out of caches, and refuses a POST whose form token is missing or
// wrong: the session's token once logged in, the pre-session cookie token
// before (the login form).
func (h *Handler) staffSession(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	var staff *auth.Staff
	if id := c.Cookies(staffCookie); id != "" {
		sess, a, err := h.Accounts.Session(c.UserContext(), id)
		switch {
		case errors.Is(err, account.ErrNoSession):
			h.clearStaffCookie(c)
		case err != nil:
			return err
		default:
			staff = staffOf(a, sess, id)
			auth.SetStaff(c, staff)
		}
	}
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return c.Next()
	}
	if staff == nil && c.Path() != loginPath {
		// An ended session's form: nothing happens, log in again.
		return h.toLogin(c)
	}
	var ok bool
	if staff != nil {
		ok = subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(sessionCSRF(staff.SessionID))) == 1
	} else {
		ok = csrfOK(c)
	}
	if !ok {
		h.Log.InfoContext(c.UserContext(), "staff form without a valid token refused", "path", c.Path(), "account", accountIDOf(staff))
		return h.staffMessage(c, fiber.StatusForbidden, "staff_csrf_title", "staff_csrf_text")
	}
	return c.Next()
}

func accountIDOf(s *auth.Staff) int64 {
	if s == nil {
		return 0
	}
	return s.AccountID
}

// toLogin sends the browser to the login page, which comes back to this
// page (a GET's path and query; the start page after a POST).
func (h *Handler) toLogin(c *fiber.Ctx) error {
	back := "/intern"
	if c.Method() == fiber.MethodGet {
		back = string(c.Request().URI().RequestURI())
	}
	return c.Redirect(loginPath+"?weiter="+url.QueryEscape(back), fiber.StatusSeeOther)
}

// localStaffPath accepts only paths of the staff pages as a place to go
// after the login, so the login page cannot send anyone elsewhere.
func localStaffPath(p string) bool {
	if p != "/intern" && !strings.HasPrefix(p, "/intern/") && !strings.HasPrefix(p, "/intern?") {
		return false
	}
	return !strings.Contains(p, "//") && !strings.ContainsAny(p, "\\\r\n\t") && !strings.HasPrefix(p, loginPath) && len(p) <= 512
}

// staffPage admits a logged-in member of staff who holds at least one of
// roles (any member of staff when none are given): without a live session
// it sends the browser to the login page, lacking the role it answers 403.
// Location scoping is left to the handler (auth.Staff.AtLocation).
func (h *Handler) staffPage(roles ...auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s := auth.StaffOf(c)
		if s == nil || s.SessionID == "" {
			return h.toLogin(c)
		}
		if !s.HasAny(roles...) {
			return h.staffMessage(c, fiber.StatusForbidden, "staff_forbidden_title", "staff_forbidden_text")
		}
		return c.Next()
	}
}

// navEntry is one link of the staff navigation and the start page.
type navEntry struct {
	Href     string
	TitleKey string
	// TextKey describes the area on the start page ("" for none).
	TextKey string
	// Roles that see the link; empty: every member of staff.
	Roles []auth.Role
	// Order sorts the entries (lower first).
	Order int
}

// staffNav lists the areas of the staff pages; each area adds its own
// entries with addStaffNav in a file of its own.
var staffNav []navEntry

// addStaffNav adds entries to the staff navigation (use it as
// `var _ = addStaffNav(...)`).
func addStaffNav(entries ...navEntry) bool {
	staffNav = append(staffNav, entries...)
	slices.SortStableFunc(staffNav, func(a, b navEntry) int { return a.Order - b.Order })
	return true
}

// navLink is a navigation entry as a page shows it.
type navLink struct {
	Href, Title, Text string
	Current           bool
}

// navFor lists the navigation for s on the page at path.
func navFor(s *auth.Staff, t texts, path string) []navLink {
	var out []navLink
	for _, e := range staffNav {
		if !s.HasAny(e.Roles...) {
			continue
		}
		cur := path == e.Href || e.Href != "/intern" && strings.HasPrefix(path, e.Href+"/")
		out = append(out, navLink{Href: e.Href, Title: t.get(e.TitleKey), Text: t.get(e.TextKey), Current: cur})
	}
	return out
}

// summarizer is data that brings a form's error summary.
type summarizer interface{ summary() []fieldError }

// formProblems collects a form's errors: the summary at the top and the
// message next to each field (Field by the field's id). Embed it in a
// page's data; renderStaff shows the summary.
type formProblems struct {
	List  []fieldError
	Field map[string]string
}

func (p *formProblems) add(field, text string) {
	if p.Field == nil {
		p.Field = map[string]string{}
	}
	if _, dup := p.Field[field]; dup && field != "" {
		return
	}
	p.List = append(p.List, fieldError{field, text})
	if field != "" {
		p.Field[field] = text
	}
}

// Any reports whether there is an error.
func (p formProblems) Any() bool { return len(p.List) > 0 }

func (p formProblems) summary() []fieldError { return p.List }

// renderStaff renders a staff page: the common layout with the staff
// navigation (the links of the roles held), the language switch and the
// logout button. The template reads data as .D and the member of staff as
// .Staff; forms take their token from .CSRF. Data that embeds
// formProblems shows its error summary.
func (h *Handler) renderStaff(c *fiber.Ctx, status int, page, titleKey string, data any) error {
	v := h.newView(c, titleKey, stepNone)
	v.D = data
	v.StaffArea = true
	if s := auth.StaffOf(c); s != nil && s.SessionID != "" {
		v.Staff = s
		v.Nav = navFor(s, v.texts, c.Path())
		v.CSRF = sessionCSRF(s.SessionID)
	}
	if sm, ok := data.(summarizer); ok {
		v.Errors = sm.summary()
	}
	return h.render(c, status, page, v)
}

// staffMessage renders a short staff page of a title and a text.
func (h *Handler) staffMessage(c *fiber.Ctx, status int, titleKey, textKey string) error {
	t := textsFor(lang(c))
	links := []link{{"/intern", t.get("staff_to_start")}}
	if auth.StaffOf(c) == nil {
		links = []link{{loginPath, t.get("staff_login_title")}}
	}
	return h.renderStaff(c, status, "message", titleKey, messageData{Text: t.get(textKey), Links: links})
}

// setDesk stores the desk number chosen in this login session; the next
// request's Staff.Desk has it.
func (h *Handler) setDesk(c *fiber.Ctx, desk string) error {
	s := auth.StaffOf(c)
	if s == nil || s.SessionID == "" {
		return account.ErrNoSession
	}
	if err := h.Accounts.SetDesk(c.UserContext(), s.SessionID, desk); err != nil {
		return err
	}
	s.Desk = strings.TrimSpace(desk)
	return nil
}

// audit records a staff action in the audit log: who (the member of staff
// of the request), what (action, object and a short detail without
// citizen data beyond ids), when, and from which network. A failure to
// record is logged, not shown: the action itself has happened.
func (h *Handler) audit(c *fiber.Ctx, action, object, detail string) {
	if h.Audit == nil {
		return
	}
	e := audit.Entry{At: h.now(), Action: action, Object: object, Detail: detail}
	if s := auth.StaffOf(c); s != nil {
		e.AccountID, e.Login = s.AccountID, s.Login
	}
	if h.ClientAddr != nil {
		e.Address = audit.ShortenAddress(h.ClientAddr(c))
	} else {
		e.Address = audit.ShortenAddress(c.IP())
	}
	if _, err := h.Audit.Append(c.UserContext(), e); err != nil {
		h.Log.ErrorContext(c.UserContext(), "audit entry not recorded", "action", action, "account", e.AccountID, "err", err)
	}
}

// clientAddr is the address logins are counted by.
func (h *Handler) clientAddr(c *fiber.Ctx) string {
	if h.ClientAddr != nil {
		return h.ClientAddr(c)
	}
	return c.IP()
}

// zone is the city's time zone for the staff pages' times.
func (h *Handler) zone() *time.Location {
	if h.Zone != nil {
		return h.Zone
	}
	return time.UTC
}
