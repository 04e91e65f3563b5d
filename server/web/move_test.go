package web

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
)

// Fakes of the page interfaces: one office with one service, one booking.

var (
	fakeNow     = time.Date(2030, 1, 7, 7, 0, 0, 0, time.UTC)
	fakeStart   = time.Date(2030, 1, 8, 8, 0, 0, 0, time.UTC)
	fakeOffice  = booking.Location{ID: "amt", Kind: booking.KindOffice, Name: "Amt", Timezone: "Europe/Berlin", Capacity: 2, SlotMinutes: 10}
	fakeService = booking.Service{ID: "pass", LocationID: "amt", Name: "Pass", DurationMinutes: 20, Payment: booking.PayCounter, MaxUnits: 1}
)

var _, testSigningKey, _ = ed25519.GenerateKey(nil)

type fakes struct {
	mu        sync.Mutex // the browser test's server reads what the test writes
	moved     []string
	status    string // of the one booking; confirmed when empty
	activated int
}

func (f *fakes) Activate(ctx context.Context, code, token string) (*booking.Booking, error) {
	f.mu.Lock()
	f.activated++
	f.status = booking.StatusConfirmed
	f.mu.Unlock()
	return f.Lookup(ctx, code, token)
}

func (f *fakes) Locations() []booking.Location { return []booking.Location{fakeOffice} }
func (f *fakes) Location(id string) (*booking.Location, *time.Location, error) {
	if id != fakeOffice.ID {
		return nil, nil, booking.ErrLocationUnknown
	}
	l := fakeOffice
	tz, _ := time.LoadLocation("Europe/Berlin")
	return &l, tz, nil
}
func (f *fakes) Services(string) ([]booking.Service, error) {
	return []booking.Service{fakeService}, nil
}
func (f *fakes) Calendar(ctx context.Context, loc string, items []Item, from, to booking.Date) ([]Day, *booking.Slot, error) {
	s := booking.Slot{Start: fakeStart.Add(24 * time.Hour), End: fakeStart.Add(24*time.Hour + 20*time.Minute), Free: 1}
	return []Day{{booking.DateOf(s.Start), 1}}, &s, nil
}
func (f *fakes) Times(ctx context.Context, loc string, items []Item, day booking.Date) ([]booking.Slot, error) {
	return []booking.Slot{{Start: fakeStart.Add(24 * time.Hour), End: fakeStart.Add(24*time.Hour + 20*time.Minute), Free: 1}}, nil
}
func (f *fakes) PlaceHold(ctx context.Context, loc string, items []Item, start time.Time) (*booking.Hold, error) {
	return &booking.Hold{ID: "amt.20300109.HOLD", LocationID: loc, ServiceID: items[0].ServiceID, Start: start, End: start.Add(20 * time.Minute), Units: []int{0}, ExpiresAt: fakeNow.Add(10 * time.Minute)}, nil
}
func (f *fakes) ReleaseHold(context.Context, string) error { return nil }
func (f *fakes) Book(context.Context, string, Contact) (*booking.Confirmation, error) {
	return nil, booking.ErrHoldExpired
}
func (f *fakes) Lookup(ctx context.Context, code, token string) (*booking.Booking, error) {
	if code != "CODE1234" || token != "tok" {
		return nil, booking.ErrBookingNotFound
	}
	f.mu.Lock()
	st := f.status
	f.mu.Unlock()
	if st == "" {
		st = booking.StatusConfirmed
	}
	return &booking.Booking{ID: 1, Code: code, LocationID: "amt", ServiceID: "pass", Start: fakeStart, End: fakeStart.Add(20 * time.Minute), Units: []int{0}, Status: st}, nil
}
func (f *fakes) Cancel(context.Context, string, string) error { return nil }
func (f *fakes) Reschedule(ctx context.Context, code, token, holdID string) (*booking.Booking, error) {
	f.mu.Lock()
	f.moved = append(f.moved, code+" "+token+" "+holdID)
	f.mu.Unlock()
	return f.Lookup(ctx, code, token)
}

