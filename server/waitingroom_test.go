package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// The waiting room's release in these tests: Monday 7 January 2030,
// 09:30 in Berlin; the room opens 30 minutes before.
var roomRelease = time.Date(2030, time.January, 7, 9, 30, 0, 0, berlinZone)

func startRoomServer(t *testing.T, flags ...string) *testServer {
	t.Helper()
	s := startServer(t, append([]string{"-secret-key=" + booking.RandomCode(32), "-waiting-room-locations=stadtbad",
		"-waiting-room-releases=" + roomRelease.Format(time.RFC3339), "-waiting-room-pow-bits=4", "-waiting-room-rate=1000",
		"-waiting-room-burst=1000", "-waiting-room-keep=1h"}, flags...)...)
	// Rooms of earlier runs on this Redis database have the same keys.
	ctx := context.Background()
	iter := s.deps.rdb.Scan(ctx, 0, "room:{stadtbad}:*", 0).Iterator()
	for iter.Next(ctx) {
		if err := s.deps.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	s.clockAt(roomRelease.Add(-5 * time.Minute))
	return s
}

// roomBrowser is one browser of the API tests: its termin_browser cookie
// and, once admitted, its admission token.
type roomBrowser struct {
	cookie, token string
}

func (b *roomBrowser) header(extra ...string) []string {
	h := append([]string{}, extra...)
	if b.cookie != "" {
		h = append(h, "Cookie", "termin_browser="+b.cookie)
	}
	return h
}

// join takes a place with a solved challenge and keeps the cookie.
func (s *testServer) join(t *testing.T, b *roomBrowser) map[string]any {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/waiting-rooms/stadtbad", "", b.header()...)
	if res.Status != 200 {
		t.Fatalf("room: %d %s", res.Status, res.Body)
	}
	var room struct{ Challenge fairness.Challenge }
	res.decode(t, &room)
	body, _ := json.Marshal(map[string]any{"pow": map[string]string{"challenge": room.Challenge.Challenge,
		"solution": fairness.Solve(room.Challenge.Challenge, room.Challenge.Difficulty)}})
	res = s.do(t, "POST", "/api/v1/waiting-rooms/stadtbad/position", string(body), b.header()...)
	if res.Status != 201 {
		t.Fatalf("join: %d %s", res.Status, res.Body)
	}
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == "termin_browser" {
			b.cookie = c.Value
		}
	}
	var p map[string]any
	res.decode(t, &p)
	return p
}

func (s *testServer) position(t *testing.T, b *roomBrowser) map[string]any {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/waiting-rooms/stadtbad/position", "", b.header()...)
	if res.Status != 200 {
		t.Fatalf("position: %d %s", res.Status, res.Body)
	}
	var p map[string]any
	res.decode(t, &p)
	if tok, _ := p["admission_token"].(string); tok != "" {
		b.token = tok
	}
	return p
}

// roomSlot is a pool start the day after the release.
func (s *testServer) roomSlot(t *testing.T) string {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/availability?location=stadtbad&service=erwachsene&from=2030-01-08&to=2030-01-08", "")
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	if res.Status != 200 || len(av.Slots) < 2 {
		t.Fatalf("availability: %d %s", res.Status, res.Body)
	}
	return av.Slots[1].Start.Format(time.RFC3339)
}

func (s *testServer) roomHold(t *testing.T, start string, b *roomBrowser, token string) response {
	t.Helper()
	h := []string{}
	if token != "" {
		h = append(h, "Admission-Token", token)
	}
	return s.do(t, "POST", "/api/v1/holds", fmt.Sprintf(`{"location":"stadtbad","service":"erwachsene","start":%q}`, start), b.header(h...)...)
}

