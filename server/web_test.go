package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
)

// The citizens' pages in a headless Chromium on a phone's viewport: every
// page and state is checked with axe-core in German and English, its
// weight measured, and with -web.screenshots each step is written to
// docs/screenshots for docs/citizen.md.

var webScreenshots = flag.Bool("web.screenshots", false, "write the citizen pages' screenshots to docs/screenshots")

const (
	phoneWidth, phoneHeight = 390, 844
	maxPageBytes            = 60 << 10
)

// weights collects the measured page weights, printed at the end.
type weights struct {
	mu sync.Mutex
	m  map[string]int
}

func (w *weights) add(state string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.m[state] = n
}

func (w *weights) print(t *testing.T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.m))
	for k := range w.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "page weight (HTML+CSS+JS, bodies as transferred, QR image aside), limit %d bytes:\n", maxPageBytes)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-40s %6d\n", k, w.m[k])
	}
	fmt.Fprint(os.Stdout, b.String())
}

// visitor is one browser tab walking through the pages.
type visitor struct {
	t       *testing.T
	b       *browsertest.Browser
	ctx     context.Context
	base    string
	lang    string
	w       *weights
	noJS    bool
	shotTag string
}

func newCitizen(t *testing.T, b *browsertest.Browser, base, lang string, w *weights) *visitor {
	c := &visitor{t: t, b: b, ctx: b.Tab(t, 90*time.Second), base: base, lang: lang, w: w}
	accept := "de-DE,de;q=0.9"
	if lang == "en" {
		accept = "en-GB,en;q=0.9"
	}
	c.do(chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(1)),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
			if err != nil {
				return chromedp.Void{}, err
			}
			_, err = cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": accept}})
			return chromedp.Void{}, err
		})
	return c
}

// scriptsOff switches JavaScript off in the tab.
func (c *visitor) scriptsOff() {
	c.noJS = true
	c.scripts(false)
}

func (c *visitor) scripts(on bool) {
	c.t.Helper()
	c.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return chromedp.Void{}, err
	})
}

func (c *visitor) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

func (c *visitor) eval(js string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (c *visitor) open(path string) { c.t.Helper(); c.do(chromedp.Navigate(c.base + path)) }

// waitPage waits until the page of that template has loaded.
func (c *visitor) waitPage(page string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(`body[data-page="`+page+`"]:not([data-stale])`))); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		body, _ := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		c.t.Fatalf("waiting for page %s: %v; at %s:\n%s", page, err, loc, body)
	}
	if got := c.eval(`document.documentElement.lang`); got != c.lang {
		c.t.Fatalf("page %s: lang %q, want %q", page, got, c.lang)
	}
}

// click activates an element with the mouse and waits for the next page.
func (c *visitor) click(sel, nextPage string) {
	c.t.Helper()
	if nextPage != "" {
		c.eval(`document.body.dataset.stale = "1"; ""`)
	}
	c.do(chromedp.Click(chromedp.CSS(sel)))
	if nextPage != "" {
		c.waitPage(nextPage)
	}
}

