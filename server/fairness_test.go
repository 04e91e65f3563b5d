package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// errorCode returns the code of a JSON error answer.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, MessageDE string }
	}
	if json.Unmarshal(r.Body, &e) != nil || e.Error.Code == "" {
		t.Fatalf("not a JSON error: %d %s", r.Status, r.Body)
	}
	return e.Error.Code
}

func (s *testServer) holdBody(t *testing.T, start string, pow *fairness.Challenge, solution string) string {
	t.Helper()
	body := map[string]any{"location": "stadtbad", "service": "erwachsene", "start": start}
	if pow != nil {
		body["pow"] = map[string]string{"challenge": pow.Challenge, "solution": solution}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

func TestRateLimitPerClient(t *testing.T) {
	s := startServer(t, "-rate-limit=0.01", "-rate-burst=3", "-client-ip-header=X-Forwarded-For")
	start := s.poolSlot(t)
	hold := s.holdBody(t, start, nil, "")
	for i := 0; i < 3; i++ {
		if res := s.do(t, "POST", "/api/v1/holds", hold, "X-Forwarded-For", "203.0.113.7"); res.Status != 201 {
			t.Fatalf("hold %d within burst: %d %s", i, res.Status, res.Body)
		}
	}
	tests := []struct {
		name, xff string
		status    int
	}{
		{"over the burst", "203.0.113.7", 429},
		{"forged first entry", "198.51.100.1, 203.0.113.7", 429},
		{"same IPv6 /64", "2001:db8::1", 201},
		{"another client", "203.0.113.8", 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, "POST", "/api/v1/holds", hold, "X-Forwarded-For", tt.xff)
			if res.Status != tt.status {
				t.Fatalf("got %d %s, want %d", res.Status, res.Body, tt.status)
			}
			if tt.status == 429 {
				if code := errorCode(t, res); code != "rate_limited" {
					t.Fatalf("code %s", code)
				}
				if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 1 {
					t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
				}
			}
		})
	}
	// A /64 shares one bucket: two more addresses of it use up its burst.
	for i := 2; i <= 3; i++ {
		s.do(t, "POST", "/api/v1/holds", hold, "X-Forwarded-For", fmt.Sprintf("2001:db8::%d", i))
	}
	if res := s.do(t, "POST", "/api/v1/holds", hold, "X-Forwarded-For", "2001:db8::ffff"); res.Status != 429 {
		t.Fatalf("fourth hold from one /64: %d %s", res.Status, res.Body)
	}
	// Bookings have a bucket of their own.
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"x","name":"A","email":"a@example.org"}`, "X-Forwarded-For", "203.0.113.7")
	if res.Status != 404 {
		t.Fatalf("booking after holds ran out: %d %s", res.Status, res.Body)
	}
}

func TestRateLimitIgnoresProxyHeaderUnlessConfigured(t *testing.T) {
	s := startServer(t, "-rate-limit=0.01", "-rate-burst=2")
	start := s.poolSlot(t)
	hold := s.holdBody(t, start, nil, "")
	for i, want := range []int{201, 201, 429} {
		res := s.do(t, "POST", "/api/v1/holds", hold, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		if res.Status != want {
			t.Fatalf("request %d: %d %s, want %d", i, res.Status, res.Body, want)
		}
	}
}

// officeSlots returns three starts of one day at the Bürgeramt.
func (s *testServer) officeSlots(t *testing.T) []string {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Now().In(berlin).AddDate(0, 0, 1)
	res := s.do(t, "GET", "/api/v1/availability?location=buergeramt-koblenz&service=meldebescheinigung&from="+
		from.Format(time.DateOnly)+"&to="+from.AddDate(0, 0, 14).Format(time.DateOnly), "")
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	if len(av.Slots) < 3 {
		t.Fatalf("office availability: %s", res.Body)
	}
	day := av.Slots[0].Start.In(berlin).Format(time.DateOnly)
	var out []string
	for _, sl := range av.Slots {
		if sl.Start.In(berlin).Format(time.DateOnly) == day && len(out) < 4 {
			out = append(out, sl.Start.Format(time.RFC3339))
		}
	}
	return out
}

func TestContactLimitPerOfficeAndDay(t *testing.T) {
	s := startServer(t, "-contact-limit-office=2")
	starts := s.officeSlots(t)
	book := func(start, email string) response {
		t.Helper()
		res := s.do(t, "POST", "/api/v1/holds", `{"location":"buergeramt-koblenz","service":"meldebescheinigung","start":"`+start+`"}`)
		if res.Status != 201 {
			t.Fatalf("hold: %d %s", res.Status, res.Body)
		}
		var h struct{ ID string }
		res.decode(t, &h)
		return s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+h.ID+`","name":"Max","email":"`+email+`"}`)
	}
	first := book(starts[0], "max@example.org")
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	// Case and a +tag do not make another person.
	if res := book(starts[1], "Max+2@Example.org"); res.Status != 201 {
		t.Fatalf("second: %d %s", res.Status, res.Body)
	}
	res := book(starts[2], "MAX@example.org")
	if res.Status != 409 || errorCode(t, res) != "contact_limit" {
		t.Fatalf("third: %d %s", res.Status, res.Body)
	}
	if res := book(starts[2], "erika@example.org"); res.Status != 201 {
		t.Fatalf("another contact: %d %s", res.Status, res.Body)
	}
	// A cancelled booking gives its place in the limit back.
	var b struct {
		Code        string
		ManageToken string `json:"manage_token"`
	}
	first.decode(t, &b)
	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken); res.Status != 200 {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	if res := book(starts[3], "max@example.org"); res.Status != 201 {
		t.Fatalf("after cancel: %d %s", res.Status, res.Body)
	}
	// The address is stored for the confirmation e-mail, but keyed only by
	// its hash.
	var n int
	if err := s.deps.db.Get(&n, `SELECT count(*) FROM contact_days WHERE position('max' in encode(contact_hash, 'escape')) > 0`); err != nil || n != 0 {
		t.Fatalf("contact_days holds the address: %d %v", n, err)
	}
}

