package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// TestRedisErrorsCountOnlyFailures: a new connection (go-redis names
// itself with CLIENT SETINFO, which Redis before 7.2 refuses) and the
// first hold of a day beyond the warm days (the hold script answers
// NOTLOADED and the server loads the day) are no Redis errors; make soak
// saw termin_redis_errors_total rise with both.
func TestRedisErrorsCountOnlyFailures(t *testing.T) {
	s := startServer(t, "-warm-days", "1")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Five days ahead, beyond the one warm day, and a week long, so it
	// holds working days.
	from, to := time.Now().In(berlin).AddDate(0, 0, 5), time.Now().In(berlin).AddDate(0, 0, 12)
	day := from.Format(time.DateOnly)
	res := s.do(t, "GET", "/api/v1/availability?location=buergeramt-koblenz&service=meldebescheinigung&from="+day+"&to="+to.Format(time.DateOnly), "")
	var av struct{ Slots []struct{ Start time.Time } }
	res.decode(t, &av)
	if len(av.Slots) == 0 {
		t.Fatalf("no slot in the week from %s: %s", day, res.Body)
	}
	s.mustHold(t, "buergeramt-koblenz", "meldebescheinigung", av.Slots[0].Start.UTC().Format(time.RFC3339), 1)
	rec := httptest.NewRecorder()
	s.deps.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "termin_redis_errors_total{") && !strings.HasSuffix(line, " 0") {
			t.Errorf("counted as a Redis error: %s", line)
		}
	}
}