// check runs axe-core on the page, measures its weight and takes the
// screenshot of this state.
func (c *visitor) check(state string) {
	c.t.Helper()
	name := state + "-" + c.lang + c.shotTag
	if c.noJS {
		// axe-core needs scripts; the page was loaded and laid out
		// without them, and its scripts do not run afterwards.
		c.scripts(true)
		defer c.scripts(false)
	}
	c.b.CheckAxe(c.t, c.ctx, name)
	n, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		let sum = nav ? nav.encodedBodySize : 0;
		for (const r of performance.getEntriesByType("resource")) if (r.initiatorType !== "img") sum += r.encodedBodySize;
		return sum; })()`))
	if err != nil {
		c.t.Fatalf("%s: page weight: %v", name, err)
	}
	c.w.add(name, n)
	if n > maxPageBytes {
		c.t.Errorf("%s: %d bytes, more than %d", name, n, maxPageBytes)
	}
	if *webScreenshots && c.shotTag == "" && (c.lang == "de" || strings.HasPrefix(state, "01")) {
		if err := browsertest.Screenshot(c.ctx, filepath.Join("..", "docs", "screenshots", name+".png")); err != nil {
			c.t.Fatal(err)
		}
	}
}

// tabTo presses Tab until the element matching sel has the focus.
func (c *visitor) tabTo(sel string) {
	c.t.Helper()
	for i := 0; i < 80; i++ {
		if c.eval(`document.activeElement && document.activeElement.matches(`+quoteJS(sel)+`) ? "y" : ""`) == "y" {
			return
		}
		c.do(chromedp.KeyEvent(kb.Tab))
	}
	c.t.Fatalf("Tab never reached %s", sel)
}

func quoteJS(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func (c *visitor) text(sel string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (c *visitor) expectText(sel, want string) {
	c.t.Helper()
	if got := c.text(sel); !strings.Contains(got, want) {
		c.t.Fatalf("%s: %q does not contain %q", sel, got, want)
	}
}

func tr(lang, de, en string) string {
	if lang == "en" {
		return en
	}
	return de
}

// officeBooking books a Personalausweis by mouse, with a wrong e-mail
// address first, and cancels it on the manage page.
func officeBooking(t *testing.T, c *visitor) {
	c.open("/")
	c.waitPage("index")
	c.check("01-start")
	c.click(`a[href="/buergeramt-koblenz"]`, "choice")
	c.check("02-office-services")
	c.click(`button[type=submit]`, "choice") // nothing chosen
	c.expectText("#error-summary", tr(c.lang, "mindestens eine Leistung", "at least one service"))
	c.check("03-office-services-error")
	c.click(`#s-personalausweis`, "")
	c.click(`button[type=submit]`, "days")
	c.check("04-office-days")
	c.click(`ul.days li:nth-child(2) a`, "times")
	c.check("05-office-times")
	c.click(`button.primary`, "times") // no time chosen
	c.expectText("#error-summary", tr(c.lang, "Uhrzeit", "time"))
	c.check("06-office-times-error")
	c.click(`.times .radio:nth-child(2) input`, "")
	c.click(`button.primary`, "contact")
	if !c.noJS {
		c.do(chromedp.WaitVisible(chromedp.CSS(`#countdown-visible`)))
	}
	c.check("07-office-contact")
	c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Erika Mustermann"), chromedp.SendKeys(chromedp.CSS(`#email`), "erika@example"))
	c.click(`form[novalidate] button.primary`, "contact")
	c.expectText("#error-summary a[href='#email']", tr(c.lang, "E-Mail-Adresse", "e-mail address"))
	if v, _ := chromedp.Run(c.ctx, chromedp.Value(chromedp.CSS(`#name`))); v != "Erika Mustermann" {
		t.Fatalf("name not kept: %q", v)
	}
	c.check("08-office-contact-error")
	c.do(chromedp.Clear(chromedp.CSS(`#email`)), chromedp.SendKeys(chromedp.CSS(`#email`), "erika@example.org"))
	c.click(`form[novalidate] button.primary`, "review")
	c.check("09-office-review")
	c.click(`#book`, "booking")
	c.expectText("h1", tr(c.lang, "gebucht", "booked"))
	c.do(chromedp.WaitReady(chromedp.CSS(`img.qr`)))
	loaded := func() bool { return c.eval(`document.querySelector("img.qr").naturalWidth > 0 ? "y" : ""`) == "y" }
	for i := 0; i < 100 && !loaded(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !loaded() {
		t.Fatal("QR image did not load")
	}
	c.check("10-office-booked")
	if !c.noJS {
		pdf, err := chromedp.Run(c.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(pdf, []byte("/Type /Page\n")) + bytes.Count(pdf, []byte("/Type /Page ")) + bytes.Count(pdf, []byte("/Type /Page/")); n != 1 {
			t.Errorf("the confirmation prints on %d pages, want 1", n)
		}
	}
	c.click(`a[href$="/stornieren"]`, "cancel")
	c.check("11-office-cancel-confirm")
	c.click(`#cancel-confirm`, "booking")
	c.expectText("h1", tr(c.lang, "storniert", "cancelled"))
	c.check("12-office-cancelled")
}

// key presses a key on the focused element, waiting for the next page.
func (c *visitor) key(k, nextPage string) {
	c.t.Helper()
	if nextPage != "" {
		c.eval(`document.body.dataset.stale = "1"; ""`)
	}
	c.do(chromedp.KeyEvent(k))
	if nextPage != "" {
		c.waitPage(nextPage)
	}
}

// poolOrder orders tickets for the first free slot and goes to the
// platform's pay page.
func poolOrder(t *testing.T, c *visitor, adults int) {
	c.open("/stadtbad")
	c.waitPage("choice")
	c.check("20-pool-tickets")
	c.do(chromedp.Clear(chromedp.CSS(`#n_erwachsene`)), chromedp.SendKeys(chromedp.CSS(`#n_erwachsene`), fmt.Sprint(adults)))
	c.click(`button[type=submit]`, "days")
	c.check("21-pool-days")
	c.click(`ul.days li:first-child a`, "times")
	c.check("22-pool-times")
	c.click(`.times .radio:last-child input`, "")
	c.click(`button.primary`, "contact")
	c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Max Mustermann"), chromedp.SendKeys(chromedp.CSS(`#email`), "max@example.org"))
	c.click(`form[novalidate] button.primary`, "review")
	c.check("23-pool-review")
	c.eval(`document.body.dataset.stale = "1"; ""`)
	c.do(chromedp.Click(chromedp.CSS(`#book`)), chromedp.WaitReady(chromedp.CSS(`button[value=pay]`)))
	if c.shotTag == "" && *webScreenshots && c.lang == "de" {
		if err := browsertest.Screenshot(c.ctx, filepath.Join("..", "docs", "screenshots", "24-pool-platform-de.png")); err != nil {
			t.Fatal(err)
		}
	}
}

func poolPaid(t *testing.T, c *visitor) {
	poolOrder(t, c, 2)
	c.click(`button[value=pay]`, "payment")
	if st := c.eval(`document.getElementById("payment-result").dataset.state`); st != "paid" {
		t.Fatalf("payment result %q, want paid", st)
	}
	c.check("25-pool-paid")
	c.click(`a.button.primary`, "booking")
	c.expectText("dl", "2")
	c.check("26-pool-ticket")
}

func poolFailed(t *testing.T, c *visitor) {
	poolOrder(t, c, 1)
	c.click(`button[value=fail]`, "payment")
	if st := c.eval(`document.getElementById("payment-result").dataset.state`); st != "failed" {
		t.Fatalf("payment result %q, want failed", st)
	}
	c.expectText("#payment-result", tr(c.lang, "freigegeben", "released"))
	c.check("27-pool-payment-failed")
}

// slotTaken: someone else takes the chosen time between choosing and
// holding; the page says so and offers the free times.
func slotTaken(t *testing.T, s *testServer, c *visitor) {
	c.open("/buergeramt-koblenz/tag?s=personalausweis")
	c.waitPage("days")
	c.click(`ul.days li:nth-child(3) a`, "times")
	start := c.eval(`document.querySelector(".times .radio:first-child input").value`)
	for i := 0; i < 4; i++ { // every desk
		s.mustHold(t, "buergeramt-koblenz", "personalausweis", start, 1)
	}
	c.click(`.times .radio:first-child input`, "")
	c.click(`button.primary`, "times")
	c.expectText("#error-summary", tr(c.lang, "inzwischen vergeben", "taken meanwhile"))
	if n := c.eval(`String(document.querySelectorAll('.times input[value="` + start + `"]').length)`); n != "0" {
		t.Fatal("the taken time is still offered")
	}
	c.check("13-office-slot-taken")
}

// keyboardBooking books with Tab, Space and Enter only.
func keyboardBooking(t *testing.T, c *visitor) {
	c.open("/")
	c.waitPage("index")
	c.tabTo(`a[href="/buergeramt-koblenz"]`)
	c.key(kb.Enter, "choice")
	// Services are checkboxes (several in one appointment), ticked with
	// the space bar.
	c.tabTo(`#s-meldebescheinigung`)
	c.key(" ", "")
	if c.eval(`document.getElementById("s-meldebescheinigung").checked ? "y" : ""`) != "y" {
		t.Fatal("the space bar did not choose the service")
	}
	c.tabTo(`button[type=submit]`)
	c.key(kb.Enter, "days")
	c.tabTo(`ul.days li:first-child a`)
	c.key(kb.Enter, "times")
	c.tabTo(`.times input`)
	c.key(" ", "")
	c.tabTo(`button.primary`)
	c.key(kb.Enter, "contact")
	c.tabTo(`#name`)
	c.key("Kim Tastatur", "")
	c.tabTo(`#email`)
	c.key("kim@example.org", "")
	c.tabTo(`form[novalidate] button.primary`)
	c.key(kb.Enter, "review")
	c.tabTo(`#book`)
	c.key(kb.Enter, "booking")
	c.expectText("h1", tr(c.lang, "gebucht", "booked"))
	c.tabTo(`a[href$="/stornieren"]`)
	c.key(kb.Enter, "cancel")
	c.tabTo(`#cancel-confirm`)
	c.key(kb.Enter, "booking")
	c.expectText("h1", tr(c.lang, "storniert", "cancelled"))
}

// mailLink opens the manage link of a booking made over the API in a
// browser that has no cookie yet: the token moves into the cookie and out
// of the URL.
func mailLink(t *testing.T, s *testServer, c *visitor) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Now().In(berlin).AddDate(0, 0, 7)
	res := s.do(t, "GET", "/api/v1/availability?location=buergeramt-koblenz&service=wohnsitz-anmelden&from="+from.Format("2006-01-02")+"&to="+from.AddDate(0, 0, 6).Format("2006-01-02"), "")
	var av struct{ Slots []struct{ Start string } }
	res.decode(t, &av)
	hold := s.mustHold(t, "buergeramt-koblenz", "wohnsitz-anmelden", av.Slots[5].Start, 1)
	res = s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Eva","email":"eva@example.org"}`)
	var b struct {
		Code        string
		ManageToken string `json:"manage_token"`
	}
	res.decode(t, &b)
	c.open("/termin/" + b.Code + "?t=" + b.ManageToken)
	c.waitPage("booking")
	loc, _ := chromedp.Run(c.ctx, chromedp.Location())
	if strings.Contains(loc, b.ManageToken) {
		t.Fatalf("token still in the address: %s", loc)
	}
	c.check("14-manage-from-mail")
	c.open("/termin/" + b.Code + "x")
	c.waitPage("message")
	c.check("15-manage-no-access")
	c.open("/barrierefreiheit")
	c.waitPage("accessibility")
	c.check("16-accessibility")
	// The visible switch changes the language and stays on the page.
	other := map[string]string{"de": "en", "en": "de"}[c.lang]
	c.eval(`document.body.dataset.stale = "1"; ""`)
	c.do(chromedp.Click(chromedp.CSS(`header nav a[hreflang]`)))
	c.lang = other
	c.waitPage("accessibility")
	c.lang = other
	c.open("/sprache?l=" + map[string]string{"de": "en", "en": "de"}[other] + "&r=/")
	c.lang = map[string]string{"de": "en", "en": "de"}[other]
	c.waitPage("index")
	// The other tabs of this browser go by Accept-Language again.
	c.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: "termin_lang", URL: c.base + "/"})
		return chromedp.Void{}, err
	})
	c.open("/nirgends/wo/hin")
	c.waitPage("message")
	c.check("17-not-found")
}