func fakeApp(f *fakes, move bool) *fiber.App {
	h := &Handler{Catalog: f, Reservations: f, Bookings: f, Key: []byte("k"), SigningKey: testSigningKey, Now: func() time.Time { return fakeNow },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if move {
		h.Rescheduler = f
	}
	app := fiber.New()
	h.Routes(app)
	return app
}

func send(t *testing.T, app *fiber.App, method, path string, form url.Values, cookies ...string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestMoveBooking(t *testing.T) {
	f := &fakes{}
	app := fakeApp(f, true)
	manage, csrf := "termin_manage=tok", "termin_csrf=abcdefghijklmnopqrstuv"

	page := send(t, app, "GET", "/termin/CODE1234", nil, manage)
	b, _ := io.ReadAll(page.Body)
	if !strings.Contains(string(b), "/termin/CODE1234/verschieben") {
		t.Fatalf("manage page offers no move:\n%s", b)
	}
	res := send(t, app, "GET", "/termin/CODE1234/verschieben", nil, manage)
	if loc := res.Header.Get("Location"); res.StatusCode != 303 || !strings.HasPrefix(loc, "/amt/tag?") || !strings.Contains(loc, "umbuchen=CODE1234") {
		t.Fatalf("start: %d %s", res.StatusCode, loc)
	}
	start := fakeStart.Add(24 * time.Hour).Format(time.RFC3339)
	res = send(t, app, "POST", "/amt/reservieren", url.Values{"s": {"pass"}, "umbuchen": {"CODE1234"}, "start": {start}, "csrf": {"abcdefghijklmnopqrstuv"}}, csrf)
	review := res.Header.Get("Location")
	if res.StatusCode != 303 || !strings.HasPrefix(review, "/termin/CODE1234/verschieben/") {
		t.Fatalf("hold for the move: %d %s", res.StatusCode, review)
	}
	res = send(t, app, "GET", review, nil, manage, csrf)
	b, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "Ja, Termin verschieben") {
		t.Fatalf("review: %d\n%s", res.StatusCode, b)
	}
	// Without the form token nothing moves.
	if res := send(t, app, "POST", review, url.Values{}, manage, csrf); res.StatusCode != 403 || len(f.moved) != 0 {
		t.Fatalf("move without token: %d %v", res.StatusCode, f.moved)
	}
	res = send(t, app, "POST", review, url.Values{"csrf": {"abcdefghijklmnopqrstuv"}}, manage, csrf)
	if res.StatusCode != 303 || res.Header.Get("Location") != "/termin/CODE1234" || len(f.moved) != 1 || f.moved[0] != "CODE1234 tok amt.20300109.HOLD" {
		t.Fatalf("move: %d %s %v", res.StatusCode, res.Header.Get("Location"), f.moved)
	}
	// A GET never moves.
	send(t, app, "GET", review, nil, manage, csrf)
	if len(f.moved) != 1 {
		t.Fatal("a GET moved the booking")
	}
}

// Without a rescheduler there is no move button and no move route.
func TestMoveHiddenWithoutRescheduler(t *testing.T) {
	app := fakeApp(&fakes{}, false)
	page := send(t, app, "GET", "/termin/CODE1234", nil, "termin_manage=tok")
	b, _ := io.ReadAll(page.Body)
	if strings.Contains(string(b), "verschieben") {
		t.Fatal("move offered without a rescheduler")
	}
	if res := send(t, app, "GET", "/termin/CODE1234/verschieben", nil, "termin_manage=tok"); res.StatusCode != 404 {
		t.Fatalf("move route: %d", res.StatusCode)
	}
}

type finder struct{ sent []string }

func (f *finder) SendManageLink(ctx context.Context, code, email, lang string) error {
	if code != "CODE1234" || email != "erika@example.org" {
		return booking.ErrBookingNotFound
	}
	f.sent = append(f.sent, code+" "+email+" "+lang)
	return nil
}

// "Find my booking" answers the same for a match and a miss, and shows
// field errors next to the fields.
func TestFindMyBooking(t *testing.T) {
	f := &fakes{}
	fd := &finder{}
	h := &Handler{Catalog: f, Reservations: f, Bookings: f, Finder: fd, Key: []byte("k"), SigningKey: testSigningKey, Now: func() time.Time { return fakeNow },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New()
	h.Routes(app)
	csrf := "termin_csrf=abcdefghijklmnopqrstuv"
	body := func(res *http.Response) string { b, _ := io.ReadAll(res.Body); return string(b) }
	hit := send(t, app, "POST", "/termin/suchen", url.Values{"code": {"code1234"}, "email": {"erika@example.org"}, "csrf": {"abcdefghijklmnopqrstuv"}}, csrf)
	miss := send(t, app, "POST", "/termin/suchen", url.Values{"code": {"XXXX9999"}, "email": {"erika@example.org"}, "csrf": {"abcdefghijklmnopqrstuv"}}, csrf)
	hb, mb := body(hit), body(miss)
	if hit.StatusCode != 200 || miss.StatusCode != 200 || !strings.Contains(hb, "Wenn es zu diesem Code") || strings.ReplaceAll(hb, "CODE1234", "") != strings.ReplaceAll(mb, "XXXX9999", "") {
		t.Fatalf("hit and miss differ: %d %d", hit.StatusCode, miss.StatusCode)
	}
	if len(fd.sent) != 1 || fd.sent[0] != "CODE1234 erika@example.org de" {
		t.Fatalf("sent %v", fd.sent)
	}
	bad := send(t, app, "POST", "/termin/suchen", url.Values{"code": {"x"}, "email": {"nope"}, "csrf": {"abcdefghijklmnopqrstuv"}}, csrf)
	bb := body(bad)
	if bad.StatusCode != 422 || !strings.Contains(bb, `href="#code"`) || !strings.Contains(bb, `href="#email"`) || !strings.Contains(bb, `value="nope"`) {
		t.Fatalf("bad input: %d\n%s", bad.StatusCode, bb)
	}
	if len(fd.sent) != 1 {
		t.Fatal("bad input sent a link")
	}
	if res := send(t, app, "GET", "/termin/suchen", nil); res.StatusCode != 200 {
		t.Fatalf("form: %d", res.StatusCode)
	}
}

// The activation link shows a button and changes nothing; the POST with
// the form token activates.
func TestActivation(t *testing.T) {
	f := &fakes{status: statusPendingActivation}
	h := &Handler{Catalog: f, Reservations: f, Bookings: f, Activator: f, Key: []byte("k"), SigningKey: testSigningKey,
		Now: func() time.Time { return fakeNow }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New()
	h.Routes(app)
	res := send(t, app, "GET", "/termin/CODE1234/aktivieren?t=tok", nil)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), "activate-confirm") || !strings.Contains(res.Header.Get("Set-Cookie"), "termin_manage=tok") || f.activated != 0 {
		t.Fatalf("link: %d %q activated %d", res.StatusCode, res.Header.Get("Set-Cookie"), f.activated)
	}
	manage, csrf := "termin_manage=tok", "termin_csrf=abcdefghijklmnopqrstuv"
	if res := send(t, app, "POST", "/termin/CODE1234/aktivieren", url.Values{}, manage, csrf); res.StatusCode != 403 || f.activated != 0 {
		t.Fatalf("without form token: %d", res.StatusCode)
	}
	res = send(t, app, "POST", "/termin/CODE1234/aktivieren", url.Values{"csrf": {"abcdefghijklmnopqrstuv"}}, manage, csrf)
	if res.StatusCode != 303 || f.activated != 1 {
		t.Fatalf("activate: %d activated %d", res.StatusCode, f.activated)
	}
}

func (f *fakes) setStatus(s string) { f.mu.Lock(); f.status = s; f.mu.Unlock() }

func (f *fakes) state() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, len(f.moved)
}
