package device

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/response"
)

var slotStart = time.Date(2030, time.January, 7, 9, 0, 0, 0, time.UTC)

// gate is an in-memory entrance: one enrolled gate at the pool and the
// admissions it recorded, first by nonce, then by ticket.
type gate struct {
	down    error
	byNonce map[string]booking.Redemption
	byCode  map[string]booking.Redemption
	// cancelled are the codes of cancelled bookings.
	cancelled map[string]bool
	now       time.Time
}

func (g *gate) DeviceByToken(_ context.Context, token string) (*booking.Device, error) {
	if token != "gate-token" {
		return nil, booking.ErrDeviceUnknown
	}
	return &booking.Device{ID: "dev-1", LocationID: "stadtbad", Mode: booking.ModeGate}, nil
}

func (g *gate) EnrollDevice(context.Context, string) (*booking.Device, string, error) {
	return nil, "", booking.ErrEnrollmentCode
}

func (g *gate) Heartbeat(context.Context, string, string, json.RawMessage) error { return g.down }

func (g *gate) WalkIn(_ context.Context, _, service string) (*booking.QueueTicket, error) {
	if service == "closed" {
		berlin, _ := time.LoadLocation("Europe/Berlin")
		return nil, &booking.ClosedError{Location: &booking.Location{ID: "amt", Name: "Bürgeramt"},
			Opens: time.Date(2030, time.January, 7, 8, 0, 0, 0, berlin), Zone: berlin}
	}
	return nil, booking.ErrServiceUnknown
}

func (g *gate) CheckIn(context.Context, string, string) (*booking.QueueTicket, error) {
	return nil, booking.ErrBookingNotFound
}

func (g *gate) AppointmentStart(context.Context, int64) (time.Time, error) { return slotStart, nil }

func (g *gate) Redeem(_ context.Context, deviceID string, r booking.Redemption) (*booking.Redemption, error) {
	if g.down != nil {
		return nil, g.down
	}
	if r.ScannedAt.After(g.now.Add(booking.ScanClockSkew)) {
		return nil, booking.ErrScanInFuture
	}
	if g.cancelled[r.Code] {
		if !r.Offline {
			return nil, booking.ErrBookingCancelled
		}
		r.Flag = booking.FlagCancelled
	}
	if first, ok := g.byNonce[r.Nonce]; ok {
		if first.Code != r.Code {
			return nil, booking.ErrNonceReused
		}
		if first.Flag != "" {
			return &first, booking.ErrAdmittedRevoked
		}
		return &first, nil
	}
	if first, ok := g.byCode[r.Code]; ok {
		return &first, booking.ErrAlreadyRedeemed
	}
	g.byNonce[r.Nonce], g.byCode[r.Code] = r, r
	if r.Flag != "" {
		return &r, booking.ErrAdmittedRevoked
	}
	return &r, nil
}

func (g *gate) RevokedCodes(_ context.Context, location string, from, to time.Time) ([]string, error) {
	var codes []string
	for c := range g.cancelled {
		codes = append(codes, c)
	}
	return codes, g.down
}

func (g *gate) Location(id string) (*booking.Location, *time.Location, error) {
	return &booking.Location{ID: id, Name: "Stadtbad"}, time.UTC, nil
}

func (g *gate) Services(string) ([]booking.Service, error) { return nil, nil }

func (g *gate) Service(string, string) (*booking.Service, error) {
	return nil, booking.ErrServiceUnknown
}

type redemptionResult struct {
	Nonce, Result, Code, Reason string
	First                       *time.Time `json:"first_scanned_at"`
}

