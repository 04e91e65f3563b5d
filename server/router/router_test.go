package router

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/openapicheck"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/auth"
	"github.com/digitale-verwaltung/termin/server/citizen"
	"github.com/digitale-verwaltung/termin/server/device"
	"github.com/digitale-verwaltung/termin/server/finance"
	"github.com/digitale-verwaltung/termin/server/paycallback"
	"github.com/digitale-verwaltung/termin/server/staff"
)

const testNotifySecret = "push-secret"

// testApp is the whole HTTP layer on in-memory fakes.
type testApp struct {
	app     *fiber.App
	booking *fakeBooking
	payment *fakePayment
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, p := &fakeBooking{}, &fakePayment{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	staffAuth := auth.APIKey(testAdminKey)
	now := func() time.Time { return testStart }
	app := New(Config{
		Ready: func(context.Context) error { return b.down },
		Log:   log,
		Groups: []Group{
			&citizen.Handler{Catalog: b, Reservations: b, Bookings: b, Payments: p, Limiter: fakeFairness{},
				Challenges: fakeFairness{}, SigningKey: key, Log: log},
			&device.Handler{Catalog: b, Registry: b, Queue: b, PublicKey: key.Public().(ed25519.PublicKey),
				GateEarly: 15 * time.Minute, GateLate: 30 * time.Minute, Now: now},
			&staff.Handler{Catalog: b, Queue: b, Devices: b, Accounts: b, Staff: staffAuth, Now: now},
			&finance.Handler{Ledger: p, Reconciler: p, Staff: staffAuth},
			&paycallback.Handler{Flow: p, Inbox: p, NotifySecret: []byte(testNotifySecret), Log: log},
		},
	})
	return &testApp{app: app, booking: b, payment: p}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *testApp) do(t *testing.T, method, path, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := a.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkOpenAPI(t, req, []byte(body), res.StatusCode, res.Header, b)
	return answer{res.StatusCode, res.Header, b}
}

// checkOpenAPI fails the test when an exchange does not match
// docs/openapi.yaml.
func checkOpenAPI(t *testing.T, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	checker, err := openapicheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := checker.Check(req, reqBody, status, header, body); err != nil {
		t.Error(err)
	}
}

func errorOf(t *testing.T, a answer) (code, en, de string) {
	t.Helper()
	var e struct {
		Error struct {
			Code, Message string
			MessageDE     string `json:"message_de"`
		}
	}
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("not JSON: %d %s", a.status, a.body)
	}
	return e.Error.Code, e.Error.Message, e.Error.MessageDE
}

var (
	deviceAuth = []string{"Authorization", "Bearer " + testDeviceToken}
	adminAuth  = []string{"Authorization", "Bearer " + testAdminKey}
	manageAuth = []string{"Authorization", "Bearer " + testManageToken}
)

func signedNotification() (body string, header []string) {
	body = `{"eventId":"ev-1","platformId":"p-1","reference":"ref-1","type":"payment.paid"}`
	return body, []string{payment.SignatureHeader, payment.SignNotification([]byte(testNotifySecret), []byte(body))}
}