func (s *testServer) challenge(t *testing.T, location string) fairness.Challenge {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/challenge?location="+location, "")
	if res.Status != 200 {
		t.Fatalf("challenge: %d %s", res.Status, res.Body)
	}
	var c fairness.Challenge
	res.decode(t, &c)
	if c.Challenge == "" || c.Difficulty != 10 || time.Until(c.ExpiresAt) < time.Minute {
		t.Fatalf("challenge: %s", res.Body)
	}
	return c
}

func TestProofOfWorkWhenConfigured(t *testing.T) {
	s := startServer(t, "-pow-locations=stadtbad", "-pow-bits=10")
	start := s.poolSlot(t)
	c := s.challenge(t, "stadtbad")
	good := fairness.Solve(c.Challenge, c.Difficulty)
	wrong := "0"
	for fairness.LeadingZeroBits(c.Challenge, wrong) >= c.Difficulty {
		wrong += "0"
	}
	office := s.challenge(t, "buergeramt-koblenz")
	officeSolution := fairness.Solve(office.Challenge, office.Difficulty)

	tests := []struct {
		name     string
		pow      *fairness.Challenge
		solution string
		status   int
		code     string
	}{
		{"no proof", nil, "", 428, "challenge_required"},
		{"wrong solution", &c, wrong, 403, "challenge_invalid"},
		{"tampered challenge", &fairness.Challenge{Challenge: c.Challenge + "x"}, good, 403, "challenge_invalid"},
		{"other location", &office, officeSolution, 403, "challenge_invalid"},
		{"solved", &c, good, 201, ""},
		{"used twice", &c, good, 403, "challenge_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(t, "POST", "/api/v1/holds", s.holdBody(t, start, tt.pow, tt.solution))
			if res.Status != tt.status || (tt.code != "" && errorCode(t, res) != tt.code) {
				t.Fatalf("got %d %s, want %d %s", res.Status, res.Body, tt.status, tt.code)
			}
		})
	}
	// Other locations are not asked.
	starts := s.officeSlots(t)
	if res := s.do(t, "POST", "/api/v1/holds", `{"location":"buergeramt-koblenz","service":"meldebescheinigung","start":"`+starts[0]+`"}`); res.Status != 201 {
		t.Fatalf("office hold: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, "GET", "/api/v1/challenge?location=atlantis", ""); res.Status != 404 {
		t.Fatalf("challenge for unknown location: %d", res.Status)
	}
}

func TestProofOfWorkUnderRush(t *testing.T) {
	s := startServer(t, "-pow-auto=3", "-pow-bits=10")
	start := s.poolSlot(t)
	for i := 0; i < 3; i++ {
		if res := s.do(t, "POST", "/api/v1/holds", s.holdBody(t, start, nil, "")); res.Status != 201 {
			t.Fatalf("hold %d before the rush: %d %s", i, res.Status, res.Body)
		}
	}
	res := s.do(t, "POST", "/api/v1/holds", s.holdBody(t, start, nil, ""))
	if res.Status != 428 || errorCode(t, res) != "challenge_required" {
		t.Fatalf("hold in the rush: %d %s", res.Status, res.Body)
	}
	c := s.challenge(t, "stadtbad")
	if res := s.do(t, "POST", "/api/v1/holds", s.holdBody(t, start, &c, fairness.Solve(c.Challenge, c.Difficulty))); res.Status != 201 {
		t.Fatalf("hold with proof in the rush: %d %s", res.Status, res.Body)
	}
}
