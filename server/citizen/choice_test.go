package citizen

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

// recorder is the pool fake that remembers the choice it was asked about
// and answers the manage calls.
type recorder struct {
	pool
	items []booking.Item
	// linked lists the code+email pairs a manage link went out for.
	linked []string
}

func (r *recorder) PlaceHoldFor(ctx context.Context, loc string, items []booking.Item, start time.Time) (*booking.Hold, error) {
	r.items = items
	return r.pool.PlaceHoldFor(ctx, loc, items, start)
}

func (r *recorder) AvailabilityFor(_ context.Context, _ string, items []booking.Item, _, _ booking.Date) ([]booking.Slot, error) {
	r.items = items
	return nil, nil
}

func (r *recorder) Calendar(ctx context.Context, loc string, items []booking.Item, from, to booking.Date) (*booking.Calendar, error) {
	r.items = items
	return r.pool.Calendar(ctx, loc, items, from, to)
}

func (r *recorder) Book(context.Context, string, booking.Contact) (*booking.Confirmation, error) {
	return nil, errors.New("not used")
}

func (r *recorder) Lookup(context.Context, string, string) (*booking.Booking, error) {
	return nil, booking.ErrBookingNotFound
}

func (r *recorder) Cancel(context.Context, string, string) (*Cancellation, error) {
	return nil, booking.ErrBookingNotFound
}

func (r *recorder) Activate(context.Context, string, string) (*booking.Booking, error) {
	return nil, booking.ErrNotActivatable
}

func (r *recorder) Reschedule(context.Context, string, string, string) (*booking.Booking, error) {
	return nil, booking.ErrNotReschedulable
}

func (r *recorder) SendManageLink(_ context.Context, code, email, _ string) error {
	if code != "ABCDEFGH" || email != "anna@example.org" {
		return booking.ErrBookingNotFound
	}
	r.linked = append(r.linked, code+" "+email)
	return nil
}