// chooseTime opens the times of a day at the office and submits one.
func chooseTime(c *visitor, next string) {
	c.open("/buergeramt-koblenz/tag?s=meldebescheinigung")
	c.waitPage("days")
	c.click(`ul.days li:nth-child(4) a`, "times")
	c.click(`.times .radio:nth-child(3) input`, "")
	c.click(`button.primary`, next)
}

// TestCitizenPagesUnderRush: on a location that needs a proof of work the
// page solves it with pow.js and goes on; without JavaScript it explains;
// over the rate limit it says how long to wait.
func TestCitizenPagesUnderRush(t *testing.T) {
	// A fresh secret: the client's bucket in Redis is keyed by it, and
	// earlier runs of this test used up theirs.
	s := startServer(t, "-secret-key="+booking.RandomCode(32), "-pow-locations=buergeramt-koblenz", "-pow-bits=10", "-rate-limit=0.001", "-rate-burst=5", "-hold-ttl=3s")
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	t.Run("pow-solved", func(t *testing.T) {
		c := newCitizen(t, b, s.URL, "de", w)
		chooseTime(c, "contact") // two holds (refused for the proof, then with it) and below one booking: 3 of the 5 tokens
		// The hold expires while the citizen types: the booking says so
		// and offers the free times of the same choice.
		c.do(chromedp.SendKeys(chromedp.CSS(`#name`), "Ole Langsam"), chromedp.SendKeys(chromedp.CSS(`#email`), "ole@example.org"))
		time.Sleep(4 * time.Second)
		c.click(`form[novalidate] button.primary`, "review")
		c.click(`#book`, "times")
		c.expectText("#error-summary", "abgelaufen")
		c.check("28-hold-expired")
	})
	for _, lang := range []string{"de", "en"} {
		t.Run("pow-without-js-"+lang, func(t *testing.T) {
			c := newCitizen(t, b, s.URL, lang, w)
			c.scriptsOff()
			chooseTime(c, "times")
			c.expectText("#pow", tr(lang, "Ohne JavaScript", "Without JavaScript"))
			c.check("18-busy-proof-of-work")
		})
	}
	for _, lang := range []string{"de", "en"} {
		t.Run("rate-limited-"+lang, func(t *testing.T) {
			c := newCitizen(t, b, s.URL, lang, w)
			chooseTime(c, "message")
			c.expectText("h1", tr(lang, "Zu viele Anfragen", "Too many requests"))
			c.check("19-too-many-requests")
		})
	}
}

func TestCitizenPages(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	for _, lang := range []string{"de", "en"} {
		t.Run("office-"+lang, func(t *testing.T) { officeBooking(t, newCitizen(t, b, s.URL, lang, w)) })
		t.Run("slot-taken-"+lang, func(t *testing.T) { slotTaken(t, s.testServer, newCitizen(t, b, s.URL, lang, w)) })
		t.Run("pool-paid-"+lang, func(t *testing.T) { poolPaid(t, newCitizen(t, b, s.URL, lang, w)) })
		t.Run("pool-failed-"+lang, func(t *testing.T) { poolFailed(t, newCitizen(t, b, s.URL, lang, w)) })
		t.Run("mail-link-"+lang, func(t *testing.T) { mailLink(t, s.testServer, newCitizen(t, b, s.URL, lang, w)) })
		t.Run("keyboard-"+lang, func(t *testing.T) { keyboardBooking(t, newCitizen(t, b, s.URL, lang, w)) })
	}
	t.Run("no-javascript", func(t *testing.T) {
		c := newCitizen(t, b, s.URL, "de", w)
		c.shotTag = "-nojs"
		c.scriptsOff()
		officeBooking(t, c)
	})
}
