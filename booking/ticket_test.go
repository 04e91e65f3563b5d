package booking

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTicketSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	c := TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Service: "erwachsene", Start: 1_900_000_000, End: 1_900_005_400, Units: 2}
	payload := SignTicket(priv, c)
	got, err := VerifyTicket(pub, payload)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if _, err := VerifyTicket(otherPub, payload); !errors.Is(err, ErrTicketSignature) {
		t.Errorf("other key: %v", err)
	}
	forged := SignTicket(priv, TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Service: "erwachsene", Start: 1_900_000_000, End: 1_900_005_400, Units: 9})
	mixed := forged[:strings.LastIndexByte(forged, '.')] + payload[strings.LastIndexByte(payload, '.'):]
	if _, err := VerifyTicket(pub, mixed); !errors.Is(err, ErrTicketSignature) {
		t.Errorf("claims swapped under a signature: %v", err)
	}
	for _, bad := range []string{"", "TRM1.", "TRM1.x.y", "TRM2." + payload[5:], payload + "x", "hello"} {
		if _, err := VerifyTicket(pub, bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// Payloads signed before ticket types were broken down verify unchanged,
// and a breakdown that does not add up is refused.
func TestTicketBreakdownIsCompatible(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	old := `{"c":"K7Q2MX90","l":"stadtbad","v":"erwachsene","s":1900000000,"e":1900005400,"u":2}`
	signed := ticketPrefix + base64.RawURLEncoding.EncodeToString([]byte(old))
	payload := signed + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(signed)))
	if c, err := VerifyTicket(pub, payload); err != nil || c.Units != 2 || c.Tickets != nil {
		t.Fatalf("old payload: %+v %v", c, err)
	}
	if got := SignTicket(priv, TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Service: "erwachsene", Start: 1900000000, End: 1900005400, Units: 2}); got != payload {
		t.Errorf("a one-type ticket is signed differently from before:\n%s\n%s", got, payload)
	}
	for _, tickets := range [][]TicketCount{{{"a", 1}, {"b", 1}}, {{"a", 3}, {"b", 0}}, {{"", 2}, {"b", 1}}} {
		c := TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Start: 1, End: 2, Units: 3, Tickets: tickets}
		if _, err := VerifyTicket(pub, SignTicket(priv, c)); !errors.Is(err, ErrTicketMalformed) {
			t.Errorf("breakdown %v of 3: %v", tickets, err)
		}
	}
}

func TestTicketWindow(t *testing.T) {
	c := TicketClaims{Start: 1000, End: 2000}
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	tests := []struct {
		now  int64
		want error
	}{{600, ErrTicketTooEarly}, {700, nil}, {1500, nil}, {2300, nil}, {2301, ErrTicketExpired}}
	for _, tt := range tests {
		if err := c.ValidAt(at(tt.now), 300*time.Second, 300*time.Second); !errors.Is(err, tt.want) {
			t.Errorf("at %d: %v, want %v", tt.now, err, tt.want)
		}
	}
}

func FuzzParseTicket(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(SignTicket(priv, TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Start: 1, End: 2, Units: 1}))
	f.Add("TRM1.e30.AAAA")
	f.Add(SignTicket(priv, TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Start: 1, End: 2, Units: 3,
		Tickets: []TicketCount{{Service: "erwachsene", Count: 2}, {Service: "ermaessigt", Count: 1}}}))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, sig, signed, err := ParseTicket(s)
		if err != nil {
			return
		}
		if len(sig) != ed25519.SignatureSize || !strings.HasPrefix(signed, ticketPrefix) || c.Units < 1 || c.End <= c.Start {
			t.Fatalf("accepted inconsistent ticket %q: %+v", s, c)
		}
		sum := 0
		for _, tc := range c.Tickets {
			sum += tc.Count
		}
		if len(c.Tickets) > 0 && sum != c.Units {
			t.Fatalf("accepted a breakdown of %d for %d persons: %q", sum, c.Units, s)
		}
	})
}
