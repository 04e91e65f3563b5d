package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsCountADeviceBeforeItsFirstHeartbeat: a device enrolled a
// moment ago has never been seen; the scrape counts it as enrolled and
// offline instead of failing to read the record (make soak found this:
// every scrape between an enrollment and the first heartbeat lost the
// booking record's vitals).
func TestMetricsCountADeviceBeforeItsFirstHeartbeat(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	s.enrolledDevice(t, "buergeramt-koblenz", "counter")
	rec := httptest.NewRecorder()
	s.deps.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`termin_record_scrape_errors{part="booking"} 0`,
		`termin_devices{state="enrolled"} 1`,
		`termin_devices{state="online"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
}
