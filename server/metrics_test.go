package main

import (
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/server/metrics"
)

// TestMetrics: after a paid booking the scrape shows the request latency by
// route pattern and status, the hold and booking outcomes, payments by
// state, outbox and mail lag, devices and both pools; no booking code or
// other path value appears in a label.
func TestMetrics(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	start := s.poolSlot(t)
	b := s.book(t, start, 1)
	s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken)

	rec := httptest.NewRecorder()
	s.deps.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`termin_http_request_duration_seconds_count{method="POST",route="/api/v1/holds",status="201"} 1`,
		`termin_outcomes_total{action="hold",status="201"} 1`,
		`termin_outcomes_total{action="booking",status="201"} 1`,
		`termin_payments{state="initiated"} 1`,
		`termin_payments_stuck 0`,
		`termin_outbox_lag_seconds{kind="mail"}`,
		`termin_outbox_dead_letters{kind="posting_file"} 0`,
		`termin_devices{state="online"} 0`,
		`termin_device_printers{state="ok"} 0`,
		`go_sql_open_connections{db_name="termin"}`,
		`termin_redis_pool_connections`,
		`termin_record_scrape_errors{part="booking"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if strings.Contains(text, b.Code) || strings.Contains(text, b.ManageToken) {
		t.Error("a booking code or token reached a metric label")
	}
}

// TestCountedRoutesAreMounted: every route whose outcomes are counted is
// one the server mounts, so a renamed route cannot silently stop counting.
func TestCountedRoutesAreMounted(t *testing.T) {
	s := startServer(t)
	var mounted []string
	for _, r := range s.app.GetRoutes(true) {
		mounted = append(mounted, r.Method+" "+r.Path)
	}
	for _, r := range metrics.CountedRoutes() {
		if !slices.Contains(mounted, r) {
			t.Errorf("metrics count %s, which is not mounted", r)
		}
	}
}
