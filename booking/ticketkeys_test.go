package booking

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func testKey(t *testing.T, id int64, active bool, until time.Time) TicketKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return TicketKey{ID: id, Private: priv, Public: pub, Active: active, VerifyUntil: until}
}

func TestTicketKeysRotation(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	first := testKey(t, FirstTicketKeyID, true, time.Time{})
	claims := TicketClaims{Code: "K7Q2MX90", Location: "stadtbad", Service: "erwachsene", Start: now.Unix(), End: now.Add(time.Hour).Unix(), Units: 1}

	before := TicketKeys{first}.Sign(claims)
	if before != SignTicket(first.Private, claims) {
		t.Fatalf("the first key's ticket differs from the ticket of before rotation")
	}
	if c, _, _, err := ParseTicket(before); err != nil || c.Key != 0 {
		t.Fatalf("the first key names itself: %+v %v", c, err)
	}

	retired := first
	retired.Active, retired.VerifyUntil = false, now.Add(2*time.Hour)
	second := testKey(t, 2, true, time.Time{})
	unsettled := first
	unsettled.Active = false
	rotated := TicketKeys{second, retired}
	after := rotated.Sign(claims)
	if c, _, _, err := ParseTicket(after); err != nil || c.Key != 2 {
		t.Fatalf("new ticket: key %d, %v", c.Key, err)
	}
	forged := testKey(t, 2, true, time.Time{})
	// A ticket naming key 2 but signed by another key: refused even
	// though its claims are fine.
	impostor := TicketKeys{forged}.Sign(claims)

	tests := []struct {
		name    string
		keys    TicketKeys
		payload string
		at      time.Time
		ok      bool
	}{
		{"old ticket before its key's end", rotated, before, now, true},
		{"old ticket just before the end", rotated, before, now.Add(2*time.Hour - time.Second), true},
		{"old ticket once its key is retired", rotated, before, now.Add(2 * time.Hour), false},
		{"old ticket, key retired, end not yet fixed", TicketKeys{second, unsettled}, before, now.Add(100 * time.Hour), true},
		{"old ticket, key dropped", TicketKeys{second}, before, now, false},
		{"new ticket", rotated, after, now.Add(100 * time.Hour), true},
		{"new ticket on a device that knows only the old key", TicketKeys{first}, after, now, false},
		{"new ticket naming its key, signed by another", rotated, impostor, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.keys.Verify(tc.payload, tc.at)
			if tc.ok && (err != nil || c.Code != claims.Code) {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrTicketSignature) {
				t.Fatalf("want a signature error, got %v (%+v)", err, c)
			}
		})
	}
	if _, err := rotated.Verify("TRM1.bm9wZQ.bm9wZQ", now); !errors.Is(err, ErrTicketMalformed) {
		t.Errorf("garbage: %v", err)
	}
	neg := claims
	neg.Key = -1
	if _, err := rotated.Verify(SignTicket(second.Private, neg), now); !errors.Is(err, ErrTicketMalformed) {
		t.Errorf("negative key id: %v", err)
	}
}
