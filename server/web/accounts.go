package web

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/audit"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// The accounts area: login and logout, the start page, one's own account
// (password, API tokens), the administration of accounts and the audit
// log.

var _ = addStaffNav(
	navEntry{Href: "/intern", TitleKey: "staff_start_title", Order: 0},
	navEntry{Href: "/intern/verwaltung/konten", TitleKey: "acct_admin_title", TextKey: "acct_admin_text", Roles: []auth.Role{auth.RoleAdmin}, Order: 80},
	navEntry{Href: "/intern/protokoll", TitleKey: "audit_title", TextKey: "audit_text", Roles: []auth.Role{auth.RoleAdmin}, Order: 90},
	navEntry{Href: "/intern/konto", TitleKey: "acct_own_title", TextKey: "acct_own_text", Order: 100},
)

func (h *Handler) accountRoutes(app fiber.Router) {
	app.Get(loginPath, h.loginForm)
	app.Post(loginPath, h.login)
	app.Post("/intern/abmelden", h.logout)
	app.Get("/intern", h.staffPage(), h.staffStart)
	app.Get("/intern/konto", h.staffPage(), h.ownAccount)
	app.Post("/intern/konto/passwort", h.staffPage(), h.changePassword)
	app.Post("/intern/konto/tokens", h.staffPage(), h.createToken)
	app.Post("/intern/konto/tokens/:id/widerrufen", h.staffPage(), h.revokeToken)
	admin := h.staffPage(auth.RoleAdmin)
	app.Get("/intern/verwaltung/konten", admin, h.accountList)
	app.Post("/intern/verwaltung/konten", admin, h.createAccount)
	app.Get("/intern/verwaltung/konten/:id", admin, h.accountEdit)
	app.Post("/intern/verwaltung/konten/:id", admin, h.updateAccount)
	app.Post("/intern/verwaltung/konten/:id/sperren", admin, h.disableAccount)
	app.Post("/intern/verwaltung/konten/:id/freigeben", admin, h.enableAccount)
	app.Post("/intern/verwaltung/konten/:id/passwort", admin, h.resetPassword)
	app.Get("/intern/protokoll", admin, h.auditLog)
}

type loginData struct {
	formProblems
	Login, Next string
	LoggedOut   bool
}

func nextOf(c *fiber.Ctx) string {
	next := c.FormValue("weiter")
	if next == "" {
		next = c.Query("weiter")
	}
	if !localStaffPath(next) {
		return "/intern"
	}
	return next
}

func (h *Handler) loginForm(c *fiber.Ctx) error {
	if s := auth.StaffOf(c); s != nil {
		return c.Redirect(nextOf(c), fiber.StatusSeeOther)
	}
	h.csrf(c) // the pre-session token of the form
	return h.renderStaff(c, fiber.StatusOK, "staff_login", "staff_login_title",
		loginData{Next: nextOf(c), LoggedOut: c.Query("abgemeldet") == "1"})
}

// login checks login and password. Its refusals never say whether the
// login exists; a lockout says from when logins work again.
func (h *Handler) login(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	d := loginData{Login: strings.TrimSpace(c.FormValue("login")), Next: nextOf(c)}
	password := c.FormValue("password")
	if d.Login == "" {
		d.add("login", t.get("staff_err_login_empty"))
	}
	if password == "" {
		d.add("password", t.get("staff_err_password_empty"))
	}
	if d.Any() {
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, "staff_login", "staff_login_title", d)
	}
	ctx := c.UserContext()
	a, id, err := h.Accounts.Login(ctx, d.Login, password, h.clientAddr(c))
	var locked *account.LockoutError
	switch {
	case errors.As(err, &locked):
		h.audit(c, "login.locked", "", lockKind(locked))
		until := locked.Until.In(h.zone())
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(time.Until(locked.Until).Seconds()+0.5))))
		d.add("login", t.f("staff_err_locked", t.clock(until)))
		return h.renderStaff(c, fiber.StatusTooManyRequests, "staff_login", "staff_login_title", d)
	case errors.Is(err, account.ErrInvalidCredentials):
		h.audit(c, "login.failed", "", "")
		d.add("login", t.get("staff_err_credentials"))
		return h.renderStaff(c, fiber.StatusUnauthorized, "staff_login", "staff_login_title", d)
	case err != nil:
		return err
	}
	h.setStaffCookie(c, id)
	auth.SetStaff(c, staffOf(a, nil, id))
	h.audit(c, "login", accountObject(a.ID), "")
	h.Log.InfoContext(ctx, "staff login", "account", a.ID)
	return c.Redirect(d.Next, fiber.StatusSeeOther)
}

