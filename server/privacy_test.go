package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/payment"
)

// The citizen's data rights on the manage page: the download of their
// data and its deletion, reached only with the booking's manage token.

// pageClient follows no redirect: the tests look at the 303s themselves.
var pageClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// page sends a request to a citizen page with the manage cookie (none
// when token is empty) and the form cookie.
func (s *payServer) page(t *testing.T, method, path, token, csrf string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "de-DE")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "termin_manage", Value: token})
	}
	if csrf != "" {
		req.AddCookie(&http.Cookie{Name: "termin_csrf", Value: csrf})
	}
	res, err := pageClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// eraseFormToken opens the deletion's confirmation page and returns it
// with its form token (cookie and field are the same value).
func (s *payServer) eraseFormToken(t *testing.T, code, token string) (response, string) {
	t.Helper()
	res := s.page(t, "GET", "/termin/"+code+"/daten-loeschen", token, "", nil)
	if res.Status != 200 {
		t.Fatalf("deletion page: %d %s", res.Status, res.Body)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(res.Body)
	if m == nil {
		t.Fatalf("deletion page without a form token:\n%s", res.Body)
	}
	return res, string(m[1])
}

type exportedData struct {
	BookingCode string `json:"booking_code"`
	Status      string
	Language    string
	Name        string
	Email       string
	Phone       string
	Location    struct{ ID, Name string }
	Services    []struct {
		ID, Name string
		Count    int
	}
	Start, End  string
	CreatedAt   string  `json:"created_at"`
	CancelledAt *string `json:"cancelled_at"`
	Deleted     *string `json:"personal_data_deleted_at"`
	Mails       []struct{ Kind, State string }
	Payment     *struct {
		Reference, Kassenzeichen, State, Currency string
		AmountCents                               int64 `json:"amount_cents"`
	}
}

func (s *payServer) download(t *testing.T, code, token string) (exportedData, []byte) {
	t.Helper()
	res := s.page(t, "GET", "/termin/"+code+"/daten", token, "", nil)
	if res.Status != 200 {
		t.Fatalf("download: %d %s", res.Status, res.Body)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, code) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var x exportedData
	res.decode(t, &x)
	return x, res.Body
}

func TestDataDownloadHoldsOnlyThisBooking(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	start := s.poolSlot(t)
	paid := s.book(t, start, 1) // Erika Mustermann, erika@example.org
	s.pay(t, paid.Payment.Reference, true)
	s.work(t)
	hold := s.mustHold(t, "stadtbad", "erwachsene", start, 1)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Zacharias Quellenbrink","email":"zq.privacy@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("second booking: %d %s", res.Status, res.Body)
	}
	var other pendingBooking
	res.decode(t, &other)

	x, raw := s.download(t, paid.Code, paid.ManageToken)
	if x.BookingCode != paid.Code || x.Name != "Erika Mustermann" || x.Email != "erika@example.org" || x.Status != booking.StatusConfirmed ||
		x.Language != "de" || x.Location.ID != "stadtbad" || x.Location.Name == "" || x.Start == "" || x.End == "" || x.CreatedAt == "" ||
		x.CancelledAt != nil || x.Deleted != nil || len(x.Services) != 1 || x.Services[0].ID != "erwachsene" || x.Services[0].Count != 1 {
		t.Fatalf("downloaded data:\n%s", raw)
	}
	if x.Payment == nil || x.Payment.Reference != paid.Payment.Reference || x.Payment.Kassenzeichen != paid.Payment.Kassenzeichen ||
		x.Payment.AmountCents != 450 || x.Payment.State != string(payment.StateConfirmed) || x.Payment.Currency != "EUR" {
		t.Fatalf("downloaded payment:\n%s", raw)
	}
	confirmedMail := false
	for _, m := range x.Mails {
		confirmedMail = confirmedMail || m.Kind == booking.EventConfirmed
	}
	if !confirmedMail {
		t.Fatalf("downloaded mails without the confirmation:\n%s", raw)
	}
	for _, never := range []string{"Quellenbrink", "zq.privacy", other.Code, other.ManageToken, paid.ManageToken, "hash", "token", "pay_url"} {
		if strings.Contains(string(raw), never) {
			t.Errorf("the download holds %q:\n%s", never, raw)
		}
	}

	// Without the booking's token: neither page, nothing of the booking.
	for _, tc := range []struct{ name, path, token string }{
		{"download without a token", "/termin/" + paid.Code + "/daten", ""},
		{"download with another booking's token", "/termin/" + paid.Code + "/daten", other.ManageToken},
		{"download with a wrong token", "/termin/" + paid.Code + "/daten", "x" + paid.ManageToken[1:]},
		{"deletion page without a token", "/termin/" + paid.Code + "/daten-loeschen", ""},
		{"deletion page with another booking's token", "/termin/" + paid.Code + "/daten-loeschen", other.ManageToken},
	} {
		res := s.page(t, "GET", tc.path, tc.token, "", nil)
		if res.Status != 404 || strings.Contains(string(res.Body), "Erika") || strings.Contains(string(res.Body), "Quellenbrink") {
			t.Errorf("%s: %d\n%s", tc.name, res.Status, res.Body)
		}
	}
	// A deletion sent with another booking's token deletes nothing.
	_, csrf := s.eraseFormToken(t, other.Code, other.ManageToken)
	if res := s.page(t, "POST", "/termin/"+paid.Code+"/daten-loeschen", other.ManageToken, csrf, url.Values{"csrf": {csrf}}); res.Status != 404 {
		t.Errorf("deletion with another booking's token: %d", res.Status)
	}
	if res := s.page(t, "POST", "/termin/"+paid.Code+"/daten-loeschen", "", csrf, url.Values{"csrf": {csrf}}); res.Status != 404 {
		t.Errorf("deletion without a token: %d", res.Status)
	}
	if where := findAnywhere(t, s, "erika@example.org"); where == "" {
		t.Fatal("after the refused deletions the address is gone")
	}
}

