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

func TestRateLimitedPerClientAddress(t *testing.T) {
	l := &limiter{burst: 1, seen: map[string]int{}}
	app := newApp(&Handler{Catalog: pool{}, Reservations: pool{}, Limiter: l, Challenges: challenges{},
		ClientIPHeader: "X-Forwarded-For", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tests := []struct {
		name, xff  string
		status     int
		retryAfter string
	}{
		{"first", "203.0.113.7", 201, ""},
		{"over the burst", "203.0.113.7", 429, "2"},
		{"forged first entry", "198.51.100.1, 203.0.113.7", 429, "2"},
		{"another client", "203.0.113.8", 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, retry, body := post(t, app, holdBody+"}", "X-Forwarded-For", tt.xff)
			if status != tt.status || retry != tt.retryAfter {
				t.Fatalf("got %d Retry-After %q %s", status, retry, body)
			}
		})
	}
	// A limiter outage lets requests through.
	l.down = true
	if status, _, body := post(t, app, holdBody+"}", "X-Forwarded-For", "203.0.113.7"); status != 201 {
		t.Fatalf("limiter down: %d %s", status, body)
	}
}

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

func TestClientAddr(t *testing.T) {
	tests := []struct{ header, value, want string }{
		{"", "203.0.113.7", "0.0.0.0"},
		{"X-Forwarded-For", "", "0.0.0.0"},
		{"X-Forwarded-For", "203.0.113.7", "203.0.113.7"},
		{"X-Forwarded-For", "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"X-Forwarded-For", "203.0.113.7, not-an-address", "0.0.0.0"},
		{"X-Real-IP", " 2001:db8::1 ", "2001:db8::1"},
	}
	for _, tt := range tests {
		app := fiber.New()
		var got string
		app.Get("/", func(c *fiber.Ctx) error { got = clientAddr(c, tt.header); return nil })
		req := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			req.Header.Set(tt.header, tt.value)
		} else {
			req.Header.Set("X-Forwarded-For", tt.value)
		}
		if _, err := app.Test(req); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s %q: %s, want %s", tt.header, tt.value, got, tt.want)
		}
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("198.51.100.1, 203.0.113.7")
	f.Add("2001:db8::1")
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString(clientAddr(c, "X-Forwarded-For")) })
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["X-Forwarded-For"] = []string{v}
		res, err := app.Test(req)
		if err != nil {
			t.Skip() // a value the HTTP client refuses to send
		}
		b, _ := io.ReadAll(res.Body)
		if len(b) == 0 || strings.ContainsAny(string(b), ", ") {
			t.Fatalf("%q gave %q", v, b)
		}
	})
}