// storeRoutes are requests on every group that reach a store.
func storeRoutes() []struct {
	name, method, path, body string
	header                   []string
} {
	notify, notifyHeader := signedNotification()
	return []struct {
		name, method, path, body string
		header                   []string
	}{
		{"citizen availability", "GET", "/api/v1/availability?location=stadtbad&service=erwachsene&from=2030-01-07", "", nil},
		{"citizen hold", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"2030-01-07T09:00:00Z"}`, nil},
		{"citizen booking", "POST", "/api/v1/bookings", `{"hold":"h","name":"A","email":"a@example.org"}`, nil},
		{"citizen manage", "GET", "/api/v1/bookings/ABCDEFGH", "", manageAuth},
		{"citizen calendar", "GET", "/api/v1/calendar?location=stadtbad&tickets=erwachsene:2", "", nil},
		{"citizen pool order", "POST", "/api/v1/holds", `{"location":"stadtbad","tickets":[{"service":"erwachsene","count":2}],"start":"2030-01-07T09:00:00Z"}`, nil},
		{"citizen activate", "POST", "/api/v1/bookings/ABCDEFGH/activate", "", manageAuth},
		{"citizen reschedule", "POST", "/api/v1/bookings/ABCDEFGH/reschedule", `{"hold":"h"}`, manageAuth},
		{"citizen manage link", "POST", "/api/v1/manage-links", `{"code":"ABCDEFGH","email":"erika@example.org"}`, nil},
		{"device enroll", "POST", "/api/v1/devices/enroll", `{"code":"ABCD"}`, nil},
		{"device walk-in", "POST", "/api/v1/kiosk/walk-ins", `{"service":"erwachsene"}`, deviceAuth},
		{"device heartbeat", "POST", "/api/v1/kiosk/heartbeat", `{"version":"1","status":{}}`, deviceAuth},
		{"staff queue", "GET", "/api/v1/staff/locations/stadtbad/queue", "", adminAuth},
		{"staff display", "GET", "/api/v1/locations/stadtbad/queue/display", "", nil},
		{"admin devices", "GET", "/api/v1/admin/devices", "", adminAuth},
		{"finance postings", "GET", "/api/v1/finance/postings", "", adminAuth},
		{"finance payments", "GET", "/api/v1/finance/payments", "", adminAuth},
		{"finance reconciliation", "GET", "/api/v1/finance/reconciliations/1", "", adminAuth},
		{"payment return", "GET", "/api/v1/payments/ref-1/return", "", []string{"Accept", "application/json"}},
		{"payment notification", "POST", "/api/v1/payments/notifications", notify, notifyHeader},
		{"readiness", "GET", "/readyz", "", nil},
	}
}

// TestStoreOutageIsUnavailable: whatever store fails, on whichever route,
// the answer is 503 unavailable with Retry-After, never a 500.
func TestStoreOutageIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	outages := []struct {
		name string
		err  error
	}{
		{"booking store", fmt.Errorf("%w: postgres: %w", booking.ErrUnavailable, refused)},
		{"payment store", fmt.Errorf("list postings: %w: %w", payment.ErrStoreUnavailable, refused)},
		{"store deadline", fmt.Errorf("list postings: %w", context.DeadlineExceeded)},
		{"connection refused", fmt.Errorf("list postings: %w", refused)},
	}
	for _, o := range outages {
		a := newTestApp(t)
		a.booking.down, a.payment.down = o.err, o.err
		for _, r := range storeRoutes() {
			t.Run(o.name+"/"+r.name, func(t *testing.T) {
				res := a.do(t, r.method, r.path, r.body, r.header...)
				code, en, de := errorOf(t, res)
				if res.status != 503 || res.header.Get("Retry-After") == "" || code != "unavailable" || en == "" || de == "" {
					t.Fatalf("got %d %v %s", res.status, res.header, res.body)
				}
			})
		}
	}
}

func TestStoreRoutesAnswerWhenStoresAreUp(t *testing.T) {
	a := newTestApp(t)
	for _, r := range storeRoutes() {
		t.Run(r.name, func(t *testing.T) {
			if res := a.do(t, r.method, r.path, r.body, r.header...); res.status >= 300 {
				t.Fatalf("got %d %s", res.status, res.body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	a := newTestApp(t)
	tests := []struct {
		name, method, path string
		header             []string
		code               string
	}{
		{"manage without token", "GET", "/api/v1/bookings/ABCDEFGH", nil, "unauthorized"},
		{"activate without token", "POST", "/api/v1/bookings/ABCDEFGH/activate", nil, "unauthorized"},
		{"reschedule without token", "POST", "/api/v1/bookings/ABCDEFGH/reschedule", nil, "unauthorized"},
		{"manage with a wrong token", "DELETE", "/api/v1/bookings/ABCDEFGH", []string{"Authorization", "Bearer nope"}, "booking_not_found"},
		{"device without token", "GET", "/api/v1/kiosk/config", nil, "device_unauthorized"},
		{"device with unknown token", "GET", "/api/v1/kiosk/config", []string{"Authorization", "Bearer nope"}, "device_unauthorized"},
		{"staff without key", "POST", "/api/v1/staff/locations/stadtbad/call", nil, "unauthorized"},
		{"admin with device token", "GET", "/api/v1/admin/devices", deviceAuth, "unauthorized"},
		{"finance without key", "GET", "/api/v1/finance/postings", nil, "unauthorized"},
		{"forged notification", "POST", "/api/v1/payments/notifications", []string{payment.SignatureHeader, "sha256=00"}, "signature_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "POST" {
				body = `{"eventId":"ev-1","reference":"ref-1"}`
			}
			res := a.do(t, tt.method, tt.path, body, tt.header...)
			if code, _, _ := errorOf(t, res); code != tt.code || res.status < 400 {
				t.Fatalf("got %d %s, want %s", res.status, res.body, tt.code)
			}
		})
	}
}

// keysOf lists the JSON object keys of v (of its first element when v is
// an array), sorted.
func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		if len(arr) == 0 {
			t.Fatalf("empty array")
		}
		raw = arr[0]
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestResponseFields pins the JSON field names of the answers (the
// contract in docs/openapi.yaml), top level and one level in.
func TestResponseFields(t *testing.T) {
	a := newTestApp(t)
	notify, notifyHeader := signedNotification()
	tests := []struct {
		method, path, body string
		header             []string
		status             int
		// fields lists the keys at the top, and "name.key" one level in.
		fields string
	}{
		{"GET", "/api/v1/locations", "", nil, 200, "id kind name timezone"},
		{"GET", "/api/v1/locations/stadtbad/services", "", nil, 200, "duration_minutes fee_cents id max_units name payment"},
		{"GET", "/api/v1/availability?location=stadtbad&service=erwachsene&from=2030-01-07", "", nil, 200, "slots slots.end slots.free slots.start"},
		{"GET", "/api/v1/challenge?location=stadtbad", "", nil, 200, "challenge difficulty expires_at"},
		{"POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"2030-01-07T09:00:00Z","units":2}`, nil, 201,
			"end expires_at id items location service start unit_indexes units"},
		{"POST", "/api/v1/holds", `{"location":"stadtbad","tickets":[{"service":"erwachsene","count":2},{"service":"ermaessigt","count":1}],"start":"2030-01-07T09:00:00Z"}`, nil, 201,
			"end expires_at id items items.count items.service location service start unit_indexes units"},
		{"GET", "/api/v1/calendar?location=stadtbad&services=erwachsene", "", nil, 200, "days days.day days.free next next.end next.free next.start"},
		{"POST", "/api/v1/bookings", `{"hold":"h","name":"Erika","email":"erika@example.org","lang":"en"}`, nil, 201,
			"code created_at email end items items.count items.service lang location manage_token name payment payment.amount_cents payment.booking_code payment.currency " +
				"payment.expires_at payment.kassenzeichen payment.reference payment.state payment_url service start status units"},
		{"GET", "/api/v1/bookings/ABCDEFGH", "", manageAuth, 200, "code created_at email end items items.count items.service lang location name qr service start status units"},
		{"POST", "/api/v1/bookings/ABCDEFGH/activate", "", manageAuth, 200, "code created_at email end items items.count items.service lang location name qr service start status units"},
		{"POST", "/api/v1/bookings/ABCDEFGH/reschedule", `{"hold":"h"}`, manageAuth, 200,
			"code created_at email end items items.count items.service lang location name previous_end previous_start qr service start status units"},
		{"POST", "/api/v1/manage-links", `{"code":"NOSUCHCODE","email":"erika@example.org"}`, nil, 202, "status"},
		{"GET", "/api/v1/tickets/key", "", nil, 200, "algorithm public_key"},
		{"POST", "/api/v1/devices/enroll", `{"code":"ABCD"}`, nil, 201,
			"device device.created_at device.id device.location device.mode device.name device.status public_key token"},
		{"GET", "/api/v1/kiosk/config", "", deviceAuth, 200,
			"device device.created_at device.id device.location device.mode device.name device.status gate_early_seconds gate_late_seconds keys keys.active keys.id keys.public_key " +
				"location location.id location.kind location.name location.timezone public_key services services.duration_minutes " +
				"services.fee_cents services.id services.location services.max_units services.name services.payment services.queue_prefix"},
		{"POST", "/api/v1/kiosk/walk-ins", `{"service":"erwachsene"}`, deviceAuth, 201,
			"ahead created_at estimated_wait_minutes id location location_name number service service_name"},
		{"POST", "/api/v1/kiosk/check-ins", `{"code":"ABCDEFGH"}`, deviceAuth, 201,
			"ahead appointment created_at estimated_wait_minutes id location location_name number service service_name"},
		{"GET", "/api/v1/locations/stadtbad/queue/display", "", nil, 200, "called waiting"},
		{"GET", "/api/v1/staff/locations/stadtbad/queue", "", adminAuth, 200,
			"tickets tickets.ahead tickets.created_at tickets.id tickets.location tickets.number tickets.service tickets.state"},
		{"POST", "/api/v1/staff/locations/stadtbad/call", `{"desk":"3"}`, adminAuth, 200, "ahead created_at desk id location number service state"},
		{"POST", "/api/v1/admin/devices", `{"location":"stadtbad","name":"Drehkreuz","mode":"gate"}`, adminAuth, 201,
			"device device.created_at device.id device.location device.mode device.name device.status enrollment_code"},
		{"GET", "/api/v1/admin/devices", "", adminAuth, 200, "created_at id location mode name status"},
		{"GET", "/api/v1/finance/postings", "", adminAuth, 200,
			"postings postings.amount_cents postings.booking_code postings.booking_date postings.booking_text postings.created_at " +
				"postings.currency postings.haushaltsstelle postings.kassenzeichen postings.kind postings.kostenstelle postings.payment_method " +
				"postings.payment_reference postings.platform postings.platform_id postings.posting_id postings.produkt postings.sachkonto postings.value_date"},
		{"GET", "/api/v1/finance/payments", "", adminAuth, 200,
			"payments payments.amount_cents payments.booking_code payments.created_at payments.currency payments.deadline payments.kassenzeichen " +
				"payments.method payments.platform payments.platform_id payments.reference payments.refunded_cents payments.service " +
				"payments.state payments.units payments.updated_at"},
		{"GET", "/api/v1/finance/exports", "", adminAuth, 200, "files"},
		{"GET", "/api/v1/finance/reconciliations/1", "", adminAuth, 200,
			"bank_payout_cents counts created_at fee_total_cents fees id items items.bank_cents items.category items.posted_cents " +
				"items.reference items.settlement_cents payout_cents payout_id settlement_date statement_id statements warnings"},
		{"GET", "/api/v1/finance/dead-letters", "", adminAuth, 200,
			"dead_letters dead_letters.attempts dead_letters.created_at dead_letters.id dead_letters.kind dead_letters.payment_reference dead_letters.state"},
		{"GET", "/api/v1/payments/ref-1/return", "", []string{"Accept", "application/json"}, 200,
			"amount_cents booking_code booking_status currency expires_at kassenzeichen reference state"},
		{"POST", "/api/v1/payments/notifications", notify, notifyHeader, 202, "status"},
		{"GET", "/healthz", "", nil, 200, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := a.do(t, tt.method, tt.path, tt.body, tt.header...)
			if res.status != tt.status {
				t.Fatalf("got %d %s, want %d", res.status, res.body, tt.status)
			}
			var got []string
			top := keysOf(t, res.body)
			var obj map[string]json.RawMessage
			if json.Unmarshal(res.body, &obj) != nil {
				var arr []map[string]json.RawMessage
				json.Unmarshal(res.body, &arr)
				obj = arr[0]
			}
			for _, k := range top {
				got = append(got, k)
				v := obj[k]
				if len(v) > 0 && (v[0] == '{' || v[0] == '[') && k != "status" && k != "counts" {
					var probe []json.RawMessage
					if v[0] == '[' && (json.Unmarshal(v, &probe) != nil || len(probe) == 0 || probe[0][0] != '{') {
						continue
					}
					for _, sub := range keysOf(t, v) {
						got = append(got, k+"."+sub)
					}
				}
			}
			sort.Strings(got)
			want := strings.Fields(tt.fields)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("fields\n got %s\nwant %s\nbody %s", strings.Join(got, " "), strings.Join(want, " "), res.body)
			}
		})
	}
}

