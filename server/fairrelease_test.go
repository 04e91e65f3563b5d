package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/browsertest"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// free is the number of free units of the pool's adult tickets at start.
func (s *testServer) freeAt(t *testing.T, start string) int {
	t.Helper()
	st, _ := time.Parse(time.RFC3339, start)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := booking.DateOf(st.In(berlin)).String()
	res := s.do(t, "GET", "/api/v1/availability?location="+s.pool+"&service=erwachsene&from="+day+"&to="+day, "")
	if res.Status != 200 {
		t.Fatalf("availability: %d %s", res.Status, res.Body)
	}
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	for _, sl := range av.Slots {
		if sl.Start.Equal(st) {
			return sl.Free
		}
	}
	t.Fatalf("%s not listed", start)
	return 0
}

// With -one-hold-api an API client (told apart by its address) has one
// live hold per location: a second replaces the first. A request with the
// pages' browser cookie counts for that browser, also without it.
func TestAPIOneHoldPerClient(t *testing.T) {
	s := startServer(t, "-one-hold-api")
	start := s.poolSlot(t)
	first := s.mustHold(t, s.pool, "erwachsene", start, 2)
	if got := s.freeAt(t, start); got != 148 {
		t.Fatalf("%d free after the first hold, want 148", got)
	}
	s.mustHold(t, s.pool, "erwachsene", start, 3)
	if got := s.freeAt(t, start); got != 147 {
		t.Errorf("%d free after the second hold, want 147: the first is replaced", got)
	}
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+first+`","name":"Erika Mustermann","email":"erika@example.org"}`)
	if res.Status != 410 || !bytes.Contains(res.Body, []byte(`"hold_released"`)) {
		t.Errorf("booking the replaced hold: %d %s, want 410 hold_released", res.Status, res.Body)
	}
}

// Without -one-hold-api, API clients without the browser cookie are not
// bound (clients behind one address would replace each other's holds);
// with the cookie, a browser is one holder on the API too.
func TestAPIHoldsOfABrowser(t *testing.T) {
	s := startServer(t)
	start := s.poolSlot(t)
	s.mustHold(t, s.pool, "erwachsene", start, 1)
	s.mustHold(t, s.pool, "erwachsene", start, 1)
	if got := s.freeAt(t, start); got != 148 {
		t.Errorf("%d free after two holds without a cookie, want 148", got)
	}
	cookie := "termin_browser=" + booking.RandomCode(24)
	body := fmt.Sprintf(`{"location":%q,"service":"erwachsene","start":%q,"units":2}`, s.pool, start)
	for i := 0; i < 2; i++ {
		if res := s.do(t, "POST", "/api/v1/holds", body, "Cookie", cookie); res.Status != 201 {
			t.Fatalf("hold with the browser cookie: %d %s", res.Status, res.Body)
		}
	}
	if got := s.freeAt(t, start); got != 146 {
		t.Errorf("%d free after two holds of one browser, want 146: the second replaces the first", got)
	}
}

