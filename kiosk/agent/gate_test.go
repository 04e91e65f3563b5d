package agent_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/kiosk/agent"
)

const pool = "stadtbad"

// scanDecision scans payload and waits for the gate's decision on it.
func (r *rig) scanDecision(payload string) agent.Decision {
	r.t.Helper()
	before, _ := r.agent.Gate().Last()
	if err := r.scanner.Scan(payload); err != nil {
		r.t.Fatal(err)
	}
	var d agent.Decision
	servicetest.Eventually(r.t, "gate decision", 5*time.Second, func() bool {
		var ok bool
		d, ok = r.agent.Gate().Last()
		return ok && d.At != before.At
	})
	// The scanner drops a repeat of the same code for a moment.
	time.Sleep(150 * time.Millisecond)
	return d
}

func (r *rig) pulses() int { return len(r.relay.Pulses()) }

func TestGateOnlineAndOffline(t *testing.T) {
	s := startServer(t)
	r := newRig(t, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
		c.GateOnlineWait = 2 * time.Second // a slow test machine still counts as online
	}})
	first, second, third := s.book(pool, "erwachsene"), s.book(pool, "ermaessigt"), s.book(pool, "erwachsene")

	// Online: admitted with the server's word, the relay pulses once.
	d := r.scanDecision(first.QR)
	if !d.Admit || d.Offline || d.Code != first.Code {
		t.Fatalf("first scan: %+v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.relay.WaitPulses(ctx, 1); err != nil {
		t.Fatal(err)
	}
	d = r.scanDecision(first.QR)
	if d.Admit || d.Reason != agent.ReasonAlreadyRedeemed || d.FirstEntry.IsZero() {
		t.Fatalf("second scan: %+v", d)
	}
	if !strings.Contains(r.page(), "bereits benutzt") {
		t.Errorf("page does not show the refusal")
	}

	// The server knows a ticket this gate has not seen was used (e.g. at
	// the other entrance): refused, the relay stays shut.
	var res struct {
		Results []agent.RedemptionResult `json:"results"`
	}
	other := otherGate(t, s)
	s.do("POST", "/api/v1/kiosk/redemptions", fmt.Sprintf(`{"redemptions":[{"qr":%q,"nonce":"other-entrance-1"}]}`, third.QR), &res,
		"Authorization", "Bearer "+other)
	if len(res.Results) != 1 || res.Results[0].Result != "admitted" {
		t.Fatalf("redeem at the other gate: %+v", res)
	}
	d = r.scanDecision(third.QR)
	if d.Admit || d.Reason != agent.ReasonAlreadyRedeemed || d.FirstEntry.IsZero() {
		t.Fatalf("ticket used elsewhere: %+v", d)
	}

	// Forged and expired tickets are refused offline.
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	claims, _, _, _ := booking.ParseTicket(second.QR)
	if d := r.scanDecision(booking.SignTicket(forger, claims)); d.Admit || d.Reason != agent.ReasonInvalid {
		t.Errorf("forged ticket: %+v", d)
	}
	key := s.signingKey()
	yesterday := time.Now().Add(-24 * time.Hour)
	expired := booking.TicketClaims{Code: randomCode(), Location: pool, Service: "erwachsene", Start: yesterday.Unix(), End: yesterday.Add(90 * time.Minute).Unix(), Units: 1}
	if d := r.scanDecision(booking.SignTicket(key, expired)); d.Admit || d.Reason != agent.ReasonExpired {
		t.Errorf("expired ticket: %+v", d)
	}
	elsewhere := claims
	elsewhere.Location = office
	if d := r.scanDecision(booking.SignTicket(key, elsewhere)); d.Admit || d.Reason != agent.ReasonWrongLocation {
		t.Errorf("ticket for another location: %+v", d)
	}
	if d := r.scanDecision("TRM1.bm9wZQ.bm9wZQ"); d.Admit || d.Reason != agent.ReasonInvalid {
		t.Errorf("garbage: %+v", d)
	}
	if n := r.pulses(); n != 1 {
		t.Fatalf("%d relay pulses after one admission", n)
	}

	// Offline: the server is down; a valid ticket is admitted on the
	// offline check and a second scan is refused from the local store.
	s.Stop()
	d = r.scanDecision(second.QR)
	if !d.Admit || !d.Offline {
		t.Fatalf("offline scan: %+v", d)
	}
	if _, err := r.relay.WaitPulses(ctx, 2); err != nil {
		t.Fatal(err)
	}
	d2 := r.scanDecision(second.QR)
	if d2.Admit || d2.Reason != agent.ReasonAlreadyRedeemed || !d2.FirstEntry.Equal(d.At) {
		t.Fatalf("second offline scan: %+v (first at %v)", d2, d.At)
	}
	if st := r.status(); st.PendingUploads == nil || *st.PendingUploads != 1 {
		t.Fatalf("pending uploads: %+v", st.PendingUploads)
	}

	// The server returns: the scan is uploaded and recorded with its time.
	s.Start()
	servicetest.Eventually(t, "offline scan uploaded", 15*time.Second, func() bool {
		st := r.status()
		return st.PendingUploads != nil && *st.PendingUploads == 0
	})
	var recorded time.Time
	if err := s.db.Get(&recorded, `SELECT scanned_at FROM ticket_redemptions WHERE booking_code = $1 AND location_id = $2 AND offline`, second.Code, pool); err != nil {
		t.Fatal(err)
	}
	if diff := recorded.Sub(d.At); diff < -time.Microsecond || diff > time.Microsecond { // PostgreSQL keeps microseconds
		t.Errorf("server recorded the scan at %v, gate scanned at %v", recorded, d.At)
	}
	// Uploading again changes nothing: the server deduplicates by nonce.
	token := deviceToken(t, r)
	body := fmt.Sprintf(`{"redemptions":[{"qr":%q,"nonce":%q,"scanned_at":%q,"offline":true}]}`, second.QR, d.Nonce, d.At.Format(time.RFC3339Nano))
	s.do("POST", "/api/v1/kiosk/redemptions", body, &res, "Authorization", "Bearer "+token)
	if len(res.Results) != 1 || res.Results[0].Result != "admitted" {
		t.Errorf("upload again: %+v", res.Results)
	}
	var n int
	s.db.Get(&n, `SELECT count(*) FROM ticket_redemptions WHERE location_id = $1`, pool)
	if n != 3 {
		t.Errorf("%d redemptions recorded, want 3", n)
	}
	if n := r.pulses(); n != 2 {
		t.Errorf("%d relay pulses, want 2", n)
	}
}

