package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/request"
)

// lockedBuffer is a log sink the server's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsCarryNoPersonalData: through a booking, its lookup and
// cancellation with the manage token, refused and failing requests, the
// server's JSON log (at debug level) holds every line as a JSON object,
// the lines written for a request carry its id, and no line holds the
// citizen's name, e-mail address, the manage token or the client's
// address.
func TestLogsCarryNoPersonalData(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(request.LogHandler{Handler: slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	rdb := servicetest.Redis(t)
	s := launch(t, serverSetup{dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr}, rdb: rdb,
		pool: servicetest.RandomID("bad"), log: log})
	start := s.poolSlot(t)
	hold := s.mustHold(t, s.pool, "erwachsene", start, 1)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Zacharias Quellenbrink","email":"zq.logs@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	var b struct {
		Code        string
		ManageToken string `json:"manage_token"`
	}
	res.decode(t, &b)
	s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken)
	s.do(t, "GET", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer wrong-"+b.ManageToken)
	s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken)
	s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Zacharias Quellenbrink","email":"zq.logs@example.org"}`)
	s.do(t, "POST", "/api/v1/bookings", `{"hold":"nope","name":"Zacharias Quellenbrink","email":"not an address zq.logs@example.org"}`)

	text := buf.String()
	if text == "" {
		t.Fatal("no log lines")
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %s", line)
			continue
		}
		if rec["msg"] == "request failed" && rec["request_id"] == nil {
			t.Errorf("a request's line without its id: %s", line)
		}
	}
	for _, secret := range []string{"Quellenbrink", "zq.logs@example.org", b.ManageToken, "127.0.0.1"} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds %q:\n%s", secret, text)
		}
	}
}
