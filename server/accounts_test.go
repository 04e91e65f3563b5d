package main

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Test helpers for the staff pages, used by every area's server tests:
//
//	a := s.staffAccount(t, "desk1", testPassword, auth.RoleDesk)
//	sc := s.staffLogin(t, "desk1", testPassword)   // an HTTP client, logged in
//	res := sc.post(t, "/intern/...", url.Values{...}) // adds the form token
//	chromedp.Do(ctx, loginBrowser(s.URL, "desk1", testPassword)...)

// testPassword passes the password rules.
const testPassword = "Korrekt-Pferd-Batterie-42"

// staffAccount creates an account with the roles (every location) through
// the accounts' service.
func (s *testServer) staffAccount(t *testing.T, login, password string, roles ...auth.Role) *account.Account {
	t.Helper()
	return s.staffAccountAt(t, login, password, "", roles...)
}

// staffAccountAt creates an account scoped to one location.
func (s *testServer) staffAccountAt(t *testing.T, login, password, location string, roles ...auth.Role) *account.Account {
	t.Helper()
	rs := make([]account.Role, len(roles))
	for i, r := range roles {
		rs[i] = account.Role(r)
	}
	a, err := s.deps.accounts.Create(context.Background(), account.NewAccount{Login: login, DisplayName: "Test " + login,
		Password: password, Roles: rs, LocationID: location})
	if err != nil {
		t.Fatalf("staff account %s: %v", login, err)
	}
	return a
}

// staffToken makes an API token for an account and returns its secret.
func (s *testServer) staffToken(t *testing.T, accountID int64) string {
	t.Helper()
	_, secret, err := s.deps.accounts.CreateToken(context.Background(), accountID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// staffClient is a browser without JavaScript: an HTTP client with its
// own cookies that does not follow redirects.
type staffClient struct {
	s    *testServer
	http *http.Client
}

// page is an answer to a staffClient.
type page struct {
	Status   int
	Location string
	Body     string
}

func (s *testServer) staffClient(t *testing.T) *staffClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &staffClient{s: s, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *staffClient) send(t *testing.T, req *http.Request) page {
	t.Helper()
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(b)}
}

func (c *staffClient) get(t *testing.T, path string) page {
	t.Helper()
	req, err := http.NewRequest("GET", c.s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.send(t, req)
}

// postRaw sends a form as it is (no token added).
func (c *staffClient) postRaw(t *testing.T, path string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequest("POST", c.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.send(t, req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page of the client's session (the
// login page before a login).
func (c *staffClient) csrf(t *testing.T) string {
	t.Helper()
	p := c.get(t, "/intern")
	if p.Status == http.StatusSeeOther {
		p = c.get(t, "/intern/anmelden")
	}
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no form token on the page: %d %s", p.Status, p.Body)
	}
	return m[1]
}

// post sends a form with the session's form token.
func (c *staffClient) post(t *testing.T, path string, form url.Values) page {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf(t))
	return c.postRaw(t, path, form)
}

// login posts the login form and returns the answer.
func (c *staffClient) login(t *testing.T, login, password string) page {
	t.Helper()
	return c.post(t, "/intern/anmelden", url.Values{"login": {login}, "password": {password}})
}

// staffLogin returns a client logged in as login.
func (s *testServer) staffLogin(t *testing.T, login, password string) *staffClient {
	t.Helper()
	c := s.staffClient(t)
	if p := c.login(t, login, password); p.Status != http.StatusSeeOther {
		t.Fatalf("login %s: %d %s", login, p.Status, p.Body)
	}
	return c
}

// loginBrowser logs a browser tab in at base (the server's URL) and waits
// for the start page.
func loginBrowser(base, login, password string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/intern/anmelden"),
		chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_login"]`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), login),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-page="staff_start"]`)),
	}
}

func TestStaffLoginAndLogout(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "erika", testPassword, auth.RoleDesk)
	c := s.staffClient(t)

	p := c.get(t, "/intern/konto?x=1")
	if p.Status != http.StatusSeeOther || p.Location != "/intern/anmelden?weiter="+url.QueryEscape("/intern/konto?x=1") {
		t.Fatalf("no session: %d %q", p.Status, p.Location)
	}
	for _, bad := range []struct{ login, password string }{{"erika", "falsch-falsch-falsch"}, {"niemand", testPassword}} {
		p = c.login(t, bad.login, bad.password)
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Anmeldename oder Passwort ist falsch.") {
			t.Fatalf("login %s: %d %s", bad.login, p.Status, p.Body)
		}
	}
	form := url.Values{"login": {"Erika"}, "password": {testPassword}, "weiter": {"/intern/konto"}}
	p = c.post(t, "/intern/anmelden", form)
	if p.Status != http.StatusSeeOther || p.Location != "/intern/konto" {
		t.Fatalf("login: %d %q %s", p.Status, p.Location, p.Body)
	}
	p = c.get(t, "/intern")
	if p.Status != 200 || !strings.Contains(p.Body, "Test erika") || !strings.Contains(p.Body, `action="/intern/abmelden"`) {
		t.Fatalf("start page: %d %s", p.Status, p.Body)
	}
	if p := c.get(t, "/intern/verwaltung/konten"); p.Status != http.StatusForbidden {
		t.Fatalf("desk on the accounts page: %d", p.Status)
	}
	if p := c.post(t, "/intern/abmelden", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	if p := c.get(t, "/intern"); p.Status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.Status)
	}
}