func lockKind(l *account.LockoutError) string {
	if l.ByAddress {
		return "address"
	}
	return "account"
}

func accountObject(id int64) string { return "account:" + strconv.FormatInt(id, 10) }

func (h *Handler) logout(c *fiber.Ctx) error {
	s := auth.StaffOf(c)
	if s != nil {
		if err := h.Accounts.Logout(c.UserContext(), s.SessionID); err != nil {
			return err
		}
		h.audit(c, "logout", accountObject(s.AccountID), "")
	}
	h.clearStaffCookie(c)
	return c.Redirect(loginPath+"?abgemeldet=1", fiber.StatusSeeOther)
}

type startData struct {
	Areas []navLink
}

func (h *Handler) staffStart(c *fiber.Ctx) error {
	s := auth.StaffOf(c)
	var areas []navLink
	for _, l := range navFor(s, textsFor(lang(c)), "") {
		if l.Href != "/intern" {
			areas = append(areas, l)
		}
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_start", "staff_start_title", startData{Areas: areas})
}

// tokenView is an API token as the account page lists it.
type tokenView struct {
	ID                      int64
	Name, Created, LastUsed string
	Revoked                 bool
}

type ownAccountData struct {
	formProblems
	Roles []string
	// Location is the location scope's name ("" for every location).
	Location string
	Tokens   []tokenView
	// NewToken is the secret of a token just made, shown this once.
	NewToken, NewTokenName string
	TokenName              string
	Notice                 string
}

func (h *Handler) ownAccountData(c *fiber.Ctx) (ownAccountData, error) {
	s := auth.StaffOf(c)
	t := textsFor(lang(c))
	d := ownAccountData{Location: h.locationName(s.LocationID)}
	for _, r := range s.Roles {
		d.Roles = append(d.Roles, t.get("role_"+string(r)))
	}
	tokens, err := h.Accounts.Tokens(c.UserContext(), s.AccountID)
	if err != nil {
		return d, err
	}
	for _, tk := range tokens {
		v := tokenView{ID: tk.ID, Name: tk.Name, Created: h.when(t, tk.CreatedAt), LastUsed: t.get("acct_token_never"), Revoked: tk.Revoked()}
		if !tk.LastUsed.IsZero() {
			v.LastUsed = h.when(t, tk.LastUsed)
		}
		d.Tokens = append(d.Tokens, v)
	}
	switch c.Query("ok") {
	case "passwort":
		d.Notice = t.get("acct_pw_changed")
	case "widerrufen":
		d.Notice = t.get("acct_token_revoked")
	}
	return d, nil
}

// when writes a time of the staff pages: "01.12.2026, 14:05".
func (h *Handler) when(t texts, at time.Time) string {
	at = at.In(h.zone())
	if t.lang == "de" {
		return at.Format("02.01.2006, 15:04")
	}
	return at.Format("2006-01-02 15:04")
}

func (h *Handler) locationName(id string) string {
	if id == "" {
		return ""
	}
	if h.Catalog != nil {
		for _, l := range h.Catalog.Locations() {
			if l.ID == id {
				return l.Name
			}
		}
	}
	return id
}

func (h *Handler) ownAccount(c *fiber.Ctx) error {
	d, err := h.ownAccountData(c)
	if err != nil {
		return err
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_account", "acct_own_title", d)
}

// passwordProblem is the text of a password rule's refusal.
func passwordProblem(t texts, err error) (string, bool) {
	for _, p := range []struct {
		err error
		key string
	}{
		{account.ErrPasswordShort, "acct_err_pw_short"}, {account.ErrPasswordLong, "acct_err_pw_long"},
		{account.ErrPasswordLogin, "acct_err_pw_login"}, {account.ErrPasswordCommon, "acct_err_pw_common"},
		{account.ErrPasswordInvalid, "acct_err_pw_invalid"},
	} {
		if errors.Is(err, p.err) {
			if p.key == "acct_err_pw_short" || p.key == "acct_err_pw_long" {
				return t.f(p.key, account.MinPasswordLen, account.MaxPasswordLen), true
			}
			return t.get(p.key), true
		}
	}
	return "", false
}

func (h *Handler) changePassword(c *fiber.Ctx) error {
	s := auth.StaffOf(c)
	t := textsFor(lang(c))
	current, next, confirm := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	var p formProblems
	if current == "" {
		p.add("pw-current", t.get("acct_err_pw_current_empty"))
	}
	if next != confirm {
		p.add("pw-confirm", t.get("acct_err_pw_confirm"))
	}
	if !p.Any() {
		err := h.Accounts.ChangePassword(c.UserContext(), s.AccountID, s.SessionID, current, next)
		if msg, ok := passwordProblem(t, err); ok {
			p.add("pw-new", msg)
		} else if errors.Is(err, account.ErrPasswordWrong) {
			p.add("pw-current", t.get("acct_err_pw_wrong"))
		} else if err != nil {
			return err
		}
	}
	if p.Any() {
		d, err := h.ownAccountData(c)
		if err != nil {
			return err
		}
		d.formProblems = p
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, "staff_account", "acct_own_title", d)
	}
	h.audit(c, "password.change", accountObject(s.AccountID), "other sessions ended")
	h.Log.InfoContext(c.UserContext(), "staff password changed", "account", s.AccountID)
	return c.Redirect("/intern/konto?ok=passwort", fiber.StatusSeeOther)
}

func (h *Handler) createToken(c *fiber.Ctx) error {
	s := auth.StaffOf(c)
	t := textsFor(lang(c))
	name := strings.TrimSpace(c.FormValue("name"))
	tok, secret, err := h.Accounts.CreateToken(c.UserContext(), s.AccountID, name)
	var p formProblems
	switch {
	case errors.Is(err, account.ErrTokenNameInvalid):
		p.add("token-name", t.f("acct_err_token_name", account.MaxTokenNameLen))
	case err != nil:
		return err
	}
	d, derr := h.ownAccountData(c)
	if derr != nil {
		return derr
	}
	if p.Any() {
		d.formProblems, d.TokenName = p, name
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, "staff_account", "acct_own_title", d)
	}
	h.audit(c, "token.create", "token:"+strconv.FormatInt(tok.ID, 10), "")
	// Shown once, on this answer to the POST: never in a URL or a log.
	d.NewToken, d.NewTokenName = secret, tok.Name
	return h.renderStaff(c, fiber.StatusOK, "staff_account", "acct_own_title", d)
}

