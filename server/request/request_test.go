package request

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

func TestJSON(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	app.Post("/", func(c *fiber.Ctx) error {
		var v struct {
			Units int `json:"units"`
		}
		if err := JSON(c, &v); err != nil {
			return err
		}
		return response.NoContent(c)
	})
	tests := []struct{ body, want string }{
		{`{"units":2}`, ""},
		{``, "invalid_json"},
		{`{"units":`, "invalid_json"},
		{`{"units":"two"}`, "invalid_request"},
		{`[]`, "must be a JSON object"},
		{` "units"`, "must be a JSON object"},
		{`null`, "must be a JSON object"},
	}
	for _, tt := range tests {
		res, err := app.Test(httptest.NewRequest("POST", "/", strings.NewReader(tt.body)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if tt.want == "" && res.StatusCode != 204 || tt.want != "" && !strings.Contains(string(b), tt.want) {
			t.Errorf("%q: %d %s, want %q", tt.body, res.StatusCode, b, tt.want)
		}
	}
}

func TestDateRange(t *testing.T) {
	app := fiber.New()
	var got [2]string
	var gotErr error
	app.Get("/", func(c *fiber.Ctx) error {
		from, to, err := DateRange(c)
		got, gotErr = [2]string{from.Format("2006-01-02"), to.Format("2006-01-02")}, err
		return nil
	})
	tests := []struct {
		query    string
		from, to string
		bad      string
	}{
		{"", "0001-01-01", "0001-01-01", ""},
		{"from=2026-03-01&to=2026-03-31", "2026-03-01", "2026-03-31", ""},
		{"from=yesterday", "", "", "from"},
		{"from=2026-03-01&to=31.03.2026", "", "", "to"},
	}
	for _, tt := range tests {
		if _, err := app.Test(httptest.NewRequest("GET", "/?"+tt.query, nil)); err != nil {
			t.Fatal(err)
		}
		var e *response.Error
		switch {
		case tt.bad != "":
			if !errors.As(gotErr, &e) || !strings.HasPrefix(e.Message, tt.bad+":") {
				t.Errorf("%q: %v, want an error for %s", tt.query, gotErr, tt.bad)
			}
		case gotErr != nil || got != [2]string{tt.from, tt.to}:
			t.Errorf("%q: %v %v", tt.query, got, gotErr)
		}
	}
}

func FuzzJSON(f *testing.F) {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	app.Post("/", func(c *fiber.Ctx) error {
		var v struct {
			Name  string `json:"name"`
			Units *int   `json:"units"`
		}
		if err := JSON(c, &v); err != nil {
			return err
		}
		return response.NoContent(c)
	})
	f.Add(`{"name":"A","units":1}`)
	f.Add(`{"units":"x"}`)
	f.Fuzz(func(t *testing.T, body string) {
		res, err := app.Test(httptest.NewRequest("POST", "/", strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 204 && res.StatusCode != 400 {
			t.Fatalf("%q: status %d", body, res.StatusCode)
		}
	})
}