func TestStaffLoginGoesOnOnlyWithinIntern(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "erika", testPassword, auth.RoleAdmin)
	for next, want := range map[string]string{
		"/intern/protokoll?login=x": "/intern/protokoll?login=x",
		"https://example.org/":      "/intern",
		"//example.org/intern":      "/intern",
		"/intern//example.org":      "/intern",
		"/\\example.org":            "/intern",
		"/internet":                 "/intern",
		"/intern/anmelden":          "/intern",
		"":                          "/intern",
	} {
		c := s.staffClient(t)
		p := c.post(t, "/intern/anmelden", url.Values{"login": {"erika"}, "password": {testPassword}, "weiter": {next}})
		if p.Status != http.StatusSeeOther || p.Location != want {
			t.Errorf("weiter=%q: %d %q, want %q", next, p.Status, p.Location, want)
		}
	}
}

func TestStaffLockoutPerAccountAndPerAddress(t *testing.T) {
	s := startServer(t, "-staff-lockout-failures=3", "-staff-lockout-address-failures=5")
	s.staffAccount(t, "erika", testPassword, auth.RoleDesk)
	s.staffAccount(t, "max", testPassword, auth.RoleDesk)
	c := s.staffClient(t)
	for i := range 3 {
		p := c.login(t, "erika", "daneben-daneben")
		if want := map[bool]int{true: 429, false: 401}[i == 2]; p.Status != want {
			t.Fatalf("failure %d: %d", i+1, p.Status)
		}
	}
	p := c.login(t, "erika", testPassword)
	if p.Status != http.StatusTooManyRequests || !strings.Contains(p.Body, "Bitte versuchen Sie es ab") || !strings.Contains(p.Body, "Uhr wieder.") {
		t.Fatalf("right password while locked: %d %s", p.Status, p.Body)
	}
	// Another account from the same address still logs in (2 more
	// failures reach the address's limit of 5).
	if p := c.login(t, "max", testPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("other account: %d", p.Status)
	}
	other := s.staffClient(t)
	for range 2 {
		other.login(t, "niemand", "daneben-daneben")
	}
	if p := other.login(t, "max", testPassword); p.Status != http.StatusTooManyRequests {
		t.Fatalf("address locked after 5 failures: %d %s", p.Status, p.Body)
	}
	// The window slides: move the accounts' clock past it.
	s.deps.accounts.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
	if p := other.login(t, "erika", testPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("after the window: %d %s", p.Status, p.Body)
	}
}