func (h *Handler) revokeToken(c *fiber.Ctx) error {
	s := auth.StaffOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "not_found")
	}
	err = h.Accounts.RevokeToken(c.UserContext(), s.AccountID, id)
	if errors.Is(err, account.ErrTokenUnknown) {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "acct_token_unknown")
	}
	if err != nil {
		return err
	}
	h.audit(c, "token.revoke", "token:"+strconv.FormatInt(id, 10), "")
	return c.Redirect("/intern/konto?ok=widerrufen", fiber.StatusSeeOther)
}

// accountRow is an account as the administration lists it.
type accountRow struct {
	ID                    int64
	Login, Name, Location string
	Roles                 []string
	Disabled              bool
}

// roleChoice is one checkbox of the roles.
type roleChoice struct {
	Value, Label string
	Checked      bool
}

// locationChoice is one option of the location scope.
type locationChoice struct {
	Value, Label string
	Selected     bool
}

// accountForm is the fields of the create and edit forms, as entered.
type accountForm struct {
	Login, Name string
	Roles       []roleChoice
	Locations   []locationChoice
	Disabled    bool
}

type accountListData struct {
	formProblems
	Accounts []accountRow
	Form     accountForm
	Notice   string
}

func (h *Handler) accountFormOf(t texts, login, name string, roles []account.Role, location string) accountForm {
	f := accountForm{Login: login, Name: name}
	for _, r := range account.Roles {
		f.Roles = append(f.Roles, roleChoice{Value: string(r), Label: t.get("role_" + string(r)), Checked: slices.Contains(roles, r)})
	}
	f.Locations = []locationChoice{{Value: "", Label: t.get("acct_location_all"), Selected: location == ""}}
	if h.Catalog != nil {
		for _, l := range h.Catalog.Locations() {
			f.Locations = append(f.Locations, locationChoice{Value: l.ID, Label: l.Name, Selected: l.ID == location})
		}
	}
	return f
}

