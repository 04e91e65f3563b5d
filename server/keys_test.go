package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// TestSigningKeyRotation rotates the QR signing key on a running server:
// tickets of the old key go on admitting until its end (the last of its
// bookings plus the late grace), new tickets name the new key, devices
// get both keys, and once the old key's end has passed its tickets are
// refused and it is no longer sent.
func TestSigningKeyRotation(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	ctx := context.Background()
	d := s.deps
	berlin, _ := time.LoadLocation("Europe/Berlin")
	slot := time.Date(2030, time.January, 7, 10, 0, 0, 0, berlin)
	s.clockAt(slot.Add(-time.Hour))
	oldCode, oldQR := s.bookAt(t, "stadtbad", "erwachsene", slot, 1)
	if c, _, _, err := booking.ParseTicket(oldQR); err != nil || c.Key != 0 {
		t.Fatalf("ticket of the first key: %+v %v", c, err)
	}
	oldKey, err := d.pg.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}

	rot, err := d.pg.RotateSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Retired != booking.FirstTicketKeyID || rot.Active <= rot.Retired {
		t.Fatalf("rotation: %+v", rot)
	}
	// Before the reload this replica still signs with the old key.
	if _, qr := s.bookAt(t, "stadtbad", "erwachsene", slot, 1); keyOf(t, qr) != 0 {
		t.Fatalf("signed with the new key before the reload")
	}
	if err := d.tickets.reload(ctx); err != nil {
		t.Fatal(err)
	}
	newCode, newQR := s.bookAt(t, "stadtbad", "erwachsene", slot, 1)
	if keyOf(t, newQR) != rot.Active {
		t.Fatalf("new ticket names key %d, want %d", keyOf(t, newQR), rot.Active)
	}

	dev := []string{"Authorization", "Bearer " + s.enrolledDevice(t, "stadtbad", "gate")}
	keys := deviceKeys(t, s, dev)
	if len(keys) != 2 || keys[0].ID != rot.Active || !keys[0].Active || keys[1].ID != rot.Retired || keys[1].Active || keys[1].VerifyUntil != nil {
		t.Fatalf("device keys after the rotation: %+v", keys)
	}

	s.clockAt(slot.Add(5 * time.Minute))
	if r := s.redeemOne(t, dev, oldQR, "old-1"); r.Result != "admitted" {
		t.Fatalf("old ticket after the rotation: %+v", r)
	}
	if r := s.redeemOne(t, dev, newQR, "new-1"); r.Result != "admitted" {
		t.Fatalf("new ticket: %+v", r)
	}

	// Every replica has picked the new key up: the old key's end is the
	// last end of the bookings made until then, plus the late grace.
	settled, err := d.pg.SettleRetiredKeys(ctx, 0, ticketLate(d.cfg))
	if err != nil {
		t.Fatal(err)
	}
	var lastEnd time.Time
	if err := d.db.GetContext(ctx, &lastEnd, `SELECT max(end_at) FROM bookings WHERE code <> $1`, newCode); err != nil {
		t.Fatal(err)
	}
	until := lastEnd.Add(d.cfg.GateLate)
	if len(settled) != 1 || settled[0].ID != rot.Retired || !settled[0].VerifyUntil.Equal(until) {
		t.Fatalf("settled %+v, want key %d until %s", settled, rot.Retired, until)
	}
	if err := d.tickets.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := deviceKeys(t, s, dev); len(keys) != 2 || keys[1].VerifyUntil == nil || !keys[1].VerifyUntil.Equal(until) {
		t.Fatalf("device keys after settling: %+v", keys)
	}

	// A ticket of the old key valid beyond the key's end: admitted just
	// before the end, refused after it.
	claims := booking.TicketClaims{Code: oldCode, Location: "stadtbad", Service: "erwachsene",
		Start: slot.Unix(), End: until.Add(3 * time.Hour).Unix(), Units: 1}
	late := booking.SignTicket(oldKey, claims)
	s.clockAt(until.Add(time.Minute))
	if r := s.redeemOne(t, dev, late, "old-2"); r.Result != "refused" || r.Reason != "ticket_invalid" {
		t.Fatalf("ticket of the retired key after its end: %+v", r)
	}

	// Past its end the key is dropped and no longer sent.
	dropped, err := d.pg.DropRetiredKeys(ctx, until.Add(time.Second))
	if err != nil || len(dropped) != 1 || dropped[0] != rot.Retired {
		t.Fatalf("dropped %v %v", dropped, err)
	}
	if err := d.tickets.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := deviceKeys(t, s, dev); len(keys) != 1 || keys[0].ID != rot.Active {
		t.Fatalf("device keys after the drop: %+v", keys)
	}
}

// TestRotateSigningKeyCommand runs `server rotate-signing-key`: it waits
// until every replica signs with the new key, then fixes the old key's
// end from the bookings made until then.
func TestRotateSigningKeyCommand(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	slot := time.Date(2030, time.January, 8, 10, 0, 0, 0, berlin)
	s.clockAt(slot.Add(-time.Hour))
	s.bookAt(t, "stadtbad", "erwachsene", slot, 1)
	cfg := s.deps.cfg
	cfg.TicketKeysReload = 200 * time.Millisecond
	began := time.Now()
	if err := runRotateSigningKey(ctx, cfg, s.deps.log); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < keyPickup(cfg) {
		t.Fatalf("the command did not wait for the replicas: %s", took)
	}
	keys, err := s.deps.pg.TicketKeys(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var lastEnd time.Time
	if err := s.deps.db.GetContext(ctx, &lastEnd, `SELECT max(end_at) FROM bookings`); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !keys[0].Active || keys[1].ID != booking.FirstTicketKeyID || !keys[1].VerifyUntil.Equal(lastEnd.Add(cfg.GateLate)) {
		t.Fatalf("keys after the command: %+v (last end %s)", keys, lastEnd)
	}
}

type deviceKey struct {
	ID          int64      `json:"id"`
	PublicKey   string     `json:"public_key"`
	Active      bool       `json:"active"`
	VerifyUntil *time.Time `json:"verify_until"`
}

func deviceKeys(t *testing.T, s *testServer, dev []string) []deviceKey {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/kiosk/config", "", dev...)
	if res.Status != 200 {
		t.Fatalf("config: %d %s", res.Status, res.Body)
	}
	var out struct {
		PublicKey string      `json:"public_key"`
		Keys      []deviceKey `json:"keys"`
	}
	res.decode(t, &out)
	if len(out.Keys) == 0 || out.PublicKey != out.Keys[0].PublicKey {
		t.Fatalf("config keys: %+v", out)
	}
	return out.Keys
}

type redemptionResult struct {
	Result, Reason string
}

func (s *testServer) redeemOne(t *testing.T, dev []string, qr, nonce string) redemptionResult {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"qr": qr, "nonce": nonce})
	res := s.do(t, "POST", "/api/v1/kiosk/redemptions", fmt.Sprintf(`{"redemptions":[%s]}`, b), dev...)
	if res.Status != 200 {
		t.Fatalf("redeem: %d %s", res.Status, res.Body)
	}
	var out struct{ Results []redemptionResult }
	res.decode(t, &out)
	if len(out.Results) != 1 {
		t.Fatalf("redeem: %s", res.Body)
	}
	return out.Results[0]
}

func keyOf(t *testing.T, qr string) int64 {
	t.Helper()
	c, _, _, err := booking.ParseTicket(qr)
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}
