package main

import (
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/internal/browsertest"
)

// TestQueueTicketPage: the QR on a printed queue ticket opens a page a
// person can read: the number, how many wait before it and about how
// long, or the desk once called; nothing about the person; axe-clean in
// German and English.
func TestQueueTicketPage(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	s.clockAt(time.Date(2030, time.January, 7, 9, 25, 0, 0, berlinZone)) // a Monday, open
	_, qr := s.bookAt(t, "buergeramt-koblenz", "personalausweis", time.Date(2030, time.January, 7, 9, 40, 0, 0, berlinZone), 1)
	dev := []string{"Authorization", "Bearer " + s.enrolledDevice(t, "buergeramt-koblenz", "counter")}
	admin := []string{"Authorization", "Bearer " + testAdminKey}
	for i := 0; i < 4; i++ {
		if res := s.do(t, "POST", "/api/v1/kiosk/walk-ins", `{"service":"meldebescheinigung"}`, dev...); res.Status != 201 {
			t.Fatalf("walk-in: %d %s", res.Status, res.Body)
		}
	}
	if res := s.do(t, "POST", "/api/v1/kiosk/check-ins", `{"qr":"`+qr+`"}`, dev...); res.Status != 201 {
		t.Fatalf("check-in: %d %s", res.Status, res.Body)
	}
	// The appointment (T001) is called first; A001..A004 wait.
	if res := s.do(t, "POST", "/api/v1/staff/locations/buergeramt-koblenz/call", `{"desk":"3"}`, admin...); res.Status != 200 {
		t.Fatalf("call: %d %s", res.Status, res.Body)
	}

	b := browsertest.Start(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight})
	w := &weights{m: map[string]int{}}
	t.Cleanup(func() { w.print(t) })
	for _, lang := range []string{"de", "en"} {
		t.Run(lang, func(t *testing.T) {
			c := newCitizen(t, b, s.URL, lang, w)
			c.open("/warten/buergeramt-koblenz/A004")
			c.waitPage("waiting")
			c.expectText(".ticket", "A004")
			c.expectText(".ticket", tr(lang, "3 Personen vor Ihnen", "3 people ahead of you"))
			c.expectText(".ticket", tr(lang, "Minuten", "minutes"))
			c.check("50-queue-waiting")
			c.open("/warten/buergeramt-koblenz/a001")
			c.waitPage("waiting")
			c.expectText(".ticket", tr(lang, "Niemand vor Ihnen", "Nobody ahead of you"))
			c.open("/warten/buergeramt-koblenz/T001")
			c.waitPage("waiting")
			c.expectText(".ticket", tr(lang, "Schalter 3", "desk 3"))
			if body := c.text("main"); strings.Contains(body, "Mustermann") || strings.Contains(body, "@") {
				t.Fatalf("the waiting page shows personal data:\n%s", body)
			}
			c.check("51-queue-called")
			c.open("/warten/buergeramt-koblenz/A999")
			c.waitPage("message")
			c.expectText("main", tr(lang, "nicht vergeben", "not issued"))
			c.check("52-queue-unknown")
		})
	}
	for _, path := range []string{"/warten/nirgendwo/A001", "/warten/buergeramt-koblenz/A%3C1", "/warten/buergeramt-koblenz/A0000000017"} {
		if res := s.do(t, "GET", path, ""); res.Status != 404 {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
	}
}