func (h *Handler) knownLocation(id string) bool {
	if id == "" {
		return true
	}
	if h.Catalog == nil {
		return false
	}
	return slices.ContainsFunc(h.Catalog.Locations(), func(l booking.Location) bool { return l.ID == id })
}

func (h *Handler) accountListData(c *fiber.Ctx, t texts) (accountListData, error) {
	list, err := h.Accounts.Accounts(c.UserContext())
	if err != nil {
		return accountListData{}, err
	}
	d := accountListData{Form: h.accountFormOf(t, "", "", nil, "")}
	for _, a := range list {
		row := accountRow{ID: a.ID, Login: a.Login, Name: a.DisplayName, Location: h.locationName(a.LocationID), Disabled: a.Disabled}
		if row.Location == "" {
			row.Location = t.get("acct_location_all")
		}
		for _, r := range a.Roles {
			row.Roles = append(row.Roles, t.get("role_"+string(r)))
		}
		d.Accounts = append(d.Accounts, row)
	}
	switch c.Query("ok") {
	case "angelegt":
		d.Notice = t.get("acct_created")
	}
	return d, nil
}

func (h *Handler) accountList(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	d, err := h.accountListData(c, t)
	if err != nil {
		return err
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_accounts", "acct_admin_title", d)
}

func formRoles(c *fiber.Ctx) []account.Role {
	var roles []account.Role
	for _, v := range c.Request().PostArgs().PeekMulti("roles") {
		roles = append(roles, account.Role(v))
	}
	return roles
}

// accountProblem turns a refusal of the accounts into a field's message.
func accountProblem(t texts, p *formProblems, err error, pwField string) bool {
	if msg, ok := passwordProblem(t, err); ok {
		p.add(pwField, msg)
		return true
	}
	for _, m := range []struct {
		err        error
		field, key string
	}{
		{account.ErrLoginInvalid, "login", "acct_err_login"},
		{account.ErrLoginTaken, "login", "acct_err_login_taken"},
		{account.ErrNameInvalid, "name", "acct_err_name"},
		{account.ErrNoRoles, "role-desk", "acct_err_roles"},
		{account.ErrRoleInvalid, "role-desk", "acct_err_roles"},
		{account.ErrLastAdmin, "role-admin", "acct_err_last_admin"},
	} {
		if errors.Is(err, m.err) {
			p.add(m.field, t.get(m.key))
			return true
		}
	}
	return false
}

func (h *Handler) createAccount(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	n := account.NewAccount{Login: c.FormValue("login"), DisplayName: c.FormValue("name"), Password: c.FormValue("password"),
		Roles: formRoles(c), LocationID: c.FormValue("location")}
	var p formProblems
	var created *account.Account
	if !h.knownLocation(n.LocationID) {
		p.add("location", t.get("acct_err_location"))
	} else {
		var err error
		created, err = h.Accounts.Create(c.UserContext(), n)
		if err != nil && !accountProblem(t, &p, err, "password") {
			return err
		}
	}
	if p.Any() {
		d, err := h.accountListData(c, t)
		if err != nil {
			return err
		}
		d.formProblems = p
		d.Form = h.accountFormOf(t, n.Login, n.DisplayName, n.Roles, n.LocationID)
		return h.renderStaff(c, fiber.StatusUnprocessableEntity, "staff_accounts", "acct_admin_title", d)
	}
	h.audit(c, "account.create", accountObject(created.ID), "roles "+rolesDetail(created.Roles)+locationDetail(created.LocationID))
	return c.Redirect("/intern/verwaltung/konten?ok=angelegt", fiber.StatusSeeOther)
}

func rolesDetail(roles []account.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func locationDetail(id string) string {
	if id == "" {
		return ""
	}
	return "; location " + id
}

type accountEditData struct {
	formProblems
	ID       int64
	Login    string
	Form     accountForm
	Disabled bool
	Notice   string
}

func (h *Handler) editTarget(c *fiber.Ctx) (*account.Account, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, account.ErrNotFound
	}
	return h.Accounts.Account(c.UserContext(), id)
}

func (h *Handler) renderEdit(c *fiber.Ctx, status int, a *account.Account, p formProblems, form *accountForm) error {
	t := textsFor(lang(c))
	d := accountEditData{formProblems: p, ID: a.ID, Login: a.Login, Disabled: a.Disabled}
	if form != nil {
		d.Form = *form
	} else {
		d.Form = h.accountFormOf(t, a.Login, a.DisplayName, a.Roles, a.LocationID)
	}
	switch c.Query("ok") {
	case "gespeichert":
		d.Notice = t.get("staff_saved")
	case "gesperrt":
		d.Notice = t.get("acct_disabled_notice")
	case "freigegeben":
		d.Notice = t.get("acct_enabled_notice")
	case "passwort":
		d.Notice = t.get("acct_pw_reset_notice")
	}
	return h.renderStaff(c, status, "staff_account_edit", "acct_edit_title", d)
}

func (h *Handler) accountEdit(c *fiber.Ctx) error {
	a, err := h.editTarget(c)
	if errors.Is(err, account.ErrNotFound) {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "acct_unknown")
	}
	if err != nil {
		return err
	}
	return h.renderEdit(c, fiber.StatusOK, a, formProblems{}, nil)
}

