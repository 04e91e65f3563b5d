package paycallback

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/response"
)

const secret = "push-secret"

// platform is an in-memory payment side: one payment, the inbox it
// keeps, and the status queries it was asked for.
type platform struct {
	inbox   []string // "verified eventID paymentID"
	seen    map[string]bool
	checked []string
}

func (p *platform) Check(_ context.Context, ref string) (*payment.Payment, error) {
	p.checked = append(p.checked, ref)
	return p.PaymentByReference(context.Background(), ref)
}

func (p *platform) BookingStatus(context.Context, int64) (string, error) {
	return booking.StatusConfirmed, nil
}

func (p *platform) PaymentByReference(_ context.Context, ref string) (*payment.Payment, error) {
	if ref != "ref-1" {
		return nil, payment.ErrPaymentNotFound
	}
	return &payment.Payment{ID: 3, Reference: "ref-1", Kassenzeichen: "TB00000001", BookingID: 7, BookingCode: "ABCDEFGH",
		State: payment.StatePaid, AmountCents: 450, Currency: "EUR"}, nil
}

func (p *platform) PaymentByPlatformID(_ context.Context, id string) (*payment.Payment, error) {
	if id == "p-1" {
		return p.PaymentByReference(context.Background(), "ref-1")
	}
	return nil, payment.ErrPaymentNotFound
}

func (p *platform) SeenEvent(_ context.Context, id string) (bool, error) { return p.seen[id], nil }

func (p *platform) RecordInbox(_ context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	v := "rejected"
	if verified {
		v = "verified"
	}
	p.inbox = append(p.inbox, strings.Join(strings.Fields(fmt.Sprint(v, " ", eventID, " ", paymentID)), " "))
	if eventID != "" {
		p.seen[eventID] = true
	}
	return nil
}

func newApp(p *platform, flow Flow) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	h := &Handler{Flow: flow, Inbox: p, NotifySecret: []byte(secret), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.Routes(app.Group("/api/v1"))
	return app
}

func do(t *testing.T, app *fiber.App, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestNotifications(t *testing.T) {
	p := &platform{seen: map[string]bool{}}
	app := newApp(p, p)
	sign := func(body string) []string {
		return []string{payment.SignatureHeader, payment.SignNotification([]byte(secret), []byte(body))}
	}
	known := `{"eventId":"ev-1","platformId":"p-1","reference":"ref-1","type":"payment.paid"}`
	byPlatformID := `{"eventId":"ev-2","platformId":"p-1","reference":"other"}`
	unknown := `{"eventId":"ev-3","platformId":"p-9","reference":"nobody"}`
	tests := []struct {
		name, body string
		header     []string
		status     int
		code       string
		inbox      string // the row recorded: verified or rejected, event, payment id
		checks     int    // status queries so far
	}{
		{"unsigned", known, nil, 401, "signature_invalid", "rejected 0", 0},
		{"forged", known, sign(known + " "), 401, "signature_invalid", "rejected 0", 0},
		{"malformed", `{"eventId":`, sign(`{"eventId":`), 400, "notification_invalid", "rejected 0", 0},
		{"known payment", known, sign(known), 202, "", "verified ev-1 3", 1},
		{"same event again", known, sign(known), 202, "", "verified ev-1 3", 1},
		{"found by platform id", byPlatformID, sign(byPlatformID), 202, "", "verified ev-2 3", 2},
		{"unknown payment is kept, not checked", unknown, sign(unknown), 202, "", "verified ev-3 0", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, app, "POST", "/api/v1/payments/notifications", tt.body, tt.header...)
			if status != tt.status || !strings.Contains(body, tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
			if last := p.inbox[len(p.inbox)-1]; last != tt.inbox || len(p.checked) != tt.checks {
				t.Fatalf("inbox %q, %d checks; want %q, %d", last, len(p.checked), tt.inbox, tt.checks)
			}
		})
	}
}

func TestReturn(t *testing.T) {
	p := &platform{seen: map[string]bool{}}
	app := newApp(p, p)
	status, body := do(t, app, "GET", "/api/v1/payments/ref-1/return?state=failed", "", "Accept", "application/json")
	if status != 200 || !strings.Contains(body, `"state":"paid"`) || !strings.Contains(body, `"booking_status":"confirmed"`) {
		t.Fatalf("JSON return: %d %s", status, body)
	}
	status, body = do(t, app, "GET", "/api/v1/payments/ref-1/return", "", "Accept", "text/html")
	if status != 200 || !strings.Contains(body, "Bezahlt") || !strings.Contains(body, "TB00000001") {
		t.Fatalf("page: %d %s", status, body)
	}
	if status, body := do(t, app, "GET", "/api/v1/payments/nobody/return", "", "Accept", "application/json"); status != 404 || !strings.Contains(body, "payment_not_found") {
		t.Fatalf("unknown reference: %d %s", status, body)
	}
	// Without online payment neither route exists.
	off := newApp(p, nil)
	if status, body := do(t, off, "GET", "/api/v1/payments/ref-1/return", ""); status != 404 || !strings.Contains(body, "payment_not_found") {
		t.Fatalf("payment off, return: %d %s", status, body)
	}
	if status, body := do(t, off, "POST", "/api/v1/payments/notifications", "{}"); status != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("payment off, notification: %d %s", status, body)
	}
}

// With a result page configured, a returning browser is sent there; the
// JSON answer stays.
func TestReturnToResultPage(t *testing.T) {
	p := &platform{seen: map[string]bool{}}
	app := fiber.New()
	h := &Handler{Flow: p, Inbox: p, ResultPage: "/zahlung/", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.Routes(app.Group("/api/v1"))
	req := httptest.NewRequest("GET", "/api/v1/payments/ref-1/return?state=paid", nil)
	req.Header.Set("Accept", "text/html")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 303 || res.Header.Get("Location") != "/zahlung/ref-1" {
		t.Fatalf("browser return: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if status, body := do(t, app, "GET", "/api/v1/payments/ref-1/return", "", "Accept", "application/json"); status != 200 || !strings.Contains(body, `"state":"paid"`) {
		t.Fatalf("JSON return: %d %s", status, body)
	}
}
