package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
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

// An API client (told apart by its address) has one live hold per
// location: a second replaces the first.
func TestAPIOneHoldPerClient(t *testing.T) {
	s := startServer(t)
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
	if res.Status != 410 {
		t.Errorf("booking the replaced hold: %d %s, want 410", res.Status, res.Body)
	}
}

// Releasing holds within seconds of placing them, again and again, is
// slowed down with 429 released_too_quickly and Retry-After; the hold
// stays. Replacing a young hold counts the same.
func TestAPIQuickReleasesSlowedDown(t *testing.T) {
	s := startServer(t, "-secret-key="+booking.RandomCode(32), "-rate-limit=100", "-rate-burst=100",
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