func (h *Handler) updateAccount(c *fiber.Ctx) error {
	return h.changeAccount(c, func(a *account.Account) account.Update {
		return account.Update{DisplayName: c.FormValue("name"), Roles: formRoles(c), LocationID: c.FormValue("location"), Disabled: a.Disabled}
	}, "account.update", "gespeichert")
}

func (h *Handler) disableAccount(c *fiber.Ctx) error {
	return h.changeAccount(c, func(a *account.Account) account.Update {
		return account.Update{DisplayName: a.DisplayName, Roles: a.Roles, LocationID: a.LocationID, Disabled: true}
	}, "account.disable", "gesperrt")
}

func (h *Handler) enableAccount(c *fiber.Ctx) error {
	return h.changeAccount(c, func(a *account.Account) account.Update {
		return account.Update{DisplayName: a.DisplayName, Roles: a.Roles, LocationID: a.LocationID, Disabled: false}
	}, "account.enable", "freigegeben")
}

// changeAccount applies an administrator's change to an account.
func (h *Handler) changeAccount(c *fiber.Ctx, change func(*account.Account) account.Update, action, ok string) error {
	t := textsFor(lang(c))
	a, err := h.editTarget(c)
	if errors.Is(err, account.ErrNotFound) {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "acct_unknown")
	}
	if err != nil {
		return err
	}
	u := change(a)
	var p formProblems
	if !h.knownLocation(u.LocationID) {
		p.add("location", t.get("acct_err_location"))
	} else if _, err := h.Accounts.Update(c.UserContext(), a.ID, u); err != nil && !accountProblem(t, &p, err, "") {
		return err
	}
	if p.Any() {
		form := h.accountFormOf(t, a.Login, u.DisplayName, u.Roles, u.LocationID)
		return h.renderEdit(c, fiber.StatusUnprocessableEntity, a, p, &form)
	}
	detail := ""
	if action == "account.update" {
		detail = "roles " + rolesDetail(u.Roles) + locationDetail(u.LocationID)
	}
	h.audit(c, action, accountObject(a.ID), detail)
	h.Log.InfoContext(c.UserContext(), "staff account changed", "account", a.ID, "by", auth.StaffOf(c).AccountID, "action", action)
	return c.Redirect("/intern/verwaltung/konten/"+strconv.FormatInt(a.ID, 10)+"?ok="+ok, fiber.StatusSeeOther)
}

