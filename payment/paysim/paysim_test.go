package paysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type fixture struct {
	sim     *paysim.Server
	srv     *httptest.Server
	client  *epay21.Client
	landing *httptest.Server
	hits    atomic.Int32
	clock   *clock
}

func newFixture(t *testing.T, cfg paysim.Config) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)}}
	f.landing = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.hits.Add(1) }))
	t.Cleanup(f.landing.Close)
	cfg.Now = f.clock.Now
	cfg.Logger = slog.New(slog.DiscardHandler)
	f.sim = paysim.New(cfg)
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(func() { f.srv.Close(); f.sim.Close() })
	c, err := epay21.New(epay21.Config{Endpoint: f.srv.URL + paysim.Epay21Path, Mandant: "07315000", App: "termin"})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

func (f *fixture) create(t *testing.T, ref string, amount int64) string {
	t.Helper()
	c, err := f.client.Create(context.Background(), payment.CreateRequest{
		Reference: ref, Kassenzeichen: "KZ-" + ref, Purpose: "KZ-" + ref + " Gebuehr", AmountCents: amount, Currency: "EUR",
		ReturnURL: f.landing.URL + "/return", CancelURL: f.landing.URL + "/cancel",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.PlatformID
}

func (f *fixture) post(t *testing.T, path string, v any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(f.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestPayPage(t *testing.T) {
	tests := []struct {
		name       string
		faults     paysim.Faults
		action     string
		wantState  string
		wantTarget string // path on the landing server; "" = no redirect
		wantHits   int32  // server-side hits by the simulator
	}{
		{"pay", paysim.Faults{}, "pay", paysim.StatePaid, "/return", 0},
		{"fail", paysim.Faults{}, "fail", paysim.StateFailed, "/return", 0},
		{"cancel", paysim.Faults{}, "cancel", paysim.StateCancelled, "/cancel", 0},
		{"never returns", paysim.Faults{NeverReturn: true}, "pay", paysim.StatePaid, "", 0},
		{"duplicate return", paysim.Faults{DuplicateReturn: true}, "pay", paysim.StatePaid, "/return", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, paysim.Config{Faults: tt.faults})
			id := f.create(t, "T-1", 1990)
			resp, err := http.Get(f.srv.URL + "/pay/" + id)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{"Simulator", "19,90 €", "Kreditkarte", "PayPal", "Lastschrift"} {
				if !bytes.Contains(page, []byte(want)) {
					t.Errorf("pay page lacks %q", want)
				}
			}
			if p, _ := f.sim.Payment(id); p.State != paysim.StateStarted {
				t.Errorf("state after opening the page: %s", p.State)
			}
			resp, err = noRedirect().PostForm(f.srv.URL+"/pay/"+id, url.Values{"action": {tt.action}, "method": {"paypal"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if tt.wantTarget == "" {
				if resp.StatusCode != http.StatusOK || loc != "" {
					t.Fatalf("expected no redirect, got %d %q", resp.StatusCode, loc)
				}
			} else if resp.StatusCode != http.StatusSeeOther || loc != f.landing.URL+tt.wantTarget {
				t.Fatalf("redirect %d %q", resp.StatusCode, loc)
			}
			if got := f.hits.Load(); got != tt.wantHits {
				t.Errorf("simulator hit the landing URL %d times, want %d", got, tt.wantHits)
			}
			p, _ := f.sim.Payment(id)
			if p.State != tt.wantState {
				t.Fatalf("state %s, want %s", p.State, tt.wantState)
			}
			// A second submission must not change anything.
			resp, _ = noRedirect().PostForm(f.srv.URL+"/pay/"+id, url.Values{"action": {"cancel"}})
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict {
				t.Errorf("second submission: HTTP %d", resp.StatusCode)
			}
		})
	}
}

func TestCompleteEndpointDuplicateReturn(t *testing.T) {
	f := newFixture(t, paysim.Config{Faults: paysim.Faults{DuplicateReturn: true}})
	id := f.create(t, "T-1", 100)
	resp := f.post(t, "/sim/payments/"+id+"/complete", map[string]any{"outcome": "paid", "method": "paypal", "visitReturn": true})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if f.hits.Load() != 2 {
		t.Fatalf("return URL hit %d times, want 2", f.hits.Load())
	}
	if resp := f.post(t, "/sim/payments/"+id+"/complete", map[string]any{"outcome": "failed"}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second completion: HTTP %d", resp.StatusCode)
	}
	if resp := f.post(t, "/sim/payments/nope/complete", map[string]any{"outcome": "paid"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown id: HTTP %d", resp.StatusCode)
	}
}

func TestFaultsEndpointAndExpiry(t *testing.T) {
	f := newFixture(t, paysim.Config{})
	id := f.create(t, "T-1", 100)
	if resp := f.post(t, "/sim/faults", map[string]any{"statusFailNext": 1}); resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if resp := f.post(t, "/sim/faults", map[string]any{"bogus": 1}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown fault accepted: HTTP %d", resp.StatusCode)
	}
	if _, err := f.client.Status(context.Background(), payment.Ref{PlatformID: id, Reference: "T-1"}); err == nil {
		t.Fatal("status fault not applied")
	}
	f.clock.Set(f.clock.Now().Add(31 * time.Minute))
	rep, err := f.client.Status(context.Background(), payment.Ref{PlatformID: id, Reference: "T-1"})
	if err != nil || rep.State != payment.StateCancelled || rep.PlatformState != "canceled" {
		t.Fatalf("expired payment: %+v %v", rep, err)
	}
	resp, err := http.Get(f.srv.URL + "/sim/payments")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []paysim.Payment
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 || list[0].State != paysim.StateExpired {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestNotifications(t *testing.T) {
	secret := []byte("push-secret")
	tests := []struct {
		name   string
		notify paysim.NotifyFaults
		first  int      // deliveries expected after the first event
		want   []string // event types in arrival order
	}{
		{"plain", paysim.NotifyFaults{Enabled: true}, 1, []string{"payment.paid", "payment.cancelled"}},
		{"duplicated", paysim.NotifyFaults{Enabled: true, Duplicate: true}, 2, []string{"payment.paid", "payment.paid", "payment.cancelled", "payment.cancelled"}},
		{"reordered", paysim.NotifyFaults{Enabled: true, Reorder: true}, 0, []string{"payment.cancelled", "payment.paid"}},
		{"lost", paysim.NotifyFaults{Enabled: true, Lose: true}, 0, nil},
		{"off", paysim.NotifyFaults{}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				n, err := payment.VerifyNotification(secret, r.Header.Get(payment.SignatureHeader), body)
				if err != nil {
					t.Errorf("notification does not verify: %v", err)
					return
				}
				mu.Lock()
				got = append(got, n.Type)
				mu.Unlock()
			}))
			defer recv.Close()
			f := newFixture(t, paysim.Config{Extensions: true, NotifyURL: recv.URL, NotifySecret: secret, Faults: paysim.Faults{Notify: tt.notify}})
			a := f.create(t, "T-A", 100)
			b := f.create(t, "T-B", 100)
			f.post(t, "/sim/payments/"+a+"/complete", map[string]any{"outcome": "paid"})
			// Wait for the first event's deliveries so arrival order is
			// deterministic (Close would flush a held-back event).
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= tt.first || time.Now().After(deadline) {
					break
				}
			}
			f.post(t, "/sim/payments/"+b+"/complete", map[string]any{"outcome": "cancelled"})
			f.sim.Close()
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSettlementAndCamtRoundTrip(t *testing.T) {
	f := newFixture(t, paysim.Config{Location: time.UTC})
	a := f.create(t, "T-A", 3700) // fee 25 + 44 = 69
	b := f.create(t, "T-B", 1000) // fee 25 + 12 = 37
	c := f.create(t, "T-C", 500)  // fails: not in the report
	f.post(t, "/sim/payments/"+a+"/complete", map[string]any{"outcome": "paid", "method": "paypal"})
	f.post(t, "/sim/payments/"+b+"/complete", map[string]any{"outcome": "paid", "method": "creditcard"})
	f.post(t, "/sim/payments/"+c+"/complete", map[string]any{"outcome": "failed"})
	// Finance refunds by hand in the platform's back office.
	if resp := f.post(t, "/sim/payments/"+b+"/refund", map[string]any{"amountCents": 400, "reason": "Termin abgesagt"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("back-office refund: HTTP %d", resp.StatusCode)
	}

	resp, err := http.Get(f.srv.URL + "/sim/settlement?date=2025-03-14")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := settlement.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 3 || rep.GrossCents != 4300 || rep.FeeCents != 106 || rep.NetCents != 4194 || rep.PayoutID != "SIM-PO-20250314" {
		t.Fatalf("settlement %+v", rep)
	}
	if l := rep.Lines[0]; l.PlatformID != a || l.Reference != "T-A" || l.Kassenzeichen != "KZ-T-A" || l.Method != "paypal" {
		t.Fatalf("line %+v", l)
	}

	for _, version := range []string{"001.02", "001.08"} {
		t.Run(version, func(t *testing.T) {
			// The payout of the 14th is booked on the 15th.
			resp, err := http.Get(f.srv.URL + "/sim/camt053?date=2025-03-15&version=" + version)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := camt.Parse(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if doc.Version != version || len(doc.Statements) != 1 || len(doc.Statements[0].Entries) != 1 {
				t.Fatalf("doc %+v", doc)
			}
			e := doc.Statements[0].Entries[0]
			if !e.Credit || e.AmountCents != rep.NetCents || e.BookingDate.Format("2006-01-02") != "2025-03-15" ||
				e.AcctSvcrRef == "" || len(e.Transactions) != 1 || e.Transactions[0].Remittance[0] != rep.PayoutID ||
				e.Transactions[0].EndToEndID != rep.PayoutID || e.Transactions[0].DebtorName == "" || e.Status != "BOOK" {
				t.Fatalf("entry %+v", e)
			}
		})
	}
	resp, err = http.Get(f.srv.URL + "/sim/camt053?date=2025-03-14")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := camt.Parse(resp.Body)
	resp.Body.Close()
	if err != nil || len(doc.Statements[0].Entries) != 0 {
		t.Fatalf("day without payout: %+v %v", doc, err)
	}
	if resp, _ := http.Get(f.srv.URL + "/sim/camt053?date=2025-03-15&version=001.99"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown version: HTTP %d", resp.StatusCode)
	}
}

// TestIDsUniqueAcrossRestarts: a restarted simulator (a new Server on the
// same database of ours) never hands out an id it gave before, as a real
// platform never does.
func TestIDsUniqueAcrossRestarts(t *testing.T) {
	seen := map[string]bool{}
	for run := 0; run < 3; run++ {
		f := newFixture(t, paysim.Config{})
		for i := 0; i < 3; i++ {
			id := f.create(t, "T-"+strings.Repeat("x", run)+string(rune('a'+i)), 450)
			if seen[id] {
				t.Fatalf("run %d: id %s handed out again", run, id)
			}
			seen[id] = true
		}
	}
}
