package citizen

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/response"
)

// pool is a catalog and reservations of one pool; holds always succeed.
type pool struct{}

func (pool) Locations() []booking.Location { return []booking.Location{{ID: "stadtbad"}} }

func (pool) Location(id string) (*booking.Location, *time.Location, error) {
	if id != "stadtbad" {
		return nil, nil, booking.ErrLocationUnknown
	}
	return &booking.Location{ID: id}, time.UTC, nil
}

func (pool) Services(string) ([]booking.Service, error) { return nil, nil }

func (pool) Availability(context.Context, string, string, booking.Date, booking.Date) ([]booking.Slot, error) {
	return nil, nil
}

func (pool) PlaceHold(_ context.Context, loc, svc string, start time.Time, units int) (*booking.Hold, error) {
	return &booking.Hold{ID: "h", LocationID: loc, ServiceID: svc, Start: start, Units: make([]int, units)}, nil
}

func (pool) PlaceHoldFor(_ context.Context, loc string, items []booking.Item, start time.Time) (*booking.Hold, error) {
	n := 0
	for _, it := range items {
		n += it.Count
	}
	return &booking.Hold{ID: "h", LocationID: loc, ServiceID: items[0].ServiceID, Items: items, Start: start, Units: make([]int, n)}, nil
}

func (pool) AvailabilityFor(context.Context, string, []booking.Item, booking.Date, booking.Date) ([]booking.Slot, error) {
	return nil, nil
}

func (pool) Calendar(context.Context, string, []booking.Item, booking.Date, booking.Date) (*booking.Calendar, error) {
	return &booking.Calendar{Days: []booking.CalendarDay{}}, nil
}

func (pool) Window(id string) (booking.Date, booking.Date, error) {
	if id != "stadtbad" {
		return booking.Date{}, booking.Date{}, booking.ErrLocationUnknown
	}
	first, _ := booking.ParseDate("2030-01-01")
	return first, first.AddDays(59), nil
}

func (pool) ReleaseHold(context.Context, string) error { return nil }

func (pool) HoldService(context.Context, string) (*booking.Service, error) {
	return nil, booking.ErrHoldNotFound
}

// limiter allows burst requests per client, or fails when down.
type limiter struct {
	burst int
	seen  map[string]int
	down  bool
}

func (l *limiter) Enabled() bool { return true }

func (l *limiter) Allow(_ context.Context, bucket, client string) (bool, time.Duration, error) {
	if l.down {
		return false, 0, fairness.ErrUnavailable
	}
	l.seen[bucket+" "+client]++
	return l.seen[bucket+" "+client] <= l.burst, 1500 * time.Millisecond, nil
}

// challenges asks for a proof at one location and accepts "solved".
type challenges struct{ required string }

func (c challenges) Issue(scope string) fairness.Challenge {
	return fairness.Challenge{Challenge: scope}
}

func (c challenges) Required(_ context.Context, location, _ string) (bool, error) {
	return location == c.required, nil
}

func (c challenges) Verify(_ context.Context, _, _, _, solution string) error {
	if solution != "solved" {
		return fairness.ErrChallengeInvalid
	}
	return nil
}

func newApp(h *Handler) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h.Routes(app.Group("/api/v1"))
	return app
}

func post(t *testing.T, app *fiber.App, body string, header ...string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/holds", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(b)
}

const holdBody = `{"location":"stadtbad","service":"erwachsene","start":"2030-01-07T09:00:00Z"`

func TestProofOfWork(t *testing.T) {
	app := newApp(&Handler{Catalog: pool{}, Reservations: pool{}, Limiter: &limiter{burst: 100, seen: map[string]int{}},
		Challenges: challenges{required: "stadtbad"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tests := []struct {
		name, pow string
		status    int
		code      string
	}{
		{"no proof", ``, 428, "challenge_required"},
		{"empty proof", `,"pow":{}`, 428, "challenge_required"},
		{"wrong proof", `,"pow":{"challenge":"c","solution":"guess"}`, 403, "challenge_invalid"},
		{"solved", `,"pow":{"challenge":"c","solution":"solved"}`, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := post(t, app, holdBody+tt.pow+"}")
			if status != tt.status || !strings.Contains(body, tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
}
