package request

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestRequestID: a plausible id from a proxy is kept, anything else is
// replaced by a fresh one; the id is answered and lands in the log lines
// written with the request's context.
func TestRequestID(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(LogHandler{slog.NewJSONHandler(&logs, nil)})
	app := fiber.New()
	app.Use(ID)
	app.Get("/", func(c *fiber.Ctx) error {
		log.InfoContext(c.UserContext(), "hello")
		return c.SendString(IDFrom(c.UserContext()))
	})
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"from the proxy", "f3b1c2d4-aaaa-4bbb-8ccc-0123456789ab", true},
		{"none", "", false},
		{"too short", "abc", false},
		{"forged log line", "abcdefgh\nlevel=ERROR", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest("GET", "/", nil)
			if tt.sent != "" {
				req.Header.Set(HeaderID, tt.sent)
			}
			res, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Header.Get(HeaderID)
			if tt.kept != (got == tt.sent) || !validID(got) {
				t.Errorf("sent %q, answered %q", tt.sent, got)
			}
			if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
				t.Errorf("log without the request id: %s", logs.String())
			}
		})
	}
}