func TestStaffPasswordChangeEndsOtherSessions(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "erika", testPassword, auth.RoleDesk)
	here, there := s.staffLogin(t, "erika", testPassword), s.staffLogin(t, "erika", testPassword)
	p := here.post(t, "/intern/konto/passwort", url.Values{"current": {"falsch"}, "new": {"Neues-Pferd-Batterie-7"}, "confirm": {"Neues-Pferd-Batterie-7"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Das bisherige Passwort ist falsch.") {
		t.Fatalf("wrong current password: %d", p.Status)
	}
	p = here.post(t, "/intern/konto/passwort", url.Values{"current": {testPassword}, "new": {"Neues-Pferd-Batterie-7"}, "confirm": {"Neues-Pferd-Batterie-7"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", p.Status, p.Body)
	}
	if p := here.get(t, "/intern/konto?ok=passwort"); p.Status != 200 || !strings.Contains(p.Body, "Ihr Passwort ist geändert.") {
		t.Fatalf("own session after the change: %d", p.Status)
	}
	if p := there.get(t, "/intern"); p.Status != http.StatusSeeOther {
		t.Fatalf("other session after the change: %d", p.Status)
	}
	if p := s.staffClient(t).login(t, "erika", testPassword); p.Status != http.StatusUnauthorized {
		t.Fatalf("old password: %d", p.Status)
	}
	s.staffLogin(t, "erika", "Neues-Pferd-Batterie-7")
}

func TestStaffDisabledAccountIsLoggedOut(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "chefin", testPassword, auth.RoleAdmin)
	desk := s.staffAccount(t, "erika", testPassword, auth.RoleDesk, auth.RoleFinance)
	admin, erika := s.staffLogin(t, "chefin", testPassword), s.staffLogin(t, "erika", testPassword)
	token := s.staffToken(t, desk.ID)
	if r := s.do(t, "GET", "/api/v1/finance/postings", "", "Authorization", "Bearer "+token); r.Status != 200 {
		t.Fatalf("token before: %d %s", r.Status, r.Body)
	}
	id := strconv.FormatInt(desk.ID, 10)
	if p := admin.post(t, "/intern/verwaltung/konten/"+id+"/sperren", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.Status, p.Body)
	}
	if p := erika.get(t, "/intern"); p.Status != http.StatusSeeOther {
		t.Fatalf("session of the disabled account: %d", p.Status)
	}
	if p := s.staffClient(t).login(t, "erika", testPassword); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Anmeldename oder Passwort ist falsch.") {
		t.Fatalf("login of the disabled account: %d", p.Status)
	}
	if r := s.do(t, "GET", "/api/v1/finance/postings", "", "Authorization", "Bearer "+token); r.Status != 401 {
		t.Fatalf("token of the disabled account: %d", r.Status)
	}
	// The last administrator cannot disable itself.
	self := strconv.FormatInt(1, 10)
	if p := admin.post(t, "/intern/verwaltung/konten/"+self+"/sperren", nil); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "letzte aktive Verwaltungskonto") {
		t.Fatalf("disable the last admin: %d", p.Status)
	}
	if p := admin.post(t, "/intern/verwaltung/konten/"+id+"/freigeben", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("enable: %d", p.Status)
	}
	s.staffLogin(t, "erika", testPassword)
	// Both changes are in the audit log, with the admin's network.
	p := admin.get(t, "/intern/protokoll?aktion=account.")
	for _, want := range []string{"account.disable", "account.enable", "account:" + id, "127.0.0.0/24", "chefin"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}

var newTokenRe = regexp.MustCompile(`id="new-token">([^<]+)<`)