// TestWaitingRoomAPI: while the room is active a hold needs the admission
// token of its own browser; a place costs a proof of work; those who came
// before the release are let in in a random order, later ones after them.
func TestWaitingRoomAPI(t *testing.T) {
	s := startRoomServer(t, "-waiting-room-holds=2")
	start := s.roomSlot(t)
	nobody := &roomBrowser{}
	if res := s.roomHold(t, start, nobody, ""); res.Status != 403 || errorCode(t, res) != "admission_required" {
		t.Fatalf("hold without admission: %d %s", res.Status, res.Body)
	}
	// Another location has no room: its holds need nothing.
	if res := s.do(t, "GET", "/api/v1/waiting-rooms/buergeramt-koblenz", ""); res.Status != 409 || errorCode(t, res) != "waiting_room_inactive" {
		t.Fatalf("room of another location: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/api/v1/waiting-rooms/nirgendwo", ""); res.Status != 404 {
		t.Fatalf("room of no location: %d %s", res.Status, res.Body)
	}
	// A place costs a proof of work.
	if res := s.do(t, "POST", "/api/v1/waiting-rooms/stadtbad/position", `{}`); res.Status != 428 || errorCode(t, res) != "challenge_required" {
		t.Fatalf("join without a proof: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/api/v1/waiting-rooms/stadtbad/position", ""); res.Status != 404 || errorCode(t, res) != "not_in_waiting_room" {
		t.Fatalf("position without a place: %d %s", res.Status, res.Body)
	}
	early := make([]*roomBrowser, 6)
	for i := range early {
		early[i] = &roomBrowser{}
		p := s.join(t, early[i])
		if p["state"] != "waiting" || p["early"] != true || p["ahead"] != nil || p["arrival"] != float64(i+1) {
			t.Fatalf("early join %d: %v", i, p)
		}
	}
	// Joining again (a reload) keeps the place and costs nothing.
	if res := s.do(t, "POST", "/api/v1/waiting-rooms/stadtbad/position", `{}`, early[0].header()...); res.Status != 201 || !strings.Contains(string(res.Body), `"arrival":1,`) {
		t.Fatalf("join again: %d %s", res.Status, res.Body)
	}
	if p := s.position(t, early[0]); p["state"] != "waiting" {
		t.Fatalf("before the release: %v", p)
	}

	s.clockAt(roomRelease.Add(time.Second))
	late := &roomBrowser{}
	if p := s.join(t, late); p["early"] != false || p["state"] != "waiting" {
		t.Fatalf("late join: %v", p)
	}
	seen := map[float64]bool{}
	for i, b := range early {
		p := s.position(t, b)
		n, _ := p["admission_number"].(float64)
		if p["state"] != "admitted" || n < 1 || n > 6 || seen[n] || b.token == "" {
			t.Fatalf("early browser %d after the release: %v", i, p)
		}
		seen[n] = true
	}
	if p := s.position(t, late); p["admission_number"] != float64(7) {
		t.Fatalf("the late browser is admitted after the early ones: %v", p)
	}

	a, b := early[0], early[1]
	forged := a.token[:strings.LastIndexByte(a.token, '.')+1] + strings.Repeat("A", 43)
	for _, c := range []struct {
		name    string
		browser *roomBrowser
		token   string
		status  int
		code    string
	}{
		{"forged", a, forged, 403, "admission_invalid"},
		{"from another browser", b, a.token, 403, "admission_invalid"},
		{"without the browser's cookie", nobody, a.token, 403, "admission_invalid"},
		{"garbage", a, "a1.stadtbad", 403, "admission_invalid"},
		{"too long", a, strings.Repeat("x", 300), 403, "admission_invalid"},
	} {
		if res := s.roomHold(t, start, c.browser, c.token); res.Status != c.status || errorCode(t, res) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.Status, res.Body, c.status, c.code)
		}
	}
	for i := 0; i < 2; i++ {
		if res := s.roomHold(t, start, a, a.token); res.Status != 201 {
			t.Fatalf("hold %d with admission: %d %s", i, res.Status, res.Body)
		}
	}
	if res := s.roomHold(t, start, a, a.token); res.Status != 409 || errorCode(t, res) != "admission_used" {
		t.Fatalf("a third hold: %d %s", res.Status, res.Body)
	}
	// A hold that fails does not use up the admission.
	if res := s.roomHold(t, "2030-01-08T03:17:00Z", b, b.token); res.Status != 422 {
		t.Fatalf("hold at no slot: %d %s", res.Status, res.Body)
	}
	for i := 0; i < 2; i++ {
		if res := s.roomHold(t, start, b, b.token); res.Status != 201 {
			t.Fatalf("hold %d after a failed one: %d %s", i, res.Status, res.Body)
		}
	}
	// Expired: ten minutes after the turn came.
	s.clockAt(roomRelease.Add(time.Second + 10*time.Minute))
	c := early[2]
	if res := s.roomHold(t, start, c, c.token); res.Status != 403 || errorCode(t, res) != "admission_invalid" {
		t.Fatalf("expired admission: %d %s", res.Status, res.Body)
	}
	if p := s.position(t, c); p["state"] != "expired" || p["admission_token"] != nil {
		t.Fatalf("position after the admission expired: %v", p)
	}
	if p := s.join(t, c); p["state"] != "waiting" || p["early"] != false {
		t.Fatalf("queueing again after the admission expired: %v", p)
	}
	// The room closes 30 minutes after the release: holds need nothing.
	s.clockAt(roomRelease.Add(31 * time.Minute))
	if res := s.roomHold(t, start, nobody, ""); res.Status != 201 {
		t.Fatalf("hold after the room closed: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/api/v1/waiting-rooms/stadtbad", ""); res.Status != 409 {
		t.Fatalf("room after it closed: %d %s", res.Status, res.Body)
	}
}

// clearCookies forgets every cookie of the browser: a new visitor.
func (c *visitor) clearCookies() {
	c.t.Helper()
	c.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return chromedp.Void{}, err
	})
}