func TestBrowserGetsAnErrorPageOutsideTheAPI(t *testing.T) {
	a := newTestApp(t)
	res := a.do(t, "GET", "/nowhere", "", "Accept", "text/html")
	if res.status != 404 || !strings.Contains(string(res.body), "<html") || !strings.Contains(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser 404: %d %s", res.status, res.body)
	}
	res = a.do(t, "GET", "/api/v1/nowhere", "", "Accept", "text/html")
	if code, _, _ := errorOf(t, res); res.status != 404 || code != "not_found" {
		t.Fatalf("API 404 for a browser: %d %s", res.status, res.body)
	}
}

// TestRoutesMatchOpenAPI: every route served is documented in
// docs/openapi.yaml, and every documented route is served.
func TestRoutesMatchOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	seen := map[string]bool{}
	var served []string
	for _, r := range newTestApp(t).app.GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" || !strings.HasPrefix(r.Path, "/") {
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		if !seen[key] {
			seen[key] = true
			served = append(served, key)
		}
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("docs/openapi.yaml and the routes differ\ndocumented:\n%s\n\nserved:\n%s",
			strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

// TestUnknownMethodIsTheJSONError: a method the framework does not know
// gets the JSON error, not the framework's plain text.
func TestUnknownMethodIsTheJSONError(t *testing.T) {
	a := newTestApp(t)
	for _, path := range []string{"/api/v1/locations", "/api/v1/holds", "/api/v1/nowhere", "/healthz"} {
		for _, method := range []string{"FOO", "PROPFIND", "get"} {
			res := a.do(t, method, path, "")
			code, en, de := errorOf(t, res)
			if res.status != 405 || code != "method_not_allowed" || en == "" || de == "" {
				t.Fatalf("%s %s: %d %s", method, path, res.status, res.body)
			}
		}
	}
}

// TestSecurityHeaders: every answer forbids content sniffing and sends no
// referrer and carries a request id; the API's answers may not be framed
// or run anything; HSTS only when the server is reached by https.
func TestSecurityHeaders(t *testing.T) {
	a := newTestApp(t)
	for _, path := range []string{"/healthz", "/api/v1/locations", "/api/v1/nowhere"} {
		res := a.do(t, "GET", path, "")
		h := res.header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Request-ID") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS without https", path)
		}
	}
	app := New(Config{Ready: func(context.Context) error { return nil }, HSTS: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	res, err := app.Test(httptest.NewRequest("GET", "/healthz", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=31536000") {
		t.Errorf("HSTS: %q", res.Header.Get("Strict-Transport-Security"))
	}
}