// Releasing holds within seconds of placing them, again and again, is
// slowed down with 429 released_too_quickly and Retry-After; the hold
// stays. Replacing a young hold counts the same.
func TestAPIQuickReleasesSlowedDown(t *testing.T) {
	s := startServer(t, "-one-hold-api", "-secret-key="+booking.RandomCode(32), "-rate-limit=100", "-rate-burst=100",
		"-quick-release-burst=1", "-quick-release-per-minute=1")
	start := s.poolSlot(t)
	id := s.mustHold(t, s.pool, "erwachsene", start, 1)
	if res := s.do(t, "DELETE", "/api/v1/holds/"+id, ""); res.Status != 204 {
		t.Fatalf("first quick release: %d %s", res.Status, res.Body)
	}
	id = s.mustHold(t, s.pool, "erwachsene", start, 1)
	res := s.do(t, "DELETE", "/api/v1/holds/"+id, "")
	if res.Status != 429 || !bytes.Contains(res.Body, []byte(`"released_too_quickly"`)) {
		t.Fatalf("second quick release: %d %s, want 429 released_too_quickly", res.Status, res.Body)
	}
	if wait, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || wait < 1 || wait > 60 {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if got := s.freeAt(t, start); got != 149 {
		t.Errorf("%d free, want 149: the refused release keeps the hold", got)
	}
	res = s.do(t, "POST", "/api/v1/holds", fmt.Sprintf(`{"location":%q,"service":"erwachsene","start":%q,"units":1}`, s.pool, start))
	if res.Status != 429 || !bytes.Contains(res.Body, []byte(`"released_too_quickly"`)) {
		t.Errorf("a hold replacing the young one: %d %s, want 429 released_too_quickly", res.Status, res.Body)
	}
}

// releaseCity gives the Bürgeramt a release of the day five days ahead,
// every day at 08:00.
func releaseCity(city []byte) []byte {
	return bytes.Replace(city, []byte(`"days_ahead": 60`), []byte(`"days_ahead": 5`), 1)
}

// officeDay is the first weekday from 10 days ahead on which the demo
// Bürgeramt is open.
func officeDay(t *testing.T) booking.Date {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	d := booking.DateOf(time.Now().In(berlin)).AddDays(10)
	for i := 0; i < 20; i++ {
		_, holiday := booking.HolidayRLP(d)
		wd := d.Weekday()
		if !holiday && wd != time.Saturday && wd != time.Sunday && !(d.Month == time.December && (d.Day == 24 || d.Day == 31)) {
			return d
		}
		d = d.AddDays(1)
	}
	t.Fatal("no open weekday found")
	return booking.Date{}
}

// A day inside the horizon but not released yet lists no times, refuses
// holds with 422 not_released, and its pages say when it opens.
func TestReleaseScheduleOnTheServer(t *testing.T) {
	rdb := servicetest.Redis(t)
	s := launch(t, serverSetup{dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, city: releaseCity})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := officeDay(t)
	start := time.Date(day.Year, day.Month, day.Day, 9, 0, 0, 0, berlin).UTC().Format(time.RFC3339)

	res := s.do(t, "GET", "/api/v1/availability?location=buergeramt-koblenz&service=personalausweis&from="+day.String(), "")
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	if res.Status != 200 || len(av.Slots) != 0 {
		t.Errorf("availability of a day not released: %d, %d slots", res.Status, len(av.Slots))
	}
	res = s.do(t, "POST", "/api/v1/holds", `{"location":"buergeramt-koblenz","service":"personalausweis","start":"`+start+`"}`)
	if res.Status != 422 || !bytes.Contains(res.Body, []byte(`"not_released"`)) {
		t.Errorf("hold on a day not released: %d %s, want 422 not_released", res.Status, res.Body)
	}

	loc, tz, err := s.deps.engine.Location("buergeramt-koblenz")
	if err != nil {
		t.Fatal(err)
	}
	at, _ := loc.ReleaseOf(day, tz)
	at = at.In(tz)
	want := fmt.Sprintf("Termine für den %02d.%02d. ab %02d.%02d., 08:00 Uhr.", day.Day, int(day.Month), at.Day(), int(at.Month()))
	if status, body := getPage(t, s.URL+"/buergeramt-koblenz/zeit?s=personalausweis&tag="+day.String()); status != 200 || !strings.Contains(body, want) {
		t.Errorf("times page of a day not released: %d, want %q in it", status, want)
	}
	// The day list that reaches the last released day names the next one.
	w := loc.BookingWindow(time.Now(), tz)
	next := w.Last.AddDays(1)
	at, _ = loc.ReleaseOf(next, tz)
	at = at.In(tz)
	want = fmt.Sprintf("Termine für den %02d.%02d. ab %02d.%02d., 08:00 Uhr.", next.Day, int(next.Month), at.Day(), int(at.Month()))
	if status, body := getPage(t, s.URL+"/buergeramt-koblenz/tag?s=personalausweis&von="+w.Last.AddDays(-2).String()); status != 200 || !strings.Contains(body, want) {
		t.Errorf("days page at the end of the released days: %d, want %q in it", status, want)
	}
}

// getPage fetches a page (not an API answer, so not checked against the
// OpenAPI document) in German.
func getPage(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Language", "de")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The pages of the fair-release rules in the browser, with axe-core: the
// notice of the next release on the day list and on the times of a day
// not released yet (German and English), and the page for a browser that
// released holds too quickly.
func TestFairReleasePages(t *testing.T) {
	rdb := servicetest.Redis(t)
	s := launch(t, serverSetup{dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, city: releaseCity,
		flags: []string{"-secret-key=" + booking.RandomCode(32), "-rate-limit=100", "-rate-burst=100", "-quick-release-burst=1"}})
	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	loc, tz, err := s.deps.engine.Location("buergeramt-koblenz")
	if err != nil {
		t.Fatal(err)
	}
	win := loc.BookingWindow(time.Now(), tz)
	closed := officeDay(t)
	for _, lang := range []string{"de", "en"} {
		t.Run("notices-"+lang, func(t *testing.T) {
			c := newCitizen(t, b, s.URL, lang, w)
			c.open("/buergeramt-koblenz/tag?s=personalausweis&von=" + win.Last.AddDays(-2).String())
			c.waitPage("days")
			c.expectText("#release", tr(lang, "Termine für den", "Appointments for"))
			c.check("60-release-days")
			c.open("/buergeramt-koblenz/zeit?s=personalausweis&tag=" + closed.String())
			c.waitPage("times")
			c.expectText("p.notice", tr(lang, "Termine für den", "Appointments for"))
			c.check("61-release-day-closed")
		})
	}
	t.Run("released-too-quickly", func(t *testing.T) {
		c := newCitizen(t, b, s.URL, "de", w)
		hold := func(next string) {
			c.open("/buergeramt-koblenz/tag?s=personalausweis")
			c.waitPage("days")
			c.click(`ul.days li:nth-child(1) a`, "times")
			c.click(`.times .radio:nth-child(1) input`, "")
			c.click(`button.primary`, next)
		}
		ctx := context.Background()
		items := []booking.Item{{ServiceID: "personalausweis", Count: 1}}
		today := booking.DateOf(time.Now().In(tz))
		cal, err := s.deps.engine.Calendar(ctx, "buergeramt-koblenz", items, today, today)
		if err != nil || cal.Next == nil {
			t.Fatalf("next free start: %v", err)
		}
		first := cal.Next.Start
		hold("contact")
		hold("contact") // replaces the first hold: the one quick release of the burst
		// One browser, one live hold: of the two holds of the same time one desk is taken.
		day := booking.DateOf(first.In(tz))
		slots, err := s.deps.engine.Availability(ctx, "buergeramt-koblenz", "personalausweis", day, day)
		if err != nil || len(slots) == 0 || !slots[0].Start.Equal(first) || slots[0].Free != 3 {
			t.Errorf("after two holds of one browser: %+v %v, want %s with 3 of 4 desks free", slots, err, first)
		}
		hold("message")
		c.expectText("h1", "Bitte etwas Geduld")
		c.check("62-released-too-quickly")
	})
}
