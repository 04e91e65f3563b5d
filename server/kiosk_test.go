package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"sync"
	"testing"
	"time"
)

const testAdminKey = "test-admin-key"

// clockAt pins the server's clock, so appointments are "today" whatever
// day the tests run.
func (s *testServer) clockAt(t time.Time) { s.deps.engine.Now = func() time.Time { return t } }

func (s *testServer) bookAt(t *testing.T, location, service string, start time.Time, units int) (code, qr string) {
	t.Helper()
	id := s.mustHold(t, location, service, start.UTC().Format(time.RFC3339), units)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"Max Mustermann","email":"max@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("book: %d %s", res.Status, res.Body)
	}
	var b struct{ Code, QR string }
	res.decode(t, &b)
	return b.Code, b.QR
}

// enrolledDevice registers a device as the administrator and enrolls it.
func (s *testServer) enrolledDevice(t *testing.T, location, mode string) string {
	t.Helper()
	admin := []string{"Authorization", "Bearer " + testAdminKey}
	res := s.do(t, "POST", "/api/v1/admin/devices", fmt.Sprintf(`{"location":%q,"name":"Kiosk 1","mode":%q}`, location, mode), admin...)
	if res.Status != 201 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	var reg struct {
		Code string `json:"enrollment_code"`
	}
	res.decode(t, &reg)
	res = s.do(t, "POST", "/api/v1/devices/enroll", `{"code":"`+reg.Code+`"}`)
	if res.Status != 201 {
		t.Fatalf("enroll: %d %s", res.Status, res.Body)
	}
	var en struct{ Token string }
	res.decode(t, &en)
	if again := s.do(t, "POST", "/api/v1/devices/enroll", `{"code":"`+reg.Code+`"}`); again.Status != 410 {
		t.Fatalf("enrollment code used twice: %d %s", again.Status, again.Body)
	}
	return en.Token
}

type ticketOut struct {
	ID     int64
	Number string
	Ahead  int
	Wait   int `json:"estimated_wait_minutes"`
}

