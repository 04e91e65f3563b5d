package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/config"
)

type testServer struct {
	URL  string
	deps *deps
	app  *fiber.App
	// pool is the id the demo city's pool has on this server.
	pool string
}

// startServer runs the real server on a loopback port, on a fresh database
// with the demo city and its own Redis keyspace. The rate limit and the
// automatic proof of work are off unless flags switch them on.
func startServer(t *testing.T, flags ...string) *testServer {
	t.Helper()
	rdb := servicetest.Redis(t)
	return launch(t, serverSetup{
		dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, flags: flags,
	})
}

// serverSetup is what launch runs a test server on.
type serverSetup struct {
	dbURL      string
	redisAddrs []string
	// pool renames the demo city's pool, so servers sharing a Redis
	// Cluster keep apart.
	pool string
	// rdb, when set, replaces the client the server builds from
	// redisAddrs (to use a private logical database).
	rdb redis.UniversalClient
	// log receives the server's log; discarded when nil.
	log *slog.Logger
	// flags are extra server flags.
	flags []string
	// city edits the demo city file before it is seeded.
	city func([]byte) []byte
}

// launch seeds the demo city and serves it on a loopback port.
func launch(t *testing.T, setup serverSetup) *testServer {
	t.Helper()
	ctx := context.Background()
	if setup.rdb != nil {
		forgetPool(t, setup.rdb, setup.pool)
		forgetPool(t, setup.rdb, "buergeramt-koblenz")
	}
	cfg, err := loadConfig(append([]string{"-db", setup.dbURL, "-redis", strings.Join(setup.redisAddrs, ","), "-rate-limit=0", "-pow-auto=0"}, setup.flags...))
	if err != nil {
		t.Fatal(err)
	}
	if setup.pool != "stadtbad" || setup.city != nil {
		cfg.CityFile = filepath.Join(t.TempDir(), "city.json")
		city := bytes.ReplaceAll(demoCity, []byte(`"id": "stadtbad"`), []byte(`"id": "`+setup.pool+`"`))
		if setup.city != nil {
			city = setup.city(city)
		}
		if err := os.WriteFile(cfg.CityFile, city, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := setup.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := runSeed(ctx, cfg, log); err != nil {
		t.Fatal(err)
	}
	d, err := newDeps(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if setup.rdb != nil {
		d.rdb.Close()
		if err := d.useRedis(ctx, setup.rdb); err != nil {
			t.Fatal(err)
		}
	}
	app := newApp(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		app.ShutdownWithTimeout(5 * time.Second)
		if setup.rdb == nil {
			d.rdb.Close()
		}
		d.db.Close()
	})
	return &testServer{URL: "http://" + ln.Addr().String(), deps: d, app: app, pool: setup.pool}
}

// forgetPool deletes a location's keys from a Redis database an earlier test
// (or an earlier run) used: they would describe bookings this test's
// fresh PostgreSQL does not have.
func forgetPool(t *testing.T, rdb redis.UniversalClient, pool string) {
	t.Helper()
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, "{"+pool+":*", 0).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// loadConfig reads the server's configuration from flags and the test
// process's environment, as the binary does.
func loadConfig(args []string) (config.Config, error) { return config.Load(args, os.LookupEnv) }

// mustHold places a hold and returns its id.
func (s *testServer) mustHold(t *testing.T, location, service, start string, units int) string {
	t.Helper()
	res := s.do(t, "POST", "/api/v1/holds", fmt.Sprintf(`{"location":%q,"service":%q,"start":%q,"units":%d}`, location, service, start, units))
	if res.Status != 201 {
		t.Fatalf("hold: %d %s", res.Status, res.Body)
	}
	var h struct{ ID string }
	res.decode(t, &h)
	return h.ID
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (s *testServer) do(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// poolSlot finds a pool slot tomorrow with free units.
func (s *testServer) poolSlot(t *testing.T) string {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
	res := s.do(t, "GET", "/api/v1/availability?location="+s.pool+"&service=erwachsene&from="+day+"&to="+day, "")
	if res.Status != 200 {
		t.Fatalf("availability: %d %s", res.Status, res.Body)
	}
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	if len(av.Slots) != 9 || av.Slots[0].Free != 150 {
		t.Fatalf("pool tomorrow: %+v", av.Slots)
	}
	return av.Slots[2].Start.Format(time.RFC3339)
}

func TestBookingWalkthrough(t *testing.T) {
	s := startServer(t)
	var locs []map[string]string
	s.do(t, "GET", "/api/v1/locations", "").decode(t, &locs)
	if len(locs) != 2 || locs[0]["id"] != "buergeramt-koblenz" || locs[1]["kind"] != "pool" || locs[0]["timezone"] != "Europe/Berlin" {
		t.Fatalf("locations: %v", locs)
	}
	var services []map[string]any
	s.do(t, "GET", "/api/v1/locations/buergeramt-koblenz/services", "").decode(t, &services)
	if len(services) != 4 || services[0]["name"] != "Personalausweis beantragen" || services[0]["duration_minutes"] != 20.0 || services[0]["payment"] != "counter" {
		t.Fatalf("services: %v", services)
	}
	start := s.poolSlot(t)
	res := s.do(t, "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"`+start+`","units":2}`)
	if res.Status != 201 {
		t.Fatalf("hold: %d %s", res.Status, res.Body)
	}
	var hold struct {
		ID        string
		ExpiresAt time.Time `json:"expires_at"`
		Units     int
	}
	res.decode(t, &hold)
	if hold.Units != 2 || time.Until(hold.ExpiresAt) < 9*time.Minute {
		t.Fatalf("hold: %s", res.Body)
	}
	res = s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold.ID+`","name":"Erika Mustermann","email":"erika@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	var b struct {
		Code, Status, Location, Service string
		ManageToken                     string `json:"manage_token"`
		Start                           time.Time
	}
	res.decode(t, &b)
	if len(b.Code) != 8 || b.Status != "confirmed" || b.Location != "stadtbad" || b.Service != "erwachsene" || b.ManageToken == "" || b.Start.Format(time.RFC3339) != start {
		t.Fatalf("booking: %s", res.Body)
	}
	auth := []string{"Authorization", "Bearer " + b.ManageToken}
	if res := s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", auth...); res.Status != 200 || !bytes.Contains(res.Body, []byte(`"confirmed"`)) {
		t.Fatalf("get booking: %d %s", res.Status, res.Body)
	}
	// The answer says what happens to the money; a second cancel is
	// refused as such.
	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", auth...); res.Status != 200 ||
		!bytes.Contains(res.Body, []byte(`"status":"cancelled"`)) || !bytes.Contains(res.Body, []byte(`"outcome":"none"`)) {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", auth...); res.Status != 409 || !bytes.Contains(res.Body, []byte(`"already_cancelled"`)) {
		t.Fatalf("second cancel: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", auth...); !bytes.Contains(res.Body, []byte(`"cancelled"`)) {
		t.Fatalf("after cancel: %s", res.Body)
	}
	res = s.do(t, "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"`+start+`"}`)
	var h2 struct{ ID string }
	res.decode(t, &h2)
	if res := s.do(t, "DELETE", "/api/v1/holds/"+h2.ID, ""); res.Status != 204 {
		t.Fatalf("release hold: %d %s", res.Status, res.Body)
	}
	// Booking a released hold says so, not that it expired.
	if res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+h2.ID+`","name":"Erika Mustermann","email":"erika@example.org"}`); res.Status != 410 ||
		!bytes.Contains(res.Body, []byte(`"hold_released"`)) {
		t.Fatalf("booking a released hold: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/readyz", ""); res.Status != 200 {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
}

func TestErrorsAreJSONWithStableCodes(t *testing.T) {
	s := startServer(t)
	start := s.poolSlot(t)
	startT, _ := time.Parse(time.RFC3339, start)
	misaligned := startT.Add(15 * time.Minute).Format(time.RFC3339)
	past := time.Now().Add(-24 * time.Hour).Truncate(24 * time.Hour).Format(time.RFC3339)
	hold := func(body string) string {
		res := s.do(t, "POST", "/api/v1/holds", body)
		var h struct{ ID string }
		res.decode(t, &h)
		return h.ID
	}
	used := hold(`{"location":"stadtbad","service":"erwachsene","start":"` + start + `"}`)
	s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+used+`","name":"A","email":"a@example.org"}`)
	live := hold(`{"location":"stadtbad","service":"erwachsene","start":"` + start + `"}`)
	today := time.Now().Format(time.DateOnly)

	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"invalid json", "POST", "/api/v1/holds", `{"location":`, 400, "invalid_json"},
		{"empty body", "POST", "/api/v1/holds", ``, 400, "invalid_json"},
		{"wrong type", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"` + start + `","units":"two"}`, 400, "invalid_request"},
		{"missing location", "POST", "/api/v1/holds", `{"service":"erwachsene","start":"` + start + `"}`, 400, "invalid_request"},
		{"bad start", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"tomorrow"}`, 400, "invalid_request"},
		{"unknown location", "POST", "/api/v1/holds", `{"location":"atlantis","service":"erwachsene","start":"` + start + `"}`, 404, "location_not_found"},
		{"unknown service", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"sauna","start":"` + start + `"}`, 404, "service_not_found"},
		{"past start", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"` + past + `"}`, 422, "slot_past"},
		{"misaligned start", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"` + misaligned + `"}`, 422, "slot_invalid"},
		{"zero units", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"` + start + `","units":0}`, 422, "units_invalid"},
		{"too many units", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"` + start + `","units":9}`, 422, "units_invalid"},
		{"unknown hold", "POST", "/api/v1/bookings", `{"hold":"stadtbad.20300101.0123456789ABCDEF","name":"A","email":"a@example.org"}`, 410, "hold_expired"},
		{"malformed hold", "POST", "/api/v1/bookings", `{"hold":"x","name":"A","email":"a@example.org"}`, 404, "hold_not_found"},
		{"used hold", "POST", "/api/v1/bookings", `{"hold":"` + used + `","name":"A","email":"a@example.org"}`, 409, "hold_used"},
		{"bad email", "POST", "/api/v1/bookings", `{"hold":"` + live + `","name":"A","email":"a@"}`, 422, "email_invalid"},
		{"no name", "POST", "/api/v1/bookings", `{"hold":"` + live + `","name":" ","email":"a@example.org"}`, 422, "name_invalid"},
		{"no token", "GET", "/api/v1/bookings/ABCDEFGH", "", 401, "unauthorized"},
		{"unknown route", "GET", "/api/v1/nothing", "", 404, "not_found"},
		{"services of unknown location", "GET", "/api/v1/locations/atlantis/services", "", 404, "location_not_found"},
		{"availability without dates", "GET", "/api/v1/availability?location=stadtbad&service=erwachsene", "", 400, "invalid_request"},
		{"availability too long", "GET", "/api/v1/availability?location=stadtbad&service=erwachsene&from=2026-01-01&to=2026-03-01", "", 400, "range_too_long"},
		{"availability reversed", "GET", "/api/v1/availability?location=stadtbad&service=erwachsene&from=" + today + "&to=2020-01-01", "", 400, "invalid_request"},
		{"same service twice", "POST", "/api/v1/holds", `{"location":"buergeramt-koblenz","services":["personalausweis","personalausweis"],"start":"` + start + `"}`, 422, "choice_invalid"},
		{"two of one office service", "POST", "/api/v1/holds", `{"location":"buergeramt-koblenz","tickets":[{"service":"personalausweis","count":1},{"service":"reisepass","count":2}],"start":"` + start + `"}`, 422, "units_invalid"},
		{"service and services", "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","services":["ermaessigt"],"start":"` + start + `"}`, 400, "invalid_request"},
		{"calendar reversed", "GET", "/api/v1/calendar?location=stadtbad&tickets=erwachsene:2&from=2030-01-10&to=2030-01-01", "", 400, "invalid_request"},
		{"calendar of an unknown ticket", "GET", "/api/v1/calendar?location=stadtbad&tickets=sauna:1", "", 404, "service_not_found"},
		{"manage link without email", "POST", "/api/v1/manage-links", `{"code":"ABCDEFGH"}`, 400, "invalid_request"},
		{"activate without token", "POST", "/api/v1/bookings/ABCDEFGH/activate", "", 401, "unauthorized"},
		{"availability unknown service", "GET", "/api/v1/availability?location=stadtbad&service=sauna&from=" + today, "", 404, "service_not_found"},
		{"body is an array", "POST", "/api/v1/holds", `[]`, 400, "invalid_json"},
		{"NUL in a name", "POST", "/api/v1/bookings", `{"hold":"` + live + `","name":"A\u0000","email":"a@example.org"}`, 400, "text_invalid"},
		{"lone surrogate in an email", "POST", "/api/v1/bookings", `{"hold":"` + live + `","name":"A","email":"\ud800@example.org"}`, 400, "text_invalid"},
		{"overlong name", "POST", "/api/v1/bookings", `{"hold":"` + live + `","name":"` + strings.Repeat("a", 201) + `","email":"a@example.org"}`, 400, "too_long"},
		{"NUL in a query", "GET", "/api/v1/availability?location=stadtbad%00&service=erwachsene&from=" + today, "", 400, "text_invalid"},
		{"unknown method", "FOO", "/api/v1/locations", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, tt.method, tt.path, tt.body)
			var raw map[string]map[string]string
			if json.Unmarshal(res.Body, &raw) != nil {
				t.Fatalf("not JSON: %s", res.Body)
			}
			if res.Status != tt.status || raw["error"]["code"] != tt.code || raw["error"]["message"] == "" || raw["error"]["message_de"] == "" {
				t.Fatalf("got %d %s, want %d %s", res.Status, res.Body, tt.status, tt.code)
			}
		})
	}
	// The rejected attempts left the live hold usable.
	if res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+live+`","name":"A","email":"a@example.org"}`); res.Status != 201 {
		t.Fatalf("book live hold after rejects: %d %s", res.Status, res.Body)
	}
	// A browser outside the API gets a page.
	res := s.do(t, "GET", "/nowhere", "", "Accept", "text/html")
	if res.Status != 404 || !bytes.Contains(res.Body, []byte("<html")) {
		t.Fatalf("browser 404: %d %s", res.Status, res.Body)
	}
}

func TestUnavailableWhenRedisIsDown(t *testing.T) {
	s := startServer(t)
	start := s.poolSlot(t)
	s.deps.rdb.Close() // as good as Redis gone, for this server
	res := s.do(t, "POST", "/api/v1/holds", `{"location":"stadtbad","service":"erwachsene","start":"`+start+`"}`)
	if res.Status != 503 || res.Header.Get("Retry-After") == "" || !bytes.Contains(res.Body, []byte(`"unavailable"`)) {
		t.Fatalf("redis down: %d %v %s", res.Status, res.Header, res.Body)
	}
	if res := s.do(t, "GET", "/readyz", ""); res.Status != 503 {
		t.Fatalf("readyz with redis down: %d", res.Status)
	}
}
