package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	"github.com/digitale-verwaltung/termin/payment/platformauth/authtest"
)

// refundTask is a task of the refund work list as the finance API shows it.
type refundTask struct {
	ID               int64
	State            string
	AmountCents      int64  `json:"amount_cents"`
	Platform         string `json:"platform"`
	PlatformID       string `json:"platform_id"`
	Kassenzeichen    string
	PaymentReference string `json:"payment_reference"`
	Reason           string
	DoneBy           string `json:"done_by"`
	StornoPostingID  string `json:"storno_posting_id"`
}

func (s *payServer) refunds(t *testing.T, state string) []refundTask {
	t.Helper()
	res := s.do(t, "GET", "/api/v1/finance/refunds?state="+state, "", "Authorization", "Bearer "+testAdminKey)
	if res.Status != 200 {
		t.Fatalf("refunds: %d %s", res.Status, res.Body)
	}
	var out struct{ Refunds []refundTask }
	res.decode(t, &out)
	return out.Refunds
}

// refundByHand does what finance does with a task of the work list: pays
// the money back in the platform's back office (the simulator's), then
// marks the task done, which writes the Storno.
func (s *payServer) refundByHand(t *testing.T, reference string) {
	t.Helper()
	var task *refundTask
	for _, r := range s.refunds(t, "open") {
		if r.PaymentReference == reference {
			task = &r
		}
	}
	p := s.payment(t, reference)
	if task == nil || task.State != "open" || task.AmountCents != p.AmountCents || task.Kassenzeichen != p.Kassenzeichen ||
		task.PlatformID != p.PlatformID || task.Platform != p.Platform || task.Reason == "" {
		t.Fatalf("refund task for %s: %+v (payment %+v)", reference, task, p)
	}
	if n := s.count(t, `SELECT count(*) FROM postings WHERE kind = 'storno' AND payment_id = $1`, p.ID); n != 0 {
		t.Fatal("Storno written before the refund was done")
	}
	body := fmt.Sprintf(`{"amountCents":%d,"reason":"Erstattung"}`, task.AmountCents)
	res, err := s.simClient.Post(s.simURL+"/sim/payments/"+p.PlatformID+"/refund", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("back-office refund: %d", res.StatusCode)
	}
	path := fmt.Sprintf("/api/v1/finance/refunds/%d/done", task.ID)
	done := s.do(t, "POST", path, `{"done_by":"Erika Kasse","note":"im Backoffice erstattet"}`, "Authorization", "Bearer "+testAdminKey)
	if done.Status != 200 {
		t.Fatalf("mark done: %d %s", done.Status, done.Body)
	}
	var got refundTask
	done.decode(t, &got)
	if got.State != "done" || got.DoneBy != "Erika Kasse" || got.StornoPostingID == "" {
		t.Fatalf("done task: %+v", got)
	}
	if again := s.do(t, "POST", path, `{}`, "Authorization", "Bearer "+testAdminKey); again.Status != 409 || !bytes.Contains(again.Body, []byte("refund_task_done")) {
		t.Fatalf("marked done twice: %d %s", again.Status, again.Body)
	}
}

// platformCase is a platform the server talks to, with the simulator
// enforcing its wire and authentication.
type platformCase struct {
	name string
	opts func(t *testing.T) payOptions
}