func TestCounterQueue(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s.clockAt(time.Date(2030, time.January, 7, 9, 25, 0, 0, berlin)) // a Monday
	code, qr := s.bookAt(t, "buergeramt-koblenz", "personalausweis", time.Date(2030, time.January, 7, 9, 40, 0, 0, berlin), 1)
	later, _ := s.bookAt(t, "buergeramt-koblenz", "reisepass", time.Date(2030, time.January, 7, 11, 0, 0, 0, berlin), 1)
	token := s.enrolledDevice(t, "buergeramt-koblenz", "counter")
	dev := []string{"Authorization", "Bearer " + token}
	admin := []string{"Authorization", "Bearer " + testAdminKey}

	if res := s.do(t, "POST", "/api/v1/kiosk/walk-ins", `{"service":"meldebescheinigung"}`); res.Status != 401 {
		t.Fatalf("walk-in without device token: %d", res.Status)
	}
	// Walk-in numbers drawn at once by several kiosks are all different.
	var mu sync.Mutex
	numbers := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := s.do(t, "POST", "/api/v1/kiosk/walk-ins", `{"service":"meldebescheinigung"}`, dev...)
			var tk ticketOut
			res.decode(t, &tk)
			mu.Lock()
			numbers[tk.Number] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(numbers) != 20 || !numbers["A001"] || !numbers["A020"] {
		t.Fatalf("walk-in numbers: %v", numbers)
	}
	var tk ticketOut
	res := s.do(t, "POST", "/api/v1/kiosk/check-ins", `{"qr":"`+qr+`"}`, dev...)
	res.decode(t, &tk)
	if res.Status != 201 || tk.Number != "T001" {
		t.Fatalf("check-in: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "POST", "/api/v1/kiosk/check-ins", `{"code":"`+code+`"}`, dev...); !bytes.Contains(res.Body, []byte(`"T001"`)) {
		t.Fatalf("second check-in must reprint T001: %s", res.Body)
	}
	for _, tt := range []struct{ body, code string }{
		{`{"code":"` + later + `"}`, "checkin_too_early"},
		{`{"qr":"TRM1.e30.AAAA"}`, "ticket_invalid"},
		{`{"code":"ZZZZZZZZ"}`, "checkin_not_found"},
		{`{}`, "invalid_request"},
	} {
		if res := s.do(t, "POST", "/api/v1/kiosk/check-ins", tt.body, dev...); !bytes.Contains(res.Body, []byte(`"`+tt.code+`"`)) ||
			bytes.Contains(bytes.ToLower(res.Body), []byte("token")) {
			t.Errorf("check-in %s: %d %s, want %s (and no word of a token)", tt.body, res.Status, res.Body, tt.code)
		}
	}
	// The appointment is called before the walk-ins, then walk-ins in order.
	var called struct {
		ID     int64
		Number string
		Desk   string
	}
	s.do(t, "POST", "/api/v1/staff/locations/buergeramt-koblenz/call", `{"desk":"3"}`, admin...).decode(t, &called)
	if called.Number != "T001" || called.Desk != "3" {
		t.Fatalf("first call: %+v", called)
	}
	var display struct {
		Called  []struct{ Number, Desk string }
		Waiting int
	}
	s.do(t, "GET", "/api/v1/locations/buergeramt-koblenz/queue/display", "").decode(t, &display)
	if len(display.Called) != 1 || display.Called[0].Number != "T001" || display.Waiting != 20 {
		t.Fatalf("display: %+v", display)
	}
	if res := s.do(t, "POST", fmt.Sprintf("/api/v1/staff/locations/buergeramt-koblenz/tickets/%d/finish", called.ID), `{"state":"served"}`, admin...); res.Status != 200 {
		t.Fatalf("finish: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "POST", fmt.Sprintf("/api/v1/staff/locations/buergeramt-koblenz/tickets/%d/finish", called.ID), `{"state":"no_show"}`, admin...); res.Status != 409 {
		t.Fatalf("finish twice: %d %s", res.Status, res.Body)
	}
	s.do(t, "POST", "/api/v1/staff/locations/buergeramt-koblenz/call", `{"desk":"1"}`, admin...).decode(t, &called)
	if called.Number != "A001" {
		t.Fatalf("second call: %+v", called)
	}
	if res := s.do(t, "POST", "/api/v1/staff/locations/buergeramt-koblenz/call", `{"desk":"1"}`); res.Status != 401 {
		t.Fatalf("call without staff key: %d", res.Status)
	}

	// Heartbeats reach the administrator's device list.
	if res := s.do(t, "POST", "/api/v1/kiosk/heartbeat", `{"version":"1.0","status":{"printer":{"paper":"out"},"scanner_connected":true}}`, dev...); res.Status != 204 {
		t.Fatalf("heartbeat: %d %s", res.Status, res.Body)
	}
	res = s.do(t, "GET", "/api/v1/admin/devices", "", admin...)
	if !bytes.Contains(res.Body, []byte(`"paper":"out"`)) {
		t.Fatalf("devices: %s", res.Body)
	}
	res = s.do(t, "GET", "/api/v1/admin/ticket-preview.png?location=buergeramt-koblenz&number=A042", "", admin...)
	if _, err := png.Decode(bytes.NewReader(res.Body)); res.Status != 200 || err != nil {
		t.Fatalf("preview: %d %v", res.Status, err)
	}
}

func TestGateRedemptions(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	slot := time.Date(2030, time.January, 7, 10, 0, 0, 0, berlin)
	s.clockAt(slot.Add(-time.Hour))
	_, qr := s.bookAt(t, "stadtbad", "erwachsene", slot, 2)
	_, officeQR := s.bookAt(t, "buergeramt-koblenz", "personalausweis", time.Date(2030, time.January, 7, 9, 40, 0, 0, berlin), 1)
	_, early := s.bookAt(t, "stadtbad", "erwachsene", slot.Add(3*time.Hour), 1)
	s.clockAt(slot.Add(5 * time.Minute))
	dev := []string{"Authorization", "Bearer " + s.enrolledDevice(t, "stadtbad", "gate")}

	redeem := func(items ...string) []struct {
		Nonce, Result, Reason string
		First                 *time.Time `json:"first_scanned_at"`
	} {
		res := s.do(t, "POST", "/api/v1/kiosk/redemptions", `{"redemptions":[`+joinComma(items)+`]}`, dev...)
		if res.Status != 200 {
			t.Fatalf("redeem: %d %s", res.Status, res.Body)
		}
		var out struct {
			Results []struct {
				Nonce, Result, Reason string
				First                 *time.Time `json:"first_scanned_at"`
			}
		}
		res.decode(t, &out)
		return out.Results
	}
	scan := func(qr, nonce string, offline bool, at time.Time) string {
		b, _ := json.Marshal(map[string]any{"qr": qr, "nonce": nonce, "offline": offline, "scanned_at": at})
		return string(b)
	}
	r := redeem(scan(qr, "n1", false, time.Time{}))
	if r[0].Result != "admitted" {
		t.Fatalf("first scan: %+v", r)
	}
	first := *r[0].First
	// An upload repeated after a network failure: same nonce, same answer.
	r = redeem(scan(qr, "n1", false, time.Time{}), scan(qr, "n2", false, time.Time{}))
	if r[0].Result != "admitted" || !r[0].First.Equal(first) {
		t.Fatalf("same nonce again: %+v", r[0])
	}
	if r[1].Result != "refused" || r[1].Reason != "already_redeemed" || !r[1].First.Equal(first) {
		t.Fatalf("second entry: %+v", r[1])
	}
	forged := qr[:len(qr)-4] + "AAAA"
	r = redeem(scan(forged, "n3", false, time.Time{}), scan(officeQR, "n4", false, time.Time{}), scan(early, "n5", false, time.Time{}))
	for i, want := range []string{"ticket_invalid", "wrong_location", "outside_slot"} {
		if r[i].Result != "refused" || r[i].Reason != want {
			t.Errorf("scan %d: %+v, want refused %s", i, r[i], want)
		}
	}
}

func joinComma(items []string) string {
	var b bytes.Buffer
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(it)
	}
	return b.String()
}
