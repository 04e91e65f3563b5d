package citizen

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

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
		app.Get("/", func(c *fiber.Ctx) error { got = ClientAddr(c, tt.header); return nil })
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
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString(ClientAddr(c, "X-Forwarded-For")) })
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
