package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// waitJS polls a script in the tab until it returns "y"; it fails the
// test after timeout and returns how long it took.
func (c *visitor) waitJS(what, js string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		if c.eval(`(() => { try { return (`+js+`) ? "y" : "" } catch (e) { return "" } })()`) == "y" {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			body := c.eval(`document.body ? document.body.innerText : ""`)
			c.t.Fatalf("waiting %v for %s:\n%s", timeout, what, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshot writes docs/screenshots/name.png when -web.screenshots is set.
func (c *visitor) screenshot(name string) {
	c.t.Helper()
	if !*webScreenshots {
		return
	}
	if err := browsertest.Screenshot(c.ctx, filepath.Join("..", "docs", "screenshots", name+".png")); err != nil {
		c.t.Fatal(err)
	}
}

// callLatency is how long after the call (its time in PostgreSQL) the
// display rendered the newest call it shows: both clocks are this
// machine's.
func (c *visitor) callLatency() time.Duration {
	c.t.Helper()
	ms := c.eval(`String(Number(document.body.dataset.updated) - Number(document.querySelector("#latest .call").dataset.at))`)
	var n int64
	if _, err := fmt.Sscan(ms, &n); err != nil {
		c.t.Fatalf("latency %q: %v", ms, err)
	}
	return time.Duration(n) * time.Millisecond
}

// ticketLatency is how long after the call shown on display the ticket
// page rendered its state.
func ticketLatency(t *testing.T, ticket, display *visitor) time.Duration {
	t.Helper()
	var updated, at int64
	fmt.Sscan(ticket.eval(`String(document.body.dataset.updated)`), &updated)
	fmt.Sscan(display.eval(`String(document.querySelector("#latest .call").dataset.at)`), &at)
	if updated == 0 || at == 0 {
		t.Fatalf("no times: ticket page rendered at %d, call at %d", updated, at)
	}
	return time.Duration(updated-at) * time.Millisecond
}

func (c *visitor) viewport(w, h int) {
	c.t.Helper()
	c.do(chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateScale(1)))
}

// TestCallDisplayPages: the waiting room's screen on replica B shows a
// call a desk makes on replica A within a second, newest on top; the
// ticket page of the called number says which desk, live; both pages are
// axe-clean in German and English, at 1920×1080 and in portrait, and
// work without JavaScript by reloading themselves.
func TestCallDisplayPages(t *testing.T) {
	a, b := startReplicas(t, "-admin-api-key", testAdminKey)
	kiosk := a.enrolledDevice(t, deskOffice, "counter")
	numbers := a.walkIns(t, kiosk, 7)
	a.deskPost(t, "/call", `{"desk":"2"}`, 200)
	a.deskPost(t, "/call", `{"desk":"5"}`, 200)
	// next is the index of the next number to be called.
	next := 2

	br := browsertest.Start(t, browsertest.Options{Width: 1920, Height: 1080})
	w := &weights{m: map[string]int{}}
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			d := newCitizen(t, br, b.URL, lang, w)
			d.viewport(1920, 1080)
			d.open("/display/" + deskOffice)
			d.waitPage("display")
			d.waitJS("the live stream", `document.body.dataset.live === "1"`, 5*time.Second)
			d.expectText("#latest", numbers[next-1])
			d.expectText("#earlier", numbers[next-2])
			d.b.CheckAxe(t, d.ctx, "display-"+lang)
			if body := d.text("main"); strings.Contains(body, "Mustermann") || strings.Contains(body, "@") {
				t.Fatalf("the display shows personal data:\n%s", body)
			}

			mine := numbers[next+1]
			tk := newCitizen(t, br, b.URL, lang, w)
			tk.open("/warten/" + deskOffice + "/" + mine)
			tk.waitPage("waiting")
			tk.waitJS("the ticket's live stream", `!document.getElementById("ticket-live").hidden`, 5*time.Second)
			tk.expectText("#ticket-ahead", tr(lang, "1 Person vor Ihnen", "1 person ahead of you"))
			tk.b.CheckAxe(t, tk.ctx, "ticket-"+lang)

			// The chime is off until switched on, and says so.
			d.expectText("#chime", tr(lang, "Ton: aus", "Sound: off"))
			d.click("#chime", "")
			d.waitJS("the chime on", `document.getElementById("chime").getAttribute("aria-pressed") === "true"`, 3*time.Second)
			d.expectText("#chime", tr(lang, "Ton: an", "Sound: on"))
			d.click("#chime", "")

			// A desk calls on replica A: the display on B shows the number
			// on top within a second, highlighted, and the ticket page of
			// the next one counts down.
			a.deskPost(t, "/call", `{"desk":"4"}`, 200)
			d.waitJS("the call on the display", `document.querySelector("#latest .number").textContent === "`+numbers[next]+`"`, 3*time.Second)
			if took := d.callLatency(); took > time.Second {
				t.Fatalf("the call reached the display on the other replica after %v", took)
			}
			d.waitJS("the new call highlighted", `document.querySelector("#latest .call").classList.contains("fresh")`, 3*time.Second)
			tk.waitJS("the ticket page to count down", `document.getElementById("ticket-ahead").textContent.startsWith("`+tr(lang, "Niemand", "Nobody")+`")`, 3*time.Second)
			if lang == "de" {
				time.Sleep(3200 * time.Millisecond) // the highlight's blinking ends
				d.screenshot("display-1920x1080")
			}

			// Then the ticket's own number: its page names the desk, in
			// the assertive region.
			a.deskPost(t, "/call", `{"desk":"4"}`, 200)
			next += 2
			tk.waitJS("the ticket page to show the call", `document.getElementById("ticket-called").textContent.includes("`+tr(lang, "Schalter 4", "desk 4")+`")`, 3*time.Second)
			d.waitJS("the display to show the ticket's call", `document.querySelector("#latest .number").textContent === "`+mine+`"`, 3*time.Second)
			if took := ticketLatency(t, tk, d); took > time.Second {
				t.Fatalf("the call reached the ticket page after %v", took)
			}
			if got := tk.eval(`document.getElementById("ticket-call").getAttribute("aria-live")`); got != "assertive" {
				t.Fatalf("the call's region is aria-live=%q", got)
			}
			tk.b.CheckAxe(t, tk.ctx, "ticket-called-"+lang)
			if lang == "de" {
				tk.screenshot("ticket-live")
			}

			d.viewport(1080, 1920)
			d.waitJS("the display to show the ticket's call", `document.querySelector("#latest .number").textContent === "`+mine+`"`, 3*time.Second)
			d.b.CheckAxe(t, d.ctx, "display-portrait-"+lang)
			if lang == "de" {
				time.Sleep(3200 * time.Millisecond)
				d.screenshot("display-portrait")
			}
		})
	}

	// Without JavaScript the display reloads itself every few seconds.
	res, err := http.Get(b.URL + "/display/" + deskOffice)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	n := newCitizen(t, br, b.URL, "de", w)
	n.scriptsOff()
	n.viewport(1920, 1080)
	n.open("/display/" + deskOffice)
	n.waitPage("display")
	before := n.text("#latest")
	called := a.deskPost(t, "/call", `{"desk":"9"}`, 200)
	if strings.Contains(before, called.Number) {
		t.Fatalf("%s already on the display", called.Number)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(n.text("#latest"), called.Number) {
		if time.Now().After(deadline) {
			t.Fatalf("without JavaScript the display never showed %s", called.Number)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDeskPages: a member of staff logs in, chooses a desk and calls
// numbers, while the call display in a second browser, served by the
// other replica, shows each call within a second and the ticket page of
// the called number names the desk. Recall, served, no-show and transfer
// work by form posts, also without JavaScript; the desk page is
// axe-clean in German and English.
func TestDeskPages(t *testing.T) {
	a, b := startReplicas(t, "-admin-api-key", testAdminKey)
	a.staffAccountAt(t, "schalter1", testPassword, deskOffice, auth.RoleDesk)
	_, qr := a.bookAt(t, deskOffice, "personalausweis", time.Date(2030, time.January, 7, 9, 40, 0, 0, berlinZone), 1)
	kiosk := a.enrolledDevice(t, deskOffice, "counter")
	if res := a.do(t, "POST", "/api/v1/kiosk/check-ins", `{"qr":"`+qr+`"}`, "Authorization", "Bearer "+kiosk); res.Status != 201 {
		t.Fatalf("check-in: %d %s", res.Status, res.Body)
	}
	walkIns := a.walkIns(t, kiosk, 4)

	staffBrowser := browsertest.Start(t, browsertest.Options{Width: 1280, Height: 900})
	screenBrowser := browsertest.Start(t, browsertest.Options{Width: 1920, Height: 1080})
	w := &weights{m: map[string]int{}}

	desk := newCitizen(t, staffBrowser, a.URL, "de", w)
	desk.viewport(1280, 900)
	desk.do(loginBrowser(a.URL, "schalter1", testPassword)...)
	desk.open("/intern/schalter")
	desk.waitPage("staff_desk")
	// A desk number the display could not show is refused next to the
	// field, and what was typed is kept.
	desk.do(chromedp.SendKeys(chromedp.CSS("#schalter"), "3/4"))
	desk.click(`form[action="/intern/schalter/platz"] button`, "staff_desk")
	desk.expectText("#error-summary", "Schalternummer")
	desk.expectText(".field-error", "Schalternummer")
	if v := desk.eval(`document.getElementById("schalter").value`); v != "3/4" {
		t.Fatalf("the refused desk number was not kept: %q", v)
	}
	desk.b.CheckAxe(t, desk.ctx, "desk-choose-error-de")
	desk.do(chromedp.SetValue(chromedp.CSS("#schalter"), "3"))
	desk.click(`form[action="/intern/schalter/platz"] button`, "staff_desk")
	desk.expectText("#desk-notice", "Sie arbeiten an Schalter 3.")
	desk.expectText("#desk-queue", walkIns[0])
	desk.expectText("#desk-queue", "Termin")
	desk.waitJS("the desk's live list", `document.getElementById("desk-queue").dataset.live === "1"`, 5*time.Second)

	display := newCitizen(t, screenBrowser, b.URL, "de", w)
	display.viewport(1920, 1080)
	display.open("/display/" + deskOffice)
	display.waitPage("display")
	display.waitJS("the display's live stream", `document.body.dataset.live === "1"`, 5*time.Second)
	ticket := newCitizen(t, screenBrowser, b.URL, "de", w)
	ticket.open("/warten/" + deskOffice + "/" + walkIns[0])
	ticket.waitPage("waiting")
	ticket.waitJS("the ticket's live stream", `!document.getElementById("ticket-live").hidden`, 5*time.Second)

	// The checked-in appointment is called first.
	desk.click("#call-next", "staff_desk")
	display.waitJS("T001 on the display", `document.querySelector("#latest .number").textContent === "T001"`, 3*time.Second)
	if took := display.callLatency(); took > time.Second {
		t.Fatalf("the call reached the display on the other replica after %v", took)
	}
	desk.expectText("#desk-notice", "T001 ist zu Schalter 3 aufgerufen.")
	desk.expectText(".desk-mine", "T001")
	ticket.waitJS("the ticket page to count down", `document.getElementById("ticket-ahead").textContent.startsWith("Niemand")`, 3*time.Second)

	desk.click(`form[action="/intern/schalter/erledigt"] button`, "staff_desk")
	desk.expectText("#desk-notice", "T001 ist erledigt.")
	desk.click("#call-next", "staff_desk")
	ticket.waitJS("the ticket page to show the desk", `document.getElementById("ticket-called").textContent.includes("Schalter 3")`, 3*time.Second)
	display.waitJS(walkIns[0]+" on the display", `document.querySelector("#latest .number").textContent === "`+walkIns[0]+`"`, 3*time.Second)
	if took := ticketLatency(t, ticket, display); took > time.Second {
		t.Fatalf("the call reached the ticket page after %v", took)
	}

	// A recall is a new call: highlighted on the display again.
	display.eval(`document.querySelector("#latest .call").classList.remove("fresh"); ""`)
	desk.click(`form[action="/intern/schalter/wiederholen"] button`, "staff_desk")
	desk.expectText("#desk-notice", walkIns[0]+" ist erneut aufgerufen.")
	display.waitJS("the recall highlighted", `document.querySelector("#latest .call").classList.contains("fresh")`, 3*time.Second)
	desk.click(`form[action="/intern/schalter/nicht-erschienen"] button`, "staff_desk")
	desk.expectText("#desk-notice", walkIns[0]+" ist als nicht erschienen vermerkt.")

	// A transferred number waits again, first in the line, with a note.
	desk.click("#call-next", "staff_desk")
	desk.expectText(".desk-mine", walkIns[1])
	desk.do(chromedp.SetValue(chromedp.CSS(".desk-transfer select"), "reisepass"))
	desk.click(`.desk-transfer button`, "staff_desk")
	desk.expectText("#desk-notice", walkIns[1]+" wartet wieder")
	desk.expectText("#desk-queue tbody tr:first-child", walkIns[1])
	desk.expectText("#desk-queue tbody tr:first-child", "weitergeleitet von Meldebescheinigung")

	// Another desk calls (through the API): the desk's list follows by
	// itself.
	a.deskPost(t, "/call", `{"desk":"5"}`, 200)
	desk.waitJS("the list to show desk 5", `document.getElementById("desk-queue").textContent.includes("`+walkIns[1]+`") && document.querySelector("#others-h + table") !== null`, 3*time.Second)
	desk.click("#call-next", "staff_desk")
	desk.b.CheckAxe(t, desk.ctx, "desk-de")
	desk.screenshot("staff-desk")

	// English, and without JavaScript: the forms post and come back.
	en := newCitizen(t, staffBrowser, a.URL, "en", w)
	en.scriptsOff()
	en.viewport(1280, 900)
	en.open("/intern/schalter")
	en.waitPage("staff_desk")
	en.expectText(".desk-mine", "Desk 3")
	en.check("desk")
	en.click(`form[action="/intern/schalter/erledigt"] button`, "staff_desk")
	en.expectText("#desk-notice", "is served.")
	en.click("#call-next", "staff_desk")
	en.expectText("#desk-notice", walkIns[3]+" is called to desk 3.")
	en.click(`form[action="/intern/schalter/erledigt"] button`, "staff_desk")
	en.click("#call-next", "staff_desk")
	en.expectText("#desk-notice", "Nobody is waiting.")

	// A desk account of this office cannot open another.
	en.open("/intern/schalter?standort=stadtbad")
	en.waitPage("message")
	en.expectText("main", "another location")
}

// dropProxy forwards TCP connections to a server and can cut them all,
// as a network loss between a screen and the servers does.
type dropProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *dropProxy) URL() string { return "http://" + p.ln.Addr().String() }

// cut closes every connection; while down, new ones are refused.
func (p *dropProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns, p.down = nil, down
}

// TestCallDisplayReconnects: the screen loses its connection, a call is
// made meanwhile; the display says the connection is lost, reconnects by
// itself once the network is back and shows the call it missed.
func TestCallDisplayReconnects(t *testing.T) {
	a, b := startReplicas(t, "-admin-api-key", testAdminKey)
	kiosk := a.enrolledDevice(t, deskOffice, "counter")
	numbers := a.walkIns(t, kiosk, 2)
	a.deskPost(t, "/call", `{"desk":"2"}`, 200)
	proxy := newDropProxy(t, strings.TrimPrefix(b.URL, "http://"))

	br := browsertest.Start(t, browsertest.Options{Width: 1920, Height: 1080})
	d := newCitizen(t, br, proxy.URL(), "de", &weights{m: map[string]int{}})
	d.viewport(1920, 1080)
	d.open("/display/" + deskOffice)
	d.waitPage("display")
	d.waitJS("the live stream", `document.body.dataset.live === "1"`, 5*time.Second)
	d.expectText("#latest", numbers[0])

	proxy.cut(true)
	d.waitJS("the display to say the connection is lost", `document.getElementById("status").textContent.includes("Verbindung unterbrochen")`, 5*time.Second)
	a.deskPost(t, "/call", `{"desk":"6"}`, 200)
	time.Sleep(time.Second)
	d.expectText("#latest", numbers[0]) // nothing reaches the screen meanwhile
	proxy.cut(false)
	d.waitJS("the missed call after the reconnect", `document.querySelector("#latest .number").textContent === "`+numbers[1]+`"`, 10*time.Second)
	d.waitJS("the connection notice gone", `document.getElementById("status").textContent === ""`, time.Second)
	d.expectText("#latest", "Schalter 6")
}
