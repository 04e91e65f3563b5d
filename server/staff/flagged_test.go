package staff

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/response"
)

type entrances map[string][]booking.Redemption

func (e entrances) FlaggedToday(_ context.Context, location string) ([]booking.Redemption, error) {
	rs, ok := e[location]
	if !ok {
		return nil, booking.ErrLocationUnknown
	}
	return rs, nil
}

// TestFlaggedAdmissions: staff see the offline admissions of tickets
// that were not valid, with why.
func TestFlaggedAdmissions(t *testing.T) {
	at := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	h := &Handler{Staff: auth.APIKey("key"), Entrances: entrances{
		"stadtbad": {{Code: "GGGGGGGG", Location: "stadtbad", Nonce: "n", ScannedAt: at, Offline: true, Flag: booking.FlagCancelled}},
	}}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h.Routes(app.Group("/api/v1"))
	get := func(path, key string) (int, []byte) {
		req := httptest.NewRequest("GET", path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	status, body := get("/api/v1/staff/locations/stadtbad/flagged-admissions", "key")
	var out struct {
		Admissions []admissionJSON `json:"admissions"`
	}
	if err := json.Unmarshal(body, &out); err != nil || status != 200 || len(out.Admissions) != 1 ||
		out.Admissions[0] != (admissionJSON{Code: "GGGGGGGG", ScannedAt: at, Offline: true, Flag: "booking_cancelled"}) {
		t.Fatalf("%d %s %v", status, body, err)
	}
	if status, body := get("/api/v1/staff/locations/stadtbad/flagged-admissions", ""); status != 401 {
		t.Fatalf("without key: %d %s", status, body)
	}
	if status, body := get("/api/v1/staff/locations/nowhere/flagged-admissions", "key"); status != 404 {
		t.Fatalf("unknown location: %d %s", status, body)
	}
}