func platformCases() []platformCase {
	return []platformCase{
		{"epay21 over SOAP", func(*testing.T) payOptions { return payOptions{platform: "epay21"} }},
		{"epay21 over XBezahldienste", func(*testing.T) payOptions {
			return payOptions{platform: "epay21", args: []string{"-payment-interface", "xbezahldienste"}}
		}},
		{"XBezahldienste with OAuth2", func(*testing.T) payOptions {
			return payOptions{platform: "pmpayment",
				simConfig: func(c *paysim.Config) {
					c.XBZAuth, c.OAuthClientID, c.OAuthClientSecret, c.TokenTTL = paysim.AuthOAuth2, "termin-client", "oauth-secret", 10*time.Minute
				},
				simArgs: func(u string) []string {
					return []string{"-payment-oauth-token-url", u + "/oauth/token", "-payment-oauth-client-id", "termin-client",
						"-payment-oauth-client-secret", "oauth-secret"}
				}}
		}},
		{"XBezahldienste with a client certificate", func(t *testing.T) payOptions {
			pki := authtest.New(t)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Pool}}}
			return payOptions{platform: "epaybl",
				simConfig: func(c *paysim.Config) { c.XBZAuth = paysim.AuthTLS },
				serve: func(h http.Handler) *httptest.Server {
					srv := httptest.NewUnstartedServer(h)
					srv.TLS = pki.ServerTLS()
					// The pay page is for browsers without a certificate;
					// the simulator checks it on the platform API.
					srv.TLS.ClientAuth = tls.VerifyClientCertIfGiven
					srv.StartTLS()
					return srv
				},
				simClient: client,
				args: []string{"-payment-tls-p12", pki.ClientP12, "-payment-tls-p12-password", pki.P12Password,
					"-payment-ca-file", pki.CAFile}}
		}},
	}
}

// Every platform completes a payment end to end without a push: the
// citizen pays and never comes back, the sweeper learns it by polling,
// the booking is confirmed and posted; a refund goes to the work list
// and its Storno is written when finance marks it done.
func TestPaymentPlatformsEndToEnd(t *testing.T) {
	for _, pc := range platformCases() {
		t.Run(pc.name, func(t *testing.T) {
			o := pc.opts(t)
			s := startPayServer(t, o)
			start := s.poolSlot(t)
			b := s.book(t, start, 2)
			s.pay(t, b.Payment.Reference, false)
			servicetest.Eventually(t, "sweeper confirms", 10*time.Second, func() bool {
				s.sweep(t)()
				return s.bookingStatus(t, b) == booking.StatusConfirmed
			})
			s.work(t)
			p := s.payment(t, b.Payment.Reference)
			if p.State != payment.StateConfirmed || p.Method != "paypal" || p.PaidAt == nil || p.Platform != o.platform {
				t.Fatalf("payment: %+v", p)
			}
			if n := s.count(t, `SELECT count(*) FROM payment_inbox WHERE kind = 'notify'`); n != 0 {
				t.Fatalf("%d pushes arrived although the simulator sends none", n)
			}
			if ps := s.exported(t); len(ps) != 1 || ps[0].AmountCents != 900 || ps[0].PlatformID != p.PlatformID {
				t.Fatalf("export: %+v", ps)
			}
			sp, _ := s.sim.Payment(p.PlatformID)
			wantAPI := paysim.APIXBezahldienste
			if pc.name == "epay21 over SOAP" {
				wantAPI = paysim.APIEpay21
				if sp.State != paysim.StateConfirmed {
					t.Fatalf("not confirmed at epay21: %s", sp.State)
				}
			}
			if sp.API != wantAPI {
				t.Fatalf("payment made through %s", sp.API)
			}
			if o.simConfig != nil && strings.Contains(pc.name, "OAuth2") && s.sim.TokensIssued() != 1 {
				t.Fatalf("%d tokens issued: not cached", s.sim.TokensIssued())
			}
			// Cancelled in time: refunded by hand from the work list.
			res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken)
			if res.Status != 200 || !bytes.Contains(res.Body, []byte(`"outcome":"refund"`)) {
				t.Fatalf("cancel: %d %s", res.Status, res.Body)
			}
			s.work(t)
			if s.payment(t, b.Payment.Reference).State == payment.StateRefunded {
				t.Fatal("refunded before finance did it")
			}
			s.refundByHand(t, b.Payment.Reference)
			s.work(t)
			if p := s.payment(t, b.Payment.Reference); p.State != payment.StateRefunded || p.RefundedCents != 900 {
				t.Fatalf("after the refund: %+v", p)
			}
			ps := s.exported(t)
			if len(ps) != 2 || ps[1].Kind != "storno" || ps[1].AmountCents != -900 || ps[1].Reverses != ps[0].PostingID {
				t.Fatalf("export after Storno: %+v", ps)
			}
			if done := s.refunds(t, "done"); len(done) != 1 || len(s.refunds(t, "open")) != 0 {
				t.Fatalf("work list: done %+v", done)
			}
		})
	}
}

