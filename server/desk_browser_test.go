package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
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
			d.waitJS("the chime on", `document.getElementById("chime").getAttribute("aria-pressed") === "true"`, time.Second)
			d.expectText("#chime", tr(lang, "Ton: an", "Sound: on"))
			d.click("#chime", "")

			// A desk calls on replica A: the display on B shows the number
			// on top within a second, highlighted, and the ticket page of
			// the next one counts down.
			start := time.Now()
			a.deskPost(t, "/call", `{"desk":"4"}`, 200)
			d.waitJS("the call on the display", `document.querySelector("#latest .number").textContent === "`+numbers[next]+`"`, 2*time.Second)
			if took := time.Since(start); took > time.Second {
				t.Fatalf("the call reached the display on the other replica after %v", took)
			}
			d.waitJS("the new call highlighted", `document.querySelector("#latest .call").classList.contains("fresh")`, time.Second)
			tk.waitJS("the ticket page to count down", `document.getElementById("ticket-ahead").textContent.startsWith("`+tr(lang, "Niemand", "Nobody")+`")`, time.Second)
			if lang == "de" {
				time.Sleep(3200 * time.Millisecond) // the highlight's blinking ends
				d.screenshot("display-1920x1080")
			}

			// Then the ticket's own number: its page names the desk, in
			// the assertive region.
			start = time.Now()
			a.deskPost(t, "/call", `{"desk":"4"}`, 200)
			next += 2
			tk.waitJS("the ticket page to show the call", `document.getElementById("ticket-called").textContent.includes("`+tr(lang, "Schalter 4", "desk 4")+`")`, 2*time.Second)
			if took := time.Since(start); took > time.Second {
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
			d.waitJS("the display to show the ticket's call", `document.querySelector("#latest .number").textContent === "`+mine+`"`, 2*time.Second)
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
