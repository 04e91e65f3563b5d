package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
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