// The simulator enforces each platform's authentication: the server's
// adapter with the wrong credentials cannot start a payment.
func TestPlatformAuthenticationIsEnforced(t *testing.T) {
	tests := []struct {
		name string
		opts func(t *testing.T) payOptions
	}{
		{"wrong OAuth2 secret", func(t *testing.T) payOptions {
			o := platformCases()[2].opts(t)
			inner := o.simArgs
			o.simArgs = func(u string) []string { return append(inner(u), "-payment-oauth-client-secret", "wrong") }
			return o
		}},
		{"no client certificate", func(t *testing.T) payOptions {
			o := platformCases()[3].opts(t)
			o.args = []string{"-payment-auth", "none", "-payment-ca-file", o.args[len(o.args)-1]}
			return o
		}},
		{"wrong basic-auth password", func(*testing.T) payOptions {
			return payOptions{platform: "epay21", args: []string{"-payment-password", "wrong"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startPayServer(t, tt.opts(t))
			start := s.poolSlot(t)
			id := s.mustHold(t, "stadtbad", "erwachsene", start, 1)
			res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"A","email":"a@example.org"}`)
			if res.Status != 503 || !bytes.Contains(res.Body, []byte("payment_unavailable")) {
				t.Fatalf("booking: %d %s", res.Status, res.Body)
			}
			if len(s.sim.Payments()) != 0 {
				t.Fatal("the simulator took a payment from a caller it should refuse")
			}
			if free := s.free(t, start); free != 150 {
				t.Fatalf("%d free: a refused create must free the units at once", free)
			}
		})
	}
}

// A create whose answer is lost: the platform made the payment, we never
// learnt its id and XBezahldienste cannot be asked by our requestId. The
// units stay held until the attempt has expired, then they are freed and
// nobody asks about the payment again.
func TestLostCreateAnswerExpiresBeforeUnitsAreFreed(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", args: []string{"-payment-timeout", "2s"}})
	s.sim.SetFaults(paysim.Faults{LoseCreateAnswerNext: 1})
	start := s.poolSlot(t)
	id := s.mustHold(t, "stadtbad", "erwachsene", start, 2)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+id+`","name":"A","email":"a@example.org"}`)
	if res.Status != 503 || !bytes.Contains(res.Body, []byte("payment_unavailable")) {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	if n := len(s.sim.Payments()); n != 1 {
		t.Fatalf("simulator holds %d payments", n)
	}
	var ref string
	if err := s.deps.db.Get(&ref, `SELECT reference FROM payments`); err != nil {
		t.Fatal(err)
	}
	if sp := s.sim.Payments()[0]; sp.Reference != ref {
		t.Fatalf("requestId %s not recorded before sending (%s)", sp.Reference, ref)
	}
	p := s.payment(t, ref)
	if p.State != payment.StateCreated || p.PlatformID != "" || !strings.Contains(p.Note, "lost") || s.free(t, start) != 148 {
		t.Fatalf("after the lost answer: %+v, %d free", p, s.free(t, start))
	}
	s.sweep(t)()
	if time.Now().Before(p.Deadline) && s.free(t, start) != 148 {
		t.Fatal("units freed before the attempt expired")
	}
	time.Sleep(time.Until(p.Deadline))
	servicetest.Eventually(t, "attempt expires", 10*time.Second, func() bool {
		s.sweep(t)()
		return s.payment(t, ref).State == payment.StateExpired
	})
	if free := s.free(t, start); free != 150 {
		t.Fatalf("%d free after expiry", free)
	}
	if n := s.count(t, `SELECT count(*) FROM payments WHERE poll_until > now()`); n != 0 {
		t.Fatal("a payment that cannot be asked about is still polled")
	}
}

// A platform whose /status says it is down degrades /readyz; the server
// stays ready.
func TestPlatformHealthDegradesReadiness(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", args: []string{"-payment-health-every", "1ms"}})
	var out struct {
		Status   string
		Degraded []struct{ Name, Error string }
	}
	res := s.do(t, "GET", "/readyz", "")
	res.decode(t, &out)
	if res.Status != 200 || out.Status != "ready" || len(out.Degraded) != 0 {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
	s.sim.SetFaults(paysim.Faults{PlatformDown: true})
	time.Sleep(5 * time.Millisecond)
	res = s.do(t, "GET", "/readyz", "")
	out.Degraded = nil
	res.decode(t, &out)
	if res.Status != 200 || out.Status != "degraded" || len(out.Degraded) != 1 || out.Degraded[0].Name != "payment_platform" {
		t.Fatalf("readyz while the platform is down: %d %s", res.Status, res.Body)
	}
}

// The refund work list refuses what it cannot do.
func TestRefundWorkListErrors(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21"})
	auth := []string{"Authorization", "Bearer " + testAdminKey}
	for _, tt := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/api/v1/finance/refunds/999/done", `{}`, 404, "refund_task_not_found"},
		{"POST", "/api/v1/finance/refunds/abc/done", `{}`, 404, "refund_task_not_found"},
		{"GET", "/api/v1/finance/refunds?state=weird", "", 400, ""},
		{"GET", "/api/v1/finance/refunds?state=all", "", 200, ""},
	} {
		res := s.do(t, tt.method, tt.path, tt.body, auth...)
		if res.Status != tt.status || (tt.code != "" && !bytes.Contains(res.Body, []byte(tt.code))) {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, res.Status, res.Body)
		}
	}
	if res := s.do(t, "GET", "/api/v1/finance/refunds", ""); res.Status != 401 {
		t.Errorf("without a key: %d", res.Status)
	}
	// A done_by that is too long is refused by the screening.
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	s.work(t)
	s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken)
	s.work(t)
	tasks := s.refunds(t, "open")
	if len(tasks) != 1 {
		t.Fatalf("tasks %+v", tasks)
	}
	long, _ := json.Marshal(map[string]string{"done_by": strings.Repeat("x", 121)})
	if res := s.do(t, "POST", fmt.Sprintf("/api/v1/finance/refunds/%d/done", tasks[0].ID), string(long), auth...); res.Status/100 != 4 {
		t.Errorf("long done_by: %d %s", res.Status, res.Body)
	}

}

// A platform with a refund call takes refunds behind the same interface:
// the simulator's extension stands in for one. No task lands on the work
// list and the Storno follows the platform's answer.
func TestRefundCallOfAPlatformThatHasOne(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "xbezahldienste", extensions: true, args: []string{"-payment-simulator-refunds"}})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	s.work(t)
	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken); res.Status != 200 {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	s.work(t)
	p := s.payment(t, b.Payment.Reference)
	if p.State != payment.StateRefunded || len(s.refunds(t, "all")) != 0 {
		t.Fatalf("after the refund: %+v", p)
	}
	if sp, _ := s.sim.Payment(p.PlatformID); sp.RefundedCents != 450 {
		t.Fatalf("simulator refunded %d", sp.RefundedCents)
	}
	if n := s.count(t, `SELECT count(*) FROM postings WHERE kind = 'storno' AND amount_cents = -450`); n != 1 {
		t.Fatalf("%d Storno postings", n)
	}
}