func (h *Handler) resetPassword(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	a, err := h.editTarget(c)
	if errors.Is(err, account.ErrNotFound) {
		return h.staffMessage(c, fiber.StatusNotFound, "not_found_title", "acct_unknown")
	}
	if err != nil {
		return err
	}
	var p formProblems
	if err := h.Accounts.ResetPassword(c.UserContext(), a.ID, c.FormValue("password")); err != nil && !accountProblem(t, &p, err, "reset-password") {
		return err
	}
	if p.Any() {
		return h.renderEdit(c, fiber.StatusUnprocessableEntity, a, p, nil)
	}
	h.audit(c, "account.password_reset", accountObject(a.ID), "sessions ended")
	return c.Redirect("/intern/verwaltung/konten/"+strconv.FormatInt(a.ID, 10)+"?ok=passwort", fiber.StatusSeeOther)
}

// auditRow is an entry as the audit log page shows it.
type auditRow struct {
	When, Login, Action, Object, Detail, Address string
}

type auditData struct {
	Login, Action string
	Rows          []auditRow
	// Older links to the next page of older entries ("" on the last).
	Older string
	// Paged is true when the page does not start at the newest entry.
	Paged bool
}

// auditPage is the number of entries per page of the audit log.
const auditPage = 50

func (h *Handler) auditLog(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	f := audit.Filter{Login: strings.TrimSpace(c.Query("login")), Action: strings.TrimSpace(c.Query("aktion")), Limit: auditPage + 1}
	if len(f.Login) > audit.MaxLoginLen || len(f.Action) > audit.MaxActionLen {
		f.Login, f.Action = "", ""
	}
	if before, err := strconv.ParseInt(c.Query("vor"), 10, 64); err == nil && before > 0 {
		f.Before = before
	}
	d := auditData{Login: f.Login, Action: f.Action, Paged: f.Before > 0}
	var entries []audit.Entry
	if h.Audit != nil {
		var err error
		if entries, err = h.Audit.List(c.UserContext(), f); err != nil {
			return err
		}
	}
	if len(entries) > auditPage {
		entries = entries[:auditPage]
		q := "?vor=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
		if f.Login != "" {
			q += "&login=" + url.QueryEscape(f.Login)
		}
		if f.Action != "" {
			q += "&aktion=" + url.QueryEscape(f.Action)
		}
		d.Older = "/intern/protokoll" + q
	}
	for _, e := range entries {
		login := e.Login
		if login == "" {
			login = "–"
		}
		d.Rows = append(d.Rows, auditRow{When: h.when(t, e.At), Login: login, Action: e.Action, Object: e.Object, Detail: e.Detail, Address: e.Address})
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_audit", "audit_title", d)
}