func TestRedemptions(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	now := slotStart.Add(5 * time.Minute)
	g := &gate{byNonce: map[string]booking.Redemption{}, byCode: map[string]booking.Redemption{},
		cancelled: map[string]bool{"GGGGGGGG": true, "HHHHHHHH": true}, now: now}
	h := &Handler{Catalog: g, Registry: g, Queue: g, PublicKey: pub, GateEarly: 15 * time.Minute, GateLate: 30 * time.Minute,
		Now: func() time.Time { return now }}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h.Routes(app.Group("/api/v1"))

	ticket := func(k ed25519.PrivateKey, code, location string, start time.Time) string {
		return booking.SignTicket(k, booking.TicketClaims{Code: code, Location: location, Service: "erwachsene",
			Start: start.Unix(), End: start.Add(time.Hour).Unix(), Units: 1})
	}
	good := ticket(key, "AAAAAAAA", "stadtbad", slotStart)
	scan := func(qr, nonce string, offline bool, at time.Time) string {
		b, _ := json.Marshal(map[string]any{"qr": qr, "nonce": nonce, "offline": offline, "scanned_at": at})
		return string(b)
	}
	redeem := func(t *testing.T, scans ...string) (int, string) {
		t.Helper()
		req := httptest.NewRequest("POST", "/api/v1/kiosk/redemptions", strings.NewReader(`{"redemptions":[`+strings.Join(scans, ",")+`]}`))
		req.Header.Set("Authorization", "Bearer gate-token")
		req.Header.Set("Content-Type", "application/json")
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	results := func(t *testing.T, body string) []redemptionResult {
		t.Helper()
		var out struct{ Results []redemptionResult }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return out.Results
	}

	tests := []struct {
		name, scan     string
		result, reason string
	}{
		{"first entry", scan(good, "n1", false, time.Time{}), "admitted", ""},
		{"same upload again", scan(good, "n1", false, time.Time{}), "admitted", ""},
		{"second entry", scan(good, "n2", false, time.Time{}), "refused", "already_redeemed"},
		{"forged", scan(ticket(otherKey, "BBBBBBBB", "stadtbad", slotStart), "n3", false, time.Time{}), "refused", "ticket_invalid"},
		{"not a ticket", scan("hello", "n4", false, time.Time{}), "refused", "ticket_invalid"},
		{"other location", scan(ticket(key, "CCCCCCCC", "freibad", slotStart), "n5", false, time.Time{}), "refused", "wrong_location"},
		{"later slot", scan(ticket(key, "DDDDDDDD", "stadtbad", slotStart.Add(3*time.Hour)), "n6", false, time.Time{}), "refused", "outside_slot"},
		{"offline scan in its slot", scan(ticket(key, "EEEEEEEE", "stadtbad", slotStart.Add(-3*time.Hour)), "n7", true, slotStart.Add(-3*time.Hour)), "admitted", ""},
		{"no nonce", scan(good, "", false, time.Time{}), "refused", "nonce_invalid"},
		{"nonce too long", scan(good, strings.Repeat("n", 101), false, time.Time{}), "refused", "nonce_invalid"},
		{"nonce of another ticket", scan(ticket(key, "JJJJJJJJ", "stadtbad", slotStart), "n1", true, now), "refused", "nonce_reused"},
		{"offline scan two days ahead", scan(ticket(key, "KKKKKKKK", "stadtbad", slotStart.Add(48*time.Hour)), "n10", true, now.Add(48*time.Hour)), "refused", "scanned_in_future"},
		{"cancelled booking", scan(ticket(key, "GGGGGGGG", "stadtbad", slotStart), "n11", false, time.Time{}), "refused", "booking_cancelled"},
		{"cancelled booking admitted offline", scan(ticket(key, "HHHHHHHH", "stadtbad", slotStart), "n12", true, now), "flagged", "booking_cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := redeem(t, tt.scan)
			r := results(t, body)
			if status != 200 || len(r) != 1 || r[0].Result != tt.result || r[0].Reason != tt.reason {
				t.Fatalf("got %d %s, want %s %s", status, body, tt.result, tt.reason)
			}
			if tt.result != "refused" && r[0].First == nil {
				t.Fatalf("no first scan time: %s", body)
			}
		})
	}

	// One bad scan in an upload is answered on its own; the others are
	// recorded.
	status, body := redeem(t,
		scan(ticket(key, "QQQQQQQQ", "stadtbad", slotStart), "n20", true, now),
		scan(ticket(key, "MMMMMMMM", "stadtbad", slotStart), "n20", true, now),
		scan(ticket(key, "NNNNNNNN", "stadtbad", slotStart), "n21", true, now.Add(time.Hour)),
		scan(ticket(key, "PPPPPPPP", "stadtbad", slotStart), "n22", true, now))
	r := results(t, body)
	if status != 200 || len(r) != 4 {
		t.Fatalf("batch with a reused nonce: %d %s", status, body)
	}
	for i, want := range []string{"admitted", "refused nonce_reused", "refused scanned_in_future", "admitted"} {
		if got := strings.TrimSpace(r[i].Result + " " + r[i].Reason); got != want {
			t.Errorf("scan %d: %s, want %s", i, got, want)
		}
	}
	if _, ok := g.byCode["PPPPPPPP"]; !ok {
		t.Error("the scan after the bad ones was not recorded")
	}

	batch := make([]string, 501)
	for i := range batch {
		batch[i] = scan(good, fmt.Sprint("b", i), false, time.Time{})
	}
	if status, body := redeem(t, batch...); status != 400 || !strings.Contains(body, "invalid_request") {
		t.Fatalf("501 scans: %d %s", status, body)
	}
	g.down = fmt.Errorf("%w: redeem: connection refused", booking.ErrUnavailable)
	if status, body := redeem(t, scan(ticket(key, "FFFFFFFF", "stadtbad", slotStart), "n9", false, time.Time{})); status != 503 || !strings.Contains(body, `"unavailable"`) {
		t.Fatalf("store down: %d %s", status, body)
	}
}