// TestGateRevokedTickets: a cancelled booking's ticket is refused at the
// gate online (by the server) and offline (by the revocation list of the
// gate's configuration); one cancelled while the gate was offline and
// admitted then is flagged for staff when it is uploaded.
func TestGateRevokedTickets(t *testing.T) {
	s := startServer(t)
	cancel := func(code string) {
		t.Helper()
		if _, err := s.db.Exec(`UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE code = $1`, code); err != nil {
			t.Fatal(err)
		}
	}
	listed, unlisted, meanwhile := s.book(pool, "erwachsene"), s.book(pool, "erwachsene"), s.book(pool, "ermaessigt")
	// Cancelled before the gate starts: on the list of its configuration.
	cancel(listed.Code)
	r := newRig(t, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
		c.GateOnlineWait = 2 * time.Second
	}})
	if d := r.scanDecision(listed.QR); d.Admit || d.Reason != agent.ReasonCancelled {
		t.Fatalf("ticket on the revocation list: %+v", d)
	}
	if !strings.Contains(r.page(), "storniert") {
		t.Errorf("page does not say the booking was cancelled")
	}
	// Cancelled after the gate read its list: the server refuses it.
	cancel(unlisted.Code)
	if d := r.scanDecision(unlisted.QR); d.Admit || d.Offline || d.Reason != "booking_cancelled" {
		t.Fatalf("cancelled ticket online: %+v", d)
	}

	// Offline, the list still refuses; a ticket cancelled meanwhile is
	// admitted on the offline check ...
	s.Stop()
	if d := r.scanDecision(listed.QR); d.Admit || d.Reason != agent.ReasonCancelled {
		t.Fatalf("ticket on the revocation list, offline: %+v", d)
	}
	cancel(meanwhile.Code)
	d := r.scanDecision(meanwhile.QR)
	if !d.Admit || !d.Offline {
		t.Fatalf("offline scan: %+v", d)
	}
	if n := r.pulses(); n != 1 {
		t.Fatalf("%d relay pulses, want 1", n)
	}
	// ... and flagged for staff when it is uploaded, not counted as valid.
	s.Start()
	servicetest.Eventually(t, "offline scan uploaded", 15*time.Second, func() bool {
		st := r.status()
		return st.PendingUploads != nil && *st.PendingUploads == 0
	})
	if rec, ok := r.agent.Gate().Store.Get(d.Nonce); !ok || rec.State != agent.ScanFlagged || rec.Reason != "booking_cancelled" {
		t.Fatalf("gate's record of the upload: %+v", rec)
	}
	var flag string
	if err := s.db.Get(&flag, `SELECT flag FROM ticket_redemptions WHERE booking_code = $1 AND location_id = $2 AND offline`, meanwhile.Code, pool); err != nil || flag != "booking_cancelled" {
		t.Fatalf("recorded flag %q: %v", flag, err)
	}
	var out struct {
		Admissions []struct{ Code, Flag string } `json:"admissions"`
	}
	if st := s.do("GET", "/api/v1/staff/locations/"+pool+"/flagged-admissions", "", &out, "Authorization", "Bearer "+adminKey); st != 200 {
		t.Fatalf("flagged admissions: %d", st)
	}
	found := false
	for _, a := range out.Admissions {
		found = found || (a.Code == meanwhile.Code && a.Flag == "booking_cancelled")
	}
	if !found {
		t.Fatalf("staff do not see the flagged admission: %+v", out)
	}
}