func TestStaffAPITokens(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "kasse", testPassword, auth.RoleFinance)
	c := s.staffLogin(t, "kasse", testPassword)
	p := c.post(t, "/intern/konto/tokens", url.Values{"name": {"Export-Abholung"}})
	m := newTokenRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("create token: %d %s", p.Status, p.Body)
	}
	token := m[1]
	if p := c.get(t, "/intern/konto"); strings.Contains(p.Body, token) || !strings.Contains(p.Body, "Export-Abholung") {
		t.Fatal("the token is shown again, or its name is not listed")
	}
	bearer := []string{"Authorization", "Bearer " + token}
	if r := s.do(t, "GET", "/api/v1/finance/postings", "", bearer...); r.Status != 200 {
		t.Fatalf("finance with the token: %d %s", r.Status, r.Body)
	}
	if r := s.do(t, "GET", "/api/v1/admin/devices", "", bearer...); r.Status != 403 {
		t.Fatalf("admin route with a finance token: %d", r.Status)
	}
	if p := c.get(t, "/intern/konto"); strings.Contains(p.Body, "<td>nie</td>") {
		t.Fatal("last use not shown")
	}
	var tokenID string
	if m := regexp.MustCompile(`/intern/konto/tokens/(\d+)/widerrufen`).FindStringSubmatch(c.get(t, "/intern/konto").Body); m != nil {
		tokenID = m[1]
	}
	if p := c.post(t, "/intern/konto/tokens/"+tokenID+"/widerrufen", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", p.Status, p.Body)
	}
	if r := s.do(t, "GET", "/api/v1/finance/postings", "", bearer...); r.Status != 401 {
		t.Fatalf("revoked token: %d", r.Status)
	}
	if p := c.post(t, "/intern/konto/tokens", url.Values{"name": {""}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("token without a name: %d", p.Status)
	}
}

func TestStaffFormWithoutTokenIsRefused(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "erika", testPassword, auth.RoleDesk)
	c := s.staffLogin(t, "erika", testPassword)
	change := url.Values{"current": {testPassword}, "new": {"Neues-Pferd-Batterie-7"}, "confirm": {"Neues-Pferd-Batterie-7"}}
	for name, token := range map[string]string{"no token": "", "wrong token": "AAAAAAAAAAAAAAAAAAAAAAAA"} {
		form := url.Values{}
		for k, v := range change {
			form[k] = v
		}
		if token != "" {
			form.Set("csrf", token)
		}
		p := c.postRaw(t, "/intern/konto/passwort", form)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Formular abgelaufen") {
			t.Fatalf("%s: %d", name, p.Status)
		}
	}
	// Nothing changed: the old password still works.
	s.staffLogin(t, "erika", testPassword)
	// The login form needs its pre-session token too.
	fresh := s.staffClient(t)
	if p := fresh.postRaw(t, "/intern/anmelden", url.Values{"login": {"erika"}, "password": {testPassword}}); p.Status != http.StatusForbidden {
		t.Fatalf("login without a token: %d", p.Status)
	}
}

func TestStaffBootstrapKey(t *testing.T) {
	s := startServer(t, "-admin-api-key=bootstrap-key-123")
	for _, path := range []string{"/api/v1/admin/devices", "/api/v1/finance/postings", "/api/v1/staff/locations/buergeramt-koblenz/queue"} {
		if r := s.do(t, "GET", path, "", "Authorization", "Bearer bootstrap-key-123"); r.Status != 200 {
			t.Errorf("%s with the bootstrap key: %d %s", path, r.Status, r.Body)
		}
		if r := s.do(t, "GET", path, "", "Authorization", "Bearer tmn_"+strings.Repeat("A", 43)); r.Status != 401 {
			t.Errorf("%s with an unknown token: %d", path, r.Status)
		}
	}
	// The key is for the API only: it does not log in to the pages.
	if p := s.staffClient(t).login(t, "admin-api-key", "bootstrap-key-123"); p.Status != http.StatusUnauthorized {
		t.Fatalf("page login with the key: %d", p.Status)
	}
}

