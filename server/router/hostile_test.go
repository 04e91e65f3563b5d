package router

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/openapicheck"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/device"
	"github.com/digitale-verwaltung/termin/server/finance"
	"github.com/digitale-verwaltung/termin/server/paycallback"
	"github.com/digitale-verwaltung/termin/server/staff"
)

// writeLog counts the calls that would change a store.
type writeLog struct{ calls []string }

func (w *writeLog) wrote(name string) { w.calls = append(w.calls, name) }

// countingBooking is the booking fake with its writing calls counted.
type countingBooking struct {
	*fakeBooking
	log *writeLog
}

func (c countingBooking) PlaceHold(ctx context.Context, locationID, serviceID string, start time.Time, units int) (*booking.Hold, error) {
	c.log.wrote("PlaceHold")
	return c.fakeBooking.PlaceHold(ctx, locationID, serviceID, start, units)
}
func (c countingBooking) ReleaseHold(ctx context.Context, id string) error {
	c.log.wrote("ReleaseHold")
	return c.fakeBooking.ReleaseHold(ctx, id)
}
func (c countingBooking) Book(ctx context.Context, holdID string, ct booking.Contact) (*booking.Confirmation, error) {
	c.log.wrote("Book")
	return c.fakeBooking.Book(ctx, holdID, ct)
}
func (c countingBooking) Cancel(ctx context.Context, code, token string) (*citizen.Cancellation, error) {
	c.log.wrote("Cancel")
	return c.fakeBooking.Cancel(ctx, code, token)
}
func (c countingBooking) EnrollDevice(ctx context.Context, code string) (*booking.Device, string, error) {
	c.log.wrote("EnrollDevice")
	return c.fakeBooking.EnrollDevice(ctx, code)
}
func (c countingBooking) Heartbeat(ctx context.Context, id, version string, status json.RawMessage) error {
	c.log.wrote("Heartbeat")
	return c.fakeBooking.Heartbeat(ctx, id, version, status)
}
func (c countingBooking) RegisterDevice(ctx context.Context, locationID, name, mode string, validFor time.Duration) (*booking.Device, string, error) {
	c.log.wrote("RegisterDevice")
	return c.fakeBooking.RegisterDevice(ctx, locationID, name, mode, validFor)
}
func (c countingBooking) WalkIn(ctx context.Context, locationID, serviceID string) (*booking.QueueTicket, error) {
	c.log.wrote("WalkIn")
	return c.fakeBooking.WalkIn(ctx, locationID, serviceID)
}
func (c countingBooking) CheckIn(ctx context.Context, locationID, code string) (*booking.QueueTicket, error) {
	c.log.wrote("CheckIn")
	return c.fakeBooking.CheckIn(ctx, locationID, code)
}
func (c countingBooking) Redeem(ctx context.Context, deviceID string, r booking.Redemption) (*booking.Redemption, error) {
	c.log.wrote("Redeem")
	return c.fakeBooking.Redeem(ctx, deviceID, r)
}
func (c countingBooking) CallNext(ctx context.Context, locationID, desk string) (*booking.QueueTicket, error) {
	c.log.wrote("CallNext")
	return c.fakeBooking.CallNext(ctx, locationID, desk)
}
func (c countingBooking) Finish(ctx context.Context, locationID string, id int64, state string) (*booking.QueueTicket, error) {
	c.log.wrote("Finish")
	return c.fakeBooking.Finish(ctx, locationID, id, state)
}
func (c countingBooking) Recall(ctx context.Context, locationID string, id int64, desk string) (*booking.QueueTicket, error) {
	c.log.wrote("Recall")
	return c.fakeBooking.Recall(ctx, locationID, id, desk)
}
func (c countingBooking) Transfer(ctx context.Context, locationID string, id int64, serviceID string) (*booking.QueueTicket, error) {
	c.log.wrote("Transfer")
	return c.fakeBooking.Transfer(ctx, locationID, id, serviceID)
}

// countingPayment is the payment fake with its writing calls counted.
type countingPayment struct {
	*fakePayment
	log *writeLog
}

func (c countingPayment) BookPending(ctx context.Context, holdID string, ct booking.Contact, svc *booking.Service) (*booking.Confirmation, *payment.Payment, error) {
	c.log.wrote("BookPending")
	return c.fakePayment.BookPending(ctx, holdID, ct, svc)
}
func (c countingPayment) Check(ctx context.Context, reference string) (*payment.Payment, error) {
	c.log.wrote("Check")
	return c.fakePayment.Check(ctx, reference)
}
func (c countingPayment) RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	c.log.wrote("RecordInbox")
	return c.fakePayment.RecordInbox(ctx, paymentID, kind, eventID, verified, body)
}
func (c countingPayment) Reconcile(ctx context.Context, rep settlement.Report, doc camt.Document) (*reconcile.Reconciliation, error) {
	c.log.wrote("Reconcile")
	return c.fakePayment.Reconcile(ctx, rep, doc)
}