func TestDeleteMyDataCancelsAndAnonymises(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	start := s.poolSlot(t)
	paid := s.book(t, start, 1) // Erika Mustermann, erika@example.org, tomorrow
	s.pay(t, paid.Payment.Reference, true)
	s.work(t)
	hold := s.mustHold(t, "stadtbad", "erwachsene", start, 1)
	if res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Zacharias Quellenbrink","email":"zq.privacy@example.org"}`); res.Status != 201 {
		t.Fatalf("second booking: %d %s", res.Status, res.Body)
	}

	manage := s.page(t, "GET", "/termin/"+paid.Code, paid.ManageToken, "", nil)
	for _, want := range []string{`href="/termin/` + paid.Code + `/daten"`, `href="/termin/` + paid.Code + `/daten-loeschen"`} {
		if !strings.Contains(string(manage.Body), want) {
			t.Fatalf("manage page without %s:\n%s", want, manage.Body)
		}
	}
	form, csrf := s.eraseFormToken(t, paid.Code, paid.ManageToken)
	for _, want := range []string{"zuerst abgesagt", "erstatten wir den Betrag", "keine Absage per E-Mail", "Stadtkasse", "Termin absagen und meine Daten löschen"} {
		if !strings.Contains(string(form.Body), want) {
			t.Errorf("the confirmation page does not say %q:\n%s", want, form.Body)
		}
	}
	// The form without its token changes nothing.
	if res := s.page(t, "POST", "/termin/"+paid.Code+"/daten-loeschen", paid.ManageToken, "", url.Values{"csrf": {csrf}}); res.Status != 403 {
		t.Fatalf("deletion without the form cookie: %d", res.Status)
	}
	if st := s.bookingStatus(t, paid); st != booking.StatusConfirmed {
		t.Fatalf("after the refused form: %s", st)
	}

	res := s.page(t, "POST", "/termin/"+paid.Code+"/daten-loeschen", paid.ManageToken, csrf, url.Values{"csrf": {csrf}})
	if res.Status != 303 || res.Header.Get("Location") != "/termin/"+paid.Code+"/daten-loeschen" {
		t.Fatalf("deletion: %d %s", res.Status, res.Header.Get("Location"))
	}
	done := s.page(t, "GET", "/termin/"+paid.Code+"/daten-loeschen", paid.ManageToken, "", nil)
	if done.Status != 200 || !strings.Contains(string(done.Body), "Ihre Daten sind gelöscht") || strings.Contains(string(done.Body), "Erika") {
		t.Fatalf("result page: %d\n%s", done.Status, done.Body)
	}
	// Sent twice: the same result.
	if res := s.page(t, "POST", "/termin/"+paid.Code+"/daten-loeschen", paid.ManageToken, csrf, url.Values{"csrf": {csrf}}); res.Status != 303 {
		t.Fatalf("second deletion: %d", res.Status)
	}

	// Cancelled the way the cancel flow does: the refund goes on the work
	// list, done by hand it writes the Storno.
	if st := s.bookingStatus(t, paid); st != booking.StatusCancelled {
		t.Fatalf("booking after the deletion: %s", st)
	}
	s.work(t)
	if n := s.count(t, `SELECT count(*) FROM refund_tasks WHERE done_at IS NULL`); n != 1 {
		t.Fatalf("%d open refund tasks, want 1", n)
	}
	s.refundByHand(t, paid.Payment.Reference)
	s.work(t)
	if n := s.count(t, `SELECT count(*) FROM postings WHERE kind = 'storno' AND booking_code = $1`, paid.Code); n != 1 {
		t.Fatalf("%d Storno postings, want 1", n)
	}
	if p := s.payment(t, paid.Payment.Reference); p.State != payment.StateRefunded {
		t.Fatalf("payment after the deletion: %s", p.State)
	}

	for _, needle := range []string{"Erika Mustermann", "erika@example.org"} {
		if where := findAnywhere(t, s, needle); where != "" {
			t.Errorf("%q is still in %s", needle, where)
		}
	}
	if where := findAnywhere(t, s, "Quellenbrink"); where != "bookings.name" {
		t.Errorf("the other booking's name is in %q, want bookings.name", where)
	}
	if n := s.count(t, `SELECT count(*) FROM booking_events e JOIN bookings b ON b.id = e.booking_id WHERE b.code = $1 AND e.state = 'pending'`, paid.Code); n != 0 {
		t.Errorf("%d mails of the deleted booking still waiting", n)
	}
	if n := s.count(t, `SELECT count(*) FROM postings WHERE booking_code = $1`, paid.Code); n != 2 {
		t.Errorf("%d postings of the anonymised booking, want the payment and its Storno", n)
	}

	// The manage link still opens the booking, without personal data and
	// without the deletion link.
	manage = s.page(t, "GET", "/termin/"+paid.Code, paid.ManageToken, "", nil)
	if manage.Status != 200 || !strings.Contains(string(manage.Body), "sind gelöscht") || strings.Contains(string(manage.Body), "/daten-loeschen") {
		t.Fatalf("manage page after the deletion: %d\n%s", manage.Status, manage.Body)
	}
	x, raw := s.download(t, paid.Code, paid.ManageToken)
	if x.Name != "" || x.Email != "" || x.Phone != "" || x.Deleted == nil || x.CancelledAt == nil || x.Status != booking.StatusCancelled {
		t.Fatalf("download after the deletion:\n%s", raw)
	}
	for _, m := range x.Mails {
		if m.State == booking.MailPending {
			t.Errorf("mail %s still pending after the deletion", m.Kind)
		}
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil || generic["payment"] == nil {
		t.Fatalf("download after the deletion has no payment: %v\n%s", err, raw)
	}
}