// TestGateConfigRevocations: a gate's configuration carries the codes of
// cancelled bookings, so it refuses them while offline.
func TestGateConfigRevocations(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	now := slotStart
	g := &gate{cancelled: map[string]bool{"GGGGGGGG": true}, now: now}
	h := &Handler{Catalog: g, Registry: g, Queue: g, Revocations: g, PublicKey: pub, Now: func() time.Time { return now }}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h.Routes(app.Group("/api/v1"))
	req := httptest.NewRequest("GET", "/api/v1/kiosk/config", nil)
	req.Header.Set("Authorization", "Bearer gate-token")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Revoked   []string   `json:"revoked"`
		RevokedAt *time.Time `json:"revoked_at"`
	}
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s %v", res.StatusCode, b, err)
	}
	if len(out.Revoked) != 1 || out.Revoked[0] != "GGGGGGGG" || out.RevokedAt == nil || !out.RevokedAt.Equal(now) {
		t.Fatalf("config: %s", b)
	}
}

// TestWalkInClosed: outside opening hours the kiosk is told the office is
// closed and when it opens, in the office's time zone.
func TestWalkInClosed(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	g := &gate{}
	for _, tt := range []struct {
		name   string
		now    time.Time
		en, de string
	}{
		{"the same morning", time.Date(2030, time.January, 7, 7, 0, 0, 0, berlin),
			"Bürgeramt is closed now. It opens today at 08:00.", "Bürgeramt ist jetzt geschlossen. Heute ab 08:00 Uhr geöffnet."},
		{"the weekend before", time.Date(2030, time.January, 5, 20, 0, 0, 0, berlin),
			"Bürgeramt is closed now. It opens on Monday, 7 January at 08:00.", "Bürgeramt ist jetzt geschlossen. Geöffnet ab Montag, 07.01., 08:00 Uhr."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Catalog: g, Registry: g, Queue: g, Now: func() time.Time { return tt.now }}
			app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
				return response.WriteError(c, response.For(err))
			}})
			h.Routes(app.Group("/api/v1"))
			req := httptest.NewRequest("POST", "/api/v1/kiosk/walk-ins", strings.NewReader(`{"service":"closed"}`))
			req.Header.Set("Authorization", "Bearer gate-token")
			req.Header.Set("Content-Type", "application/json")
			res, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Error struct {
					Code, Message string
					MessageDE     string `json:"message_de"`
				}
			}
			b, _ := io.ReadAll(res.Body)
			json.Unmarshal(b, &out)
			if res.StatusCode != 409 || out.Error.Code != "location_closed" || out.Error.Message != tt.en || out.Error.MessageDE != tt.de {
				t.Fatalf("%d %s", res.StatusCode, b)
			}
		})
	}
}
