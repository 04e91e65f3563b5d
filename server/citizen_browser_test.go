package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailpit"
)

// The pages of several services in one appointment, several ticket types
// in one paid order and a reschedule, in a headless Chromium on a phone's
// viewport, with the mails of each flow read back from Mailpit: every new
// page state is checked with axe-core in German and English.

// startMailPageServer runs the server with online payment (simulator), a
// secret (manage links in the mails) and Mailpit's SMTP address; the
// mails' links point at the test server itself.
func startMailPageServer(t *testing.T) (*payServer, *inbox) {
	t.Helper()
	mp := mailpit.FromEnv(t)
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-secret-key", "citizen-pages-secret",
		"-smtp-addr", mp.SMTPAddr, "-smtp-tls", "none", "-mail-from", "Stadt Koblenz <termine@koblenz.example>"}})
	return s, newInbox(t, s.deps, mp)
}

// downloadICS fetches the confirmation page's calendar file in the tab
// (its cookie carries the manage token) and parses its VEVENT.
func (c *visitor) downloadICS(code string) *mail.ICSComponent {
	c.t.Helper()
	data := c.eval(`(() => { const x = new XMLHttpRequest(); x.open("GET", "/termin/` + code + `/termin.ics", false); x.send(); return x.status === 200 ? x.responseText : "status " + x.status; })()`)
	cal, err := mail.ParseICS([]byte(data))
	if err != nil {
		c.t.Fatalf("downloaded .ics: %v\n%s", err, data)
	}
	evs := cal.Find("VEVENT")
	if len(evs) != 1 {
		c.t.Fatalf("downloaded .ics without one VEVENT:\n%s", data)
	}
	return evs[0]
}

// forgetBooking deletes the booking's manage cookie (the tabs of one
// browser share their cookies).
func (c *visitor) forgetBooking(code string) {
	c.t.Helper()
	c.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: "termin_manage", URL: c.base + "/termin/" + code})
		return chromedp.Void{}, err
	})
}

func (c *visitor) bookingCode() string {
	c.t.Helper()
	return strings.TrimSpace(c.text(`.ticket .code`))
}

// twoServicesMoved books Personalausweis and Reisepass in one
// appointment, moves it on the manage page and cancels it; the
// confirmation, the move and the cancellation arrive as mails whose
// calendar files are one event.
func twoServicesMoved(t *testing.T, c *visitor, in *inbox) {
	addr := uniqueAddress("zwei-" + c.lang)
	c.open("/buergeramt-koblenz")
	c.waitPage("choice")
	c.click(`#s-personalausweis`, "")
	c.click(`#s-reisepass`, "")
	c.check("30-office-two-services")
	c.click(`button[type=submit]`, "days")
	c.click(`ul.days li:nth-child(2) a`, "times")
	c.check("31-office-two-services-times")
	c.click(`.times .radio:nth-child(2) input`, "")
	c.click(`button.primary`, "contact")
	c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Erika Mustermann"), chromedp.SendKeys(chromedp.CSS(`#email`), addr),
		chromedp.SendKeys(chromedp.CSS(`#phone`), "0261 129-0"))
	c.check("32-office-contact-phone")
	c.click(`form[novalidate] button.primary`, "review")
	c.expectText("main", "Reisepass")
	c.check("33-office-two-services-review")
	c.click(`#book`, "booking")
	code := c.bookingCode()
	c.expectText("dl", "Personalausweis")
	c.expectText("dl", "Reisepass")
	c.expectText("dl", "Bahnhofstraße 47, 56068 Koblenz")
	c.expectText("dl", tr(c.lang, "biometrisches Passfoto", "biometric passport photo"))
	c.check("34-office-two-services-booked")
	page := c.downloadICS(code)
	uid := page.Value("UID")
	if uid == "" || !strings.HasSuffix(uid, "@termin") {
		t.Fatalf("downloaded .ics UID %q", uid)
	}
	confirmed := in.wait(t, addr, tr(c.lang, "Terminbestätigung", "Booking confirmed"))
	if ev := in.calendarEvent(t, confirmed); ev.Value("UID") != uid || ev.Value("DTSTART") != page.Value("DTSTART") {
		t.Fatalf("the mail's event %s at %s, the page's %s at %s", ev.Value("UID"), ev.Value("DTSTART"), uid, page.Value("DTSTART"))
	}
	if !strings.Contains(confirmed.Text, "/termin/"+code+"?t=") {
		t.Fatalf("confirmation without the manage link:\n%s", confirmed.Text)
	}

	c.click(`a[href$="/verschieben"]`, "days")
	c.check("35-move-days")
	c.click(`ul.days li:nth-child(3) a`, "times")
	c.check("36-move-times")
	c.click(`.times .radio:nth-child(3) input`, "")
	c.click(`button.primary`, "move")
	c.check("37-move-review")
	c.click(`#move-confirm`, "booking")
	if got := c.bookingCode(); got != code {
		t.Fatalf("moved booking has code %s, want %s", got, code)
	}
	c.check("38-moved")
	moved := in.wait(t, addr, tr(c.lang, "Termin verschoben", "Booking moved"))
	ev := in.calendarEvent(t, moved)
	if ev.Value("UID") != uid || ev.Value("SEQUENCE") != "1" || ev.Value("DTSTART") == page.Value("DTSTART") {
		t.Fatalf("moved event UID %s SEQUENCE %s DTSTART %s (was %s)", ev.Value("UID"), ev.Value("SEQUENCE"), ev.Value("DTSTART"), page.Value("DTSTART"))
	}
	if after := c.downloadICS(code); after.Value("UID") != uid || after.Value("DTSTART") != ev.Value("DTSTART") {
		t.Fatalf("download after the move: %s at %s", after.Value("UID"), after.Value("DTSTART"))
	}

	c.click(`a[href$="/stornieren"]`, "cancel")
	c.click(`#cancel-confirm`, "booking")
	cancelled := in.wait(t, addr, tr(c.lang, "Termin storniert", "Booking cancelled"))
	cev := in.calendarEvent(t, cancelled)
	if cev.Value("UID") != uid || cev.Value("STATUS") != "CANCELLED" {
		t.Fatalf("cancellation event UID %s STATUS %s, want %s CANCELLED", cev.Value("UID"), cev.Value("STATUS"), uid)
	}
}