// newCountingApp is the HTTP layer on fakes that log every write.
func newCountingApp(t *testing.T) (*testApp, *writeLog) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &writeLog{}
	fb, fp := &fakeBooking{}, &fakePayment{}
	b, p := countingBooking{fb, log}, countingPayment{fp, log}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	staffAuth := auth.APIKey(testAdminKey)
	now := func() time.Time { return testStart }
	app := New(Config{
		Ready: func(context.Context) error { return nil },
		Log:   discard,
		Groups: []Group{
			&citizen.Handler{Catalog: b, Reservations: b, Bookings: b, Payments: p, Limiter: fakeFairness{},
				Challenges: fakeFairness{}, SigningKey: key, Log: discard},
			&device.Handler{Catalog: b, Registry: b, Queue: b, PublicKey: key.Public().(ed25519.PublicKey),
				GateEarly: 15 * time.Minute, GateLate: 30 * time.Minute, Now: now},
			&staff.Handler{Catalog: b, Queue: b, Devices: b, Accounts: b, Staff: staffAuth, Now: now},
			&finance.Handler{Ledger: p, Reconciler: p, Staff: staffAuth},
			&paycallback.Handler{Flow: p, Inbox: p, NotifySecret: []byte(testNotifySecret), Log: discard},
		},
	})
	return &testApp{app: app, booking: fb, payment: fp}, log
}

// authFor gives each route group the credentials it needs, so a hostile
// body gets past authentication to the parser.
func authFor(method, path string) http.Header {
	h := http.Header{}
	switch {
	case strings.HasPrefix(path, "/api/v1/kiosk/"):
		h.Set("Authorization", "Bearer "+testDeviceToken)
	case strings.HasPrefix(path, "/api/v1/staff/"), strings.HasPrefix(path, "/api/v1/admin/"), strings.HasPrefix(path, "/api/v1/finance/"):
		h.Set("Authorization", "Bearer "+testAdminKey)
	case strings.HasPrefix(path, "/api/v1/bookings/"):
		h.Set("Authorization", "Bearer "+testManageToken)
	}
	return h
}

var hostileParams = map[string]string{"id": "stadtbad", "code": "ABCDEFGH", "ticket": "1", "reference": "ref-1", "name": "termin-buchungen-2030-01-07.csv"}

// TestHostileInputOnEveryRoute sends every documented route (the same
// set as the served routes, TestRoutesMatchOpenAPI) NUL bytes, lone
// surrogates, control characters, invalid UTF-8 and overlong strings in
// every string of its body, query and path, every field of its body in
// the wrong type, bodies that are no object, compressed bombs and unknown
// methods. None may answer 5xx or take the request; each answers the JSON
// error with code, message and message_de, and nothing reaches a store's
// writing calls.
func TestHostileInputOnEveryRoute(t *testing.T) {
	checker, err := openapicheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	bombs, err := openapicheck.NewBombs(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	a, log := newCountingApp(t)
	cases := checker.HostileRequests(hostileParams, authFor, bombs)
	if len(cases) < 500 {
		t.Fatalf("only %d hostile requests", len(cases))
	}
	for _, h := range cases {
		t.Run(h.Name, func(t *testing.T) {
			if strings.HasSuffix(h.Path, "/payments/notifications") {
				h.Header.Set(payment.SignatureHeader, payment.SignNotification([]byte(testNotifySecret), h.Body))
			}
			before := len(log.calls)
			res := a.send(t, h.Method, h.Path, h.Body, h.Header)
			code, en, de := errorOf(t, res)
			if res.status < 400 || res.status >= 500 || code == "" || en == "" || de == "" {
				t.Fatalf("got %d %.300s", res.status, res.body)
			}
			wrote := log.calls[before:]
			if code == "notification_invalid" && len(wrote) == 1 && wrote[0] == "RecordInbox" {
				// A signed notification the server cannot read is kept in
				// the inbox, marked unverified, as the platform's record.
				wrote = nil
			}
			if len(wrote) > 0 {
				t.Fatalf("answered %d %s but called %v", res.status, code, wrote)
			}
		})
	}
}

// send is do with a byte body and a whole header.
func (a *testApp) send(t *testing.T, method, target string, body []byte, header http.Header) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := a.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkOpenAPI(t, req, body, res.StatusCode, res.Header, b)
	return answer{res.StatusCode, res.Header, b}
}

// TestCompressionBombsKeepMemoryFlat: gzip, deflate and doubly gzipped
// bodies that decode to 64 MiB each are refused without being decoded;
// the heap allocated while answering one stays far below one decoded
// body.
func TestCompressionBombsKeepMemoryFlat(t *testing.T) {
	const decoded = 64 << 20
	bombs, err := openapicheck.NewBombs(decoded)
	if err != nil {
		t.Fatal(err)
	}
	a, log := newCountingApp(t)
	type bomb struct {
		encoding string
		body     []byte
	}
	list := []bomb{{"gzip", bombs.Gzip}, {"deflate", bombs.Deflate}, {"gzip, gzip", bombs.GzipGzip}, {"GZIP", bombs.Gzip}, {"x-gzip", bombs.Gzip}}
	runtime.GC()
	sent := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for round := 0; round < 3; round++ {
		for _, b := range list {
			for _, target := range []string{"/api/v1/holds", "/api/v1/bookings", "/api/v1/payments/notifications", "/api/v1/kiosk/heartbeat"} {
				h := authFor("POST", target)
				h.Set("Content-Type", "application/json")
				h.Set("Content-Encoding", b.encoding)
				res := a.send(t, "POST", target, b.body, h)
				sent++
				if code, _, _ := errorOf(t, res); res.status != 415 || code != "encoding_unsupported" {
					t.Fatalf("%s to %s: %d %s", b.encoding, target, res.status, res.body)
				}
			}
		}
	}
	runtime.ReadMemStats(&after)
	// What the test's own plumbing copies (the compressed body, the
	// answer) is counted too; one decoded body would be decoded bytes.
	if perRequest := (after.TotalAlloc - before.TotalAlloc) / uint64(sent); perRequest > decoded/16 {
		t.Fatalf("answering a bomb allocated %d KiB", perRequest>>10)
	}
	if len(log.calls) > 0 {
		t.Fatalf("bombs reached %v", log.calls)
	}
}