func TestStaffFirstAdministratorWithTheBootstrapKey(t *testing.T) {
	s := startServer(t, "-admin-api-key=bootstrap-key-123")
	key := []string{"Authorization", "Bearer bootstrap-key-123"}
	body := `{"login":"Chefin","name":"Erste Verwaltung","password":"` + testPassword + `","roles":["admin"]}`
	r := s.do(t, "POST", "/api/v1/admin/accounts", body, key...)
	if r.Status != 201 || !strings.Contains(string(r.Body), `"login":"chefin"`) {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	for _, tt := range []struct {
		body, code string
	}{
		{body, "login_taken"},
		{`{"login":"x","name":"X","password":"` + testPassword + `","roles":["admin"]}`, "login_invalid"},
		{`{"login":"zweite","name":"Z","password":"kurz","roles":["desk"]}`, "password_invalid"},
		{`{"login":"zweite","name":"Z","password":"` + testPassword + `","roles":["boss"]}`, "roles_invalid"},
		{`{"login":"zweite","name":"Z","password":"` + testPassword + `","roles":["desk"],"location":"mond"}`, "location_not_found"},
	} {
		if r := s.do(t, "POST", "/api/v1/admin/accounts", tt.body, key...); errorCode(t, r) != tt.code {
			t.Errorf("%s: %d %s, want %s", tt.body, r.Status, r.Body, tt.code)
		}
	}
	// The new administrator logs in to the pages, where the creation is
	// in the audit log.
	c := s.staffLogin(t, "chefin", testPassword)
	if p := c.get(t, "/intern/protokoll"); !strings.Contains(p.Body, "admin-api-key") || !strings.Contains(p.Body, "account.create") {
		t.Fatalf("audit log: %s", p.Body)
	}
	// An account's token of a non-administrator may not create accounts.
	desk := s.staffAccount(t, "erika", testPassword, auth.RoleDesk)
	if r := s.do(t, "POST", "/api/v1/admin/accounts", body, "Authorization", "Bearer "+s.staffToken(t, desk.ID)); r.Status != 403 {
		t.Fatalf("desk token: %d", r.Status)
	}
}

// TestStaffMultipartFormCarriesItsToken: uploads (multipart forms) pass
// the form-token check like any form.
func TestStaffMultipartFormCarriesItsToken(t *testing.T) {
	s := startServer(t)
	s.staffAccount(t, "kasse", testPassword, auth.RoleFinance)
	c := s.staffLogin(t, "kasse", testPassword)
	send := func(token string) page {
		var b strings.Builder
		w := multipart.NewWriter(&b)
		if token != "" {
			w.WriteField("csrf", token)
		}
		w.WriteField("name", "Upload-Test")
		w.Close()
		req, err := http.NewRequest("POST", s.URL+"/intern/konto/tokens", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		return c.send(t, req)
	}
	if p := send(""); p.Status != http.StatusForbidden {
		t.Fatalf("multipart without a token: %d", p.Status)
	}
	if p := send(c.csrf(t)); p.Status != 200 || !strings.Contains(p.Body, `id="new-token"`) {
		t.Fatalf("multipart with its token: %d %s", p.Status, p.Body)
	}
}

// TestStaffLoginWithOddInput: a login or password no account can have is
// an ordinary failed login, counted like one, never an error page.
func TestStaffLoginWithOddInput(t *testing.T) {
	s := startServer(t)
	c := s.staffClient(t)
	for _, login := range []string{"nul\x00byte", strings.Repeat("x", 300), "ünïcödé", "a'; DROP TABLE staff_accounts; --"} {
		if p := c.login(t, login, "\x00\xff"); p.Status != http.StatusUnauthorized && p.Status != http.StatusBadRequest {
			t.Errorf("login %q: %d %s", login, p.Status, p.Body)
		}
	}
}
