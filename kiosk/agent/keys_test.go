package agent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
)

// TestGateSigningKeyRotation rotates the server's QR signing key with
// `server rotate-signing-key` while tickets of the old key are out: the
// gate admits them and the new key's tickets alike, and once the old
// key's end has passed on the gate's own clock it refuses its tickets
// without asking the server.
func TestGateSigningKeyRotation(t *testing.T) {
	s := startServer(t)
	s.Stop()
	s.env = append(s.env, "TICKET_KEYS_RELOAD=300ms")
	s.Start()
	oldKey := s.signingKey()
	old := s.book(pool, "erwachsene")
	if keyID(t, old.QR) != 0 {
		t.Fatalf("the first key names itself in %s", old.QR)
	}

	out, err := s.command("rotate-signing-key").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "key 1 verifies until") {
		t.Fatalf("rotate-signing-key: %v\n%s", err, out)
	}
	fresh := s.book(pool, "erwachsene")
	if keyID(t, fresh.QR) != 2 {
		t.Fatalf("a ticket after the rotation names key %d", keyID(t, fresh.QR))
	}

	r := newRig(t, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
		c.GateOnlineWait = 2 * time.Second
	}})
	if d := r.scanDecision(old.QR); !d.Admit || d.Code != old.Code {
		t.Fatalf("ticket of the retired key: %+v", d)
	}
	if d := r.scanDecision(fresh.QR); !d.Admit || d.Code != fresh.Code {
		t.Fatalf("ticket of the new key: %+v", d)
	}

	// The old key's end comes near: a gate that learnt it refuses its
	// tickets once it has passed, on its own clock.
	until := time.Now().Add(4 * time.Second)
	if _, err := s.db.Exec(`UPDATE signing_keys SET verify_until = $1 WHERE id = 1`, until); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the server reads its keys again every 300 ms
	g := newRig(t, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
		c.GateOnlineWait = 2 * time.Second
	}})
	resigned := func() string {
		b := s.book(pool, "erwachsene")
		c, _, _, err := booking.ParseTicket(b.QR)
		if err != nil {
			t.Fatal(err)
		}
		c.Key = 0
		return booking.SignTicket(oldKey, c)
	}
	before, after := resigned(), resigned()
	if d := g.scanDecision(before); !d.Admit {
		t.Fatalf("ticket of the retired key before its end: %+v", d)
	}
	time.Sleep(time.Until(until) + 100*time.Millisecond)
	// Refused by the gate itself: the ticket is not even read (no code).
	if d := g.scanDecision(after); d.Admit || d.Reason != agent.ReasonInvalid || d.Code != "" {
		t.Fatalf("ticket of the retired key after its end: %+v", d)
	}
	if d := g.scanDecision(fresh.QR); d.Admit || d.Reason != agent.ReasonAlreadyRedeemed {
		t.Fatalf("new key's ticket scanned again: %+v", d)
	}
}

func keyID(t *testing.T, qr string) int64 {
	t.Helper()
	c, _, _, err := booking.ParseTicket(qr)
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}