// poolTwoTypesPaid orders 2 Erwachsene and 1 ermäßigt in one order, pays
// at the simulator and gets one ticket for three persons.
func poolTwoTypesPaid(t *testing.T, c *visitor, in *inbox) {
	addr := uniqueAddress("bad-" + c.lang)
	c.open("/stadtbad")
	c.waitPage("choice")
	c.do(chromedp.Clear(chromedp.CSS(`#n_erwachsene`)), chromedp.SendKeys(chromedp.CSS(`#n_erwachsene`), "2"),
		chromedp.Clear(chromedp.CSS(`#n_ermaessigt`)), chromedp.SendKeys(chromedp.CSS(`#n_ermaessigt`), "1"))
	c.check("40-pool-two-types")
	c.click(`button[type=submit]`, "days")
	c.click(`ul.days li:first-child a`, "times")
	c.click(`.times .radio:last-child input`, "")
	c.click(`button.primary`, "contact")
	c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Max Mustermann"), chromedp.SendKeys(chromedp.CSS(`#email`), addr))
	c.click(`form[novalidate] button.primary`, "review")
	c.expectText("main", tr(c.lang, "11,50", "11.50"))
	c.check("41-pool-two-types-review")
	c.eval(`document.body.dataset.stale = "1"; ""`)
	c.do(chromedp.Click(chromedp.CSS(`#book`)), chromedp.WaitReady(chromedp.CSS(`button[value=pay]`)))
	c.click(`button[value=pay]`, "payment")
	if st := c.eval(`document.getElementById("payment-result").dataset.state`); st != "paid" {
		t.Fatalf("payment result %q, want paid", st)
	}
	c.click(`a.button.primary`, "booking")
	c.expectText("dl", "2 × Erwachsene")
	c.expectText("dl", "1 × ermäßigt")
	c.check("42-pool-two-types-ticket")
	uid := c.downloadICS(c.bookingCode()).Value("UID")
	m := in.wait(t, addr, tr(c.lang, "Terminbestätigung", "Booking confirmed"))
	if ev := in.calendarEvent(t, m); ev.Value("UID") != uid {
		t.Fatalf("pool mail's event %s, the page's %s", ev.Value("UID"), uid)
	}
}

