package booking

import (
	"crypto/ed25519"
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
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, sig, signed, err := ParseTicket(s)
		if err != nil {
			return
		}
		if len(sig) != ed25519.SignatureSize || !strings.HasPrefix(signed, ticketPrefix) || c.Units < 1 || c.End <= c.Start {
			t.Fatalf("accepted inconsistent ticket %q: %+v", s, c)
		}
	})
}