// TestPrivacyPagesInTheBrowser: the manage page with its two data links,
// the deletion's confirmation and its result, in German with scripts and
// in English without, each free of axe-core violations.
func TestPrivacyPagesInTheBrowser(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	start := s.poolSlot(t)
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			paid := s.book(t, start, 1)
			s.pay(t, paid.Payment.Reference, true)
			s.work(t)
			c := newCitizen(t, b, s.URL, lang, w)
			if lang == "en" {
				c.scriptsOff()
			}
			c.open("/termin/" + paid.Code + "?t=" + paid.ManageToken)
			c.waitPage("booking")
			c.expectText("#my-data", tr(lang, "Meine Daten herunterladen", "Download my data"))
			c.check("90-privacy-manage")
			c.click(`#my-data a[href$="/daten-loeschen"]`, "erase")
			c.expectText("#erase-cancel", tr(lang, "zuerst abgesagt", "cancelled and released first"))
			c.check("91-privacy-delete-confirm")
			if *webScreenshots && lang == "de" {
				shot(t, c, "privacy-delete.png")
			}
			c.click(`#erase-confirm`, "erase")
			c.expectText("#erase-done h1", tr(lang, "Ihre Daten sind gelöscht", "Your data has been deleted"))
			c.check("92-privacy-deleted")
			if *webScreenshots && lang == "de" {
				shot(t, c, "privacy-deleted.png")
			}
			c.click(`a[href="/termin/`+paid.Code+`"]`, "booking")
			c.expectText("#my-data", tr(lang, "sind gelöscht", "have been deleted"))
			c.check("93-privacy-manage-deleted")
		})
	}
	if where := findAnywhere(t, s, "erika@example.org"); where != "" {
		t.Errorf("after both deletions the address is still in %s", where)
	}
}

func shot(t *testing.T, c *visitor, name string) {
	t.Helper()
	if c.noJS {
		c.scripts(true)
		defer c.scripts(false)
	}
	if err := browsertest.Screenshot(c.ctx, filepath.Join("..", "docs", "screenshots", name)); err != nil {
		t.Fatal(err)
	}
}