func TestCitizenPagesOfSeveralItems(t *testing.T) {
	s, in := startMailPageServer(t)
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	for _, lang := range []string{"de", "en"} {
		t.Run("two-services-moved-"+lang, func(t *testing.T) { twoServicesMoved(t, newCitizen(t, b, s.URL, lang, w), in) })
		t.Run("pool-two-types-"+lang, func(t *testing.T) { poolTwoTypesPaid(t, newCitizen(t, b, s.URL, lang, w), in) })
	}
}

// mailedPath is the path and query of the first link to the booking's
// pages in a mail (the mails link to PUBLIC_BASE_URL).
func mailedPath(t *testing.T, text, code, suffix string) string {
	t.Helper()
	m := regexp.MustCompile(`https?://[^/\s]+(/termin/` + code + regexp.QuoteMeta(suffix) + `\?t=[A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no link /termin/%s%s?t=… in:\n%s", code, suffix, text)
	}
	return m[1]
}

// activatedFromMail books at a location with double opt-in, opens the
// activation mail's link in a browser without the booking's cookie and
// confirms there; then asks "find my booking" for the manage link again
// and opens it.
func activatedFromMail(t *testing.T, c *visitor, in *inbox) {
	addr := uniqueAddress("aktiv-" + c.lang)
	c.open("/buergeramt-koblenz/tag?s=meldebescheinigung")
	c.waitPage("days")
	c.click(`ul.days li:nth-child(2) a`, "times")
	c.click(`.times .radio:nth-child(4) input`, "")
	c.click(`button.primary`, "contact")
	c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Berta Beispiel"), chromedp.SendKeys(chromedp.CSS(`#email`), addr))
	c.click(`form[novalidate] button.primary`, "review")
	c.click(`#book`, "booking")
	code := c.bookingCode()
	c.expectText("h1", tr(c.lang, "bestätigen", "confirm"))
	c.check("43-pending-activation")

	request := in.wait(t, addr, tr(c.lang, "Bitte bestätigen Sie Ihre Buchung "+code, "Please confirm your booking "+code))
	link := mailedPath(t, request.Text, code, "/aktivieren")
	fresh := newCitizen(t, c.b, c.base, c.lang, c.w)
	fresh.forgetBooking(code) // as in the mail program's browser
	fresh.open(link)
	fresh.waitPage("activate")
	if loc, _ := chromedp.Run(fresh.ctx, chromedp.Location()); !strings.Contains(loc, "/aktivieren") {
		t.Fatalf("activation page at %s", loc)
	}
	fresh.check("44-activate")
	fresh.click(`#activate-confirm`, "booking")
	fresh.expectText(".ticket dl", tr(c.lang, "bestätigt", "confirmed"))
	fresh.do(chromedp.WaitReady(chromedp.CSS(`img.qr`)))
	in.wait(t, addr, tr(c.lang, "Terminbestätigung "+code, "Booking confirmed "+code))

	finder := newCitizen(t, c.b, c.base, c.lang, c.w)
	finder.forgetBooking(code) // another device
	finder.open("/termin/" + code)
	finder.waitPage("message")
	finder.click(`a[href="/termin/suchen"]`, "find")
	finder.check("45-find")
	finder.do(chromedp.SendKeys(chromedp.CSS(`#code`), strings.ToLower(code)), chromedp.SendKeys(chromedp.CSS(`#email`), addr))
	finder.click(`button.primary`, "find")
	finder.check("46-find-sent")
	again := in.wait(t, addr, tr(c.lang, "Ihr Link zur Buchung "+code, "Your link to booking "+code))
	finder.open(mailedPath(t, again.Text, code, ""))
	finder.waitPage("booking")
	if got := finder.bookingCode(); got != code {
		t.Fatalf("the mailed link opened %s, want %s", got, code)
	}
}

func TestCitizenPagesActivationAndFind(t *testing.T) {
	optIn := func(city []byte) []byte {
		return bytes.Replace(city, []byte(`"slot_minutes": 5,`), []byte(`"slot_minutes": 5, "activation_minutes": 30,`), 1)
	}
	s, in := startCitizenServer(t, optIn)
	if in == nil {
		t.Skip("needs Mailpit")
	}
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) { activatedFromMail(t, newCitizen(t, b, s.URL, lang, w), in) })
	}
}