// waitFor waits until the expression is true in the page.
func (c *visitor) waitFor(what, js string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for c.eval(`(`+js+`) ? "y" : ""`) != "y" {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; page:\n%s", what, c.eval(`document.body.innerText`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWaitingRoomPage: the waiting room in the browser, in German and
// English, axe-clean in every state: the place costs a proof of work the
// page solves, the place and estimate show and update in place, the turn
// is announced once and lets the hold through; a hold without admission
// is sent back to the room; without scripts the page explains and
// reloads by itself.
func TestWaitingRoomPage(t *testing.T) {
	// Admission is driven by the clock: 0.01 a second, up to 100 at once.
	// One release per language, two hours apart, each with a room of its own.
	second := roomRelease.Add(2 * time.Hour)
	s := startRoomServer(t, "-waiting-room-rate=0.01", "-waiting-room-burst=100",
		"-waiting-room-releases="+roomRelease.Format(time.RFC3339)+","+second.Format(time.RFC3339))
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	for i, lang := range []string{"de", "en"} {
		release := roomRelease.Add(time.Duration(i) * 2 * time.Hour)
		t.Run(lang, func(t *testing.T) {
			s.clockAt(release.Add(-5 * time.Minute))
			for range 5 { // others in the room
				s.join(t, &roomBrowser{})
			}
			// Without scripts: a hold without admission goes back to the
			// room, which explains why it cannot take a place without them.
			n := newCitizen(t, b, s.URL, lang, w)
			n.clearCookies()
			n.scriptsOff()
			n.open("/stadtbad")
			n.waitPage("choice")
			n.expectText(".notice", tr(lang, "Warteraum aktiv", "waiting room is active"))
			n.check("70-room-choice-notice")
			n.open("/stadtbad/zeit?n_erwachsene=1&tag=2030-01-08")
			n.waitPage("times")
			n.click(`.times .radio:nth-child(2) input`, "")
			n.click(`button.primary`, "room")
			n.expectText(".notice", tr(lang, "Warteraum aktiv", "waiting room is active"))
			n.expectText("#room-status", tr(lang, "Ohne JavaScript", "Without JavaScript"))
			n.check("71-room-without-js")

			// With scripts the page solves the proof of work and takes the place.
			c := newCitizen(t, b, s.URL, lang, w)
			c.clearCookies()
			c.open("/stadtbad/warteraum")
			c.waitPage("room")
			c.waitFor("the place", `document.getElementById("room-status").dataset.state === "waiting"`, 20*time.Second)
			c.expectText("#room-status", tr(lang, "ausgelost", "drawn at random"))
			c.check("72-room-before-release")

			s.clockAt(release.Add(time.Second))
			c.open("/stadtbad/warteraum")
			c.waitPage("room")
			c.expectText("#room-status", tr(lang, "Platz", "Place"))
			c.expectText("#room-status", tr(lang, "Wartezeit", "wait"))
			if c.eval(`document.getElementById("room-live").textContent`) != "" {
				t.Fatal("the live region speaks on page load")
			}
			c.check("73-room-waiting")
			if *webScreenshots && lang == "de" {
				if err := browsertest.Screenshot(c.ctx, filepath.Join("..", "docs", "screenshots", "waiting-room.png")); err != nil {
					t.Fatal(err)
				}
			}
			// The turn comes while the page is open: it updates itself
			// and says so once.
			s.clockAt(release.Add(20 * time.Minute))
			c.waitFor("the turn", `document.getElementById("room-status").dataset.state === "admitted"`, 40*time.Second) // the page asks every 5 to 30 s
			c.expectText("#room-live", tr(lang, "an der Reihe", "your turn"))
			c.check("74-room-admitted")
			c.click(`#room-continue`, "choice")
			if c.eval(`document.querySelector("main .notice") ? "notice" : ""`) != "" {
				t.Fatal("the choice page still points an admitted browser to the waiting room")
			}
			c.open("/stadtbad/zeit?n_erwachsene=1&tag=2030-01-08")
			c.waitPage("times")
			c.click(`.times .radio:nth-child(2) input`, "")
			c.click(`button.primary`, "contact")

		})
	}
	// The page of a location without a room sends on to the location.
	res, err := http.Get(s.URL + "/buergeramt-koblenz/warteraum")
	if err != nil || res.Request.URL.Path != "/buergeramt-koblenz" {
		t.Fatalf("room of a location without one: %v %v", res.Request.URL, err)
	}
	res.Body.Close()
}

// TestWaitingRoomPageWithoutScripts: a browser that has a place and no
// scripts gets a page that reloads itself every half minute (a meta
// refresh inside noscript, which browsers with scripts ignore), with a
// link to stop that.
func TestWaitingRoomPageWithoutScripts(t *testing.T) {
	s := startRoomServer(t, "-waiting-room-rate=0.01", "-waiting-room-burst=100")
	p := &roomBrowser{}
	s.join(t, p)
	s.clockAt(roomRelease.Add(time.Second))
	page := func(path string) string {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Cookie", "termin_browser="+p.cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	body := page("/stadtbad/warteraum")
	if !strings.Contains(body, `<noscript><meta http-equiv="refresh" content="30"></noscript>`) || !strings.Contains(body, "?still=1") {
		t.Fatalf("waiting page without the refresh fallback:\n%s", body)
	}
	if body := page("/stadtbad/warteraum?still=1"); strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatal("the still page reloads")
	}
}