// otherGate enrolls a second gate device at the pool and returns its token.
func otherGate(t *testing.T, s *server) string {
	t.Helper()
	ctx := context.Background()
	_, code, err := agent.RegisterDevice(ctx, s.URL, adminKey, pool, "Nebeneingang", "gate")
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := agent.NewClient(s.URL, "").Enroll(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// deviceToken reads the token the agent stored at enrollment.
func deviceToken(t *testing.T, r *rig) string {
	t.Helper()
	return r.agent.DeviceToken()
}

// BenchmarkGateDecision measures a gate from the scan (the code written to
// the scanner's pseudo-terminal) to the relay board seeing the closing
// command. The ticket is verified offline; the server redeems it in the
// background ("async") or is waited for first ("online").
func BenchmarkGateDecision(b *testing.B) {
	for _, mode := range []struct {
		name string
		wait time.Duration
	}{{"async", 0}, {"online", 250 * time.Millisecond}} {
		b.Run(mode.name, func(b *testing.B) {
			s := startServer(b)
			r := newRig(b, s, rigOptions{location: pool, mode: "gate", tweak: func(c *agent.Config) {
				c.GateOnlineWait = mode.wait
				c.RelayPulse = 2 * time.Millisecond
			}})
			// Only confirmed bookings admit: one record per ticket.
			tickets := make([]string, b.N)
			for i := range tickets {
				tickets[i] = s.appointmentNow(pool, "erwachsene").QR
			}
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i, qr := range tickets {
				t0 := time.Now()
				if err := r.scanner.Scan(qr); err != nil {
					b.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				ps, err := r.relay.WaitPulses(wctx, i+1)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, ps[i].Start.Sub(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}