func newRecorderApp() (*fiber.App, *recorder) {
	r := &recorder{}
	return newApp(&Handler{Catalog: pool{}, Reservations: r, Bookings: r, Limiter: &limiter{burst: 100, seen: map[string]int{}},
		Challenges: challenges{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), r
}

func do(t *testing.T, app *fiber.App, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer token")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHoldChoices(t *testing.T) {
	const at = `"location":"stadtbad","start":"2030-01-07T09:00:00Z"`
	tests := []struct {
		name, body string
		status     int
		items      []booking.Item // nil: PlaceHoldFor not asked
		code       string
	}{
		{"one service", `{` + at + `,"service":"erwachsene","units":2}`, 201, nil, ""},
		{"several services", `{` + at + `,"services":["personalausweis","reisepass"]}`, 201,
			[]booking.Item{{ServiceID: "personalausweis", Count: 1}, {ServiceID: "reisepass", Count: 1}}, ""},
		{"tickets", `{` + at + `,"tickets":[{"service":"erwachsene","count":2},{"service":"ermaessigt","count":1}]}`, 201,
			[]booking.Item{{ServiceID: "erwachsene", Count: 2}, {ServiceID: "ermaessigt", Count: 1}}, ""},
		{"no choice", `{` + at + `}`, 400, nil, "invalid_request"},
		{"two forms", `{` + at + `,"service":"a","services":["b"]}`, 400, nil, "invalid_request"},
		{"empty service id", `{` + at + `,"services":["a",""]}`, 400, nil, "invalid_request"},
		{"ticket without service", `{` + at + `,"tickets":[{"count":2}]}`, 400, nil, "invalid_request"},
		{"too many items", `{` + at + `,"services":["a","b","c","d","e","f","g","h","i","j","k"]}`, 422, nil, "choice_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, r := newRecorderApp()
			status, body := do(t, app, "POST", "/api/v1/holds", tt.body)
			if status != tt.status || !strings.Contains(body, tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
			if !slices.Equal(r.items, tt.items) {
				t.Fatalf("items %v, want %v", r.items, tt.items)
			}
			if status == 201 && !strings.Contains(body, `"items":[`) {
				t.Fatalf("hold without items: %s", body)
			}
		})
	}
}

func TestChoiceQueries(t *testing.T) {
	tests := []struct {
		query  string
		status int
		items  []booking.Item
	}{
		{"services=personalausweis&services=reisepass", 200,
			[]booking.Item{{ServiceID: "personalausweis", Count: 1}, {ServiceID: "reisepass", Count: 1}}},
		{"services=personalausweis,reisepass", 200,
			[]booking.Item{{ServiceID: "personalausweis", Count: 1}, {ServiceID: "reisepass", Count: 1}}},
		{"tickets=erwachsene:2&tickets=ermaessigt:1", 200,
			[]booking.Item{{ServiceID: "erwachsene", Count: 2}, {ServiceID: "ermaessigt", Count: 1}}},
		{"service=erwachsene&units=3", 200, []booking.Item{{ServiceID: "erwachsene", Count: 3}}},
		{"service=erwachsene&units=many", 400, nil},
		{"tickets=erwachsene", 400, nil},
		{"tickets=:2", 400, nil},
		{"", 400, nil},
	}
	for _, path := range []string{"/api/v1/availability?location=stadtbad&from=2030-01-07&", "/api/v1/calendar?location=stadtbad&"} {
		for _, tt := range tests {
			t.Run(path+tt.query, func(t *testing.T) {
				app, r := newRecorderApp()
				status, body := do(t, app, "GET", path+tt.query, "")
				if status != tt.status || !slices.Equal(r.items, tt.items) {
					t.Fatalf("got %d %s items %v, want %d %v", status, body, r.items, tt.status, tt.items)
				}
			})
		}
	}
}

func TestCalendarRange(t *testing.T) {
	app, _ := newRecorderApp()
	tests := []struct {
		query  string
		status int
	}{
		{"", 200},
		{"&from=2030-01-10&to=2030-01-20", 200},
		{"&from=2030-01-20&to=2030-01-10", 400},
		{"&from=tomorrow", 400},
	}
	for _, tt := range tests {
		status, body := do(t, app, "GET", "/api/v1/calendar?location=stadtbad&services=erwachsene"+tt.query, "")
		if status != tt.status {
			t.Errorf("%s: %d %s", tt.query, status, body)
		}
	}
	if status, body := do(t, app, "GET", "/api/v1/calendar?location=nowhere&services=erwachsene", ""); status != 404 {
		t.Errorf("unknown location: %d %s", status, body)
	}
}

// TestManageLinkNeverTells: a matching and a wrong code get the same
// answer; only the match sends a link.
func TestManageLinkNeverTells(t *testing.T) {
	app, r := newRecorderApp()
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"code":"ABCDEFGH","email":"anna@example.org"}`, 202, "accepted"},
		{`{"code":"ZZZZZZZZ","email":"anna@example.org"}`, 202, "accepted"},
		{`{"code":"ABCDEFGH","email":"bob@example.org","lang":"en"}`, 202, "accepted"},
		{`{"code":"ABCDEFGH"}`, 400, "invalid_request"},
		{`{"email":"anna@example.org"}`, 400, "invalid_request"},
		{`{"code":"ABCDEFGH","email":"anna@example.org","lang":"fr"}`, 422, "lang_invalid"},
	}
	var answers []string
	for _, tt := range tests {
		status, body := do(t, app, "POST", "/api/v1/manage-links", tt.body)
		if status != tt.status || !strings.Contains(body, tt.code) {
			t.Fatalf("%s: got %d %s", tt.body, status, body)
		}
		if status == 202 {
			answers = append(answers, body)
		}
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Fatalf("answers differ: %q", answers)
	}
	if len(r.linked) != 1 {
		t.Fatalf("links sent: %v", r.linked)
	}
}

func TestManageErrors(t *testing.T) {
	app, _ := newRecorderApp()
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/api/v1/bookings/ABCDEFGH/activate", "", 409, "not_activatable"},
		{"POST", "/api/v1/bookings/ABCDEFGH/reschedule", `{"hold":"h"}`, 409, "not_reschedulable"},
		{"POST", "/api/v1/bookings/ABCDEFGH/reschedule", `{}`, 400, "invalid_request"},
	}
	for _, tt := range tests {
		status, body := do(t, app, tt.method, tt.path, tt.body)
		if status != tt.status || !strings.Contains(body, tt.code) {
			t.Errorf("%s %s: got %d %s", tt.method, tt.path, status, body)
		}
	}
}

func FuzzChoiceQuery(f *testing.F) {
	f.Add("services=a&services=b,c")
	f.Add("tickets=erwachsene:2&tickets=ermaessigt:1")
	f.Add("service=a&units=-1")
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	app.Get("/", func(c *fiber.Ctx) error {
		items, err := choiceOfQuery(c)
		if err != nil {
			return err
		}
		if len(items) == 0 || len(items) > booking.MaxChoiceItems {
			return c.Status(500).SendString("bad item count")
		}
		for _, it := range items {
			if it.ServiceID == "" {
				return c.Status(500).SendString("empty service id")
			}
		}
		return c.SendStatus(200)
	})
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.RawQuery = q
		res, err := app.Test(req)
		if err != nil {
			t.Skip()
		}
		if res.StatusCode == 500 {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%q: %s", q, b)
		}
	})
}
