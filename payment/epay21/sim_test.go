package epay21_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	"github.com/digitale-verwaltung/termin/payment/paysim"
)

type env struct {
	sim     *paysim.Server
	srv     *httptest.Server
	client  *epay21.Client
	returns atomic.Int32
	landing *httptest.Server
}

func setup(t *testing.T, hc *http.Client) *env {
	t.Helper()
	e := &env{}
	e.landing = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.returns.Add(1) }))
	t.Cleanup(e.landing.Close)
	e.sim = paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler), Username: "city", Password: "secret", Mandant: "07315000"})
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(func() { e.srv.Close(); e.sim.Close() })
	c, err := epay21.New(epay21.Config{Endpoint: e.srv.URL + paysim.Epay21Path, Username: "city", Password: "secret",
		Mandant: "07315000", App: "termin", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	return e
}

func (e *env) create(t *testing.T, ref string, amount int64) payment.Created {
	t.Helper()
	c, err := e.client.Create(context.Background(), payment.CreateRequest{
		Reference: ref, Kassenzeichen: "BA0000428", Purpose: payment.SanitizePurpose("Gebühr " + ref),
		Description: "Reisepass, 14.03.2025 10:00", AmountCents: amount, Currency: "EUR",
		ReturnURL: e.landing.URL + "/return", CancelURL: e.landing.URL + "/cancel",
		Timeout: 20 * time.Minute, BookingData: map[string]string{"Haushaltsstelle": "1.1220.431000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) complete(t *testing.T, id, outcome, method string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"outcome": outcome, "method": method, "visitReturn": true})
	resp, err := http.Post(e.srv.URL+"/sim/payments/"+id+"/complete", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("complete: HTTP %d", resp.StatusCode)
	}
}

func TestAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	e := setup(t, nil)

	t.Run("paid and confirmed", func(t *testing.T) {
		c := e.create(t, "T-PAID", 3700)
		rep, err := e.client.Status(ctx, payment.Ref{Reference: "T-PAID"})
		if err != nil || rep.State != payment.StateCreated {
			t.Fatalf("status before paying: %+v %v", rep, err)
		}
		e.complete(t, c.PlatformID, "paid", "paypal")
		rep, err = e.client.Status(ctx, payment.Ref{Reference: "T-PAID"}) // by our reference
		if err != nil || rep.State != payment.StatePaid || rep.Method != payment.MethodPayPal || !rep.AmountUnknown || rep.PaidAt.IsZero() || rep.PlatformID != c.PlatformID {
			t.Fatalf("status after paying: %+v %v", rep, err)
		}
		if err := e.client.Confirm(ctx, payment.Ref{PlatformID: c.PlatformID}, payment.OutcomeConfirm); err != nil {
			t.Fatal(err)
		}
		if err := e.client.Confirm(ctx, payment.Ref{PlatformID: c.PlatformID}, payment.OutcomeConfirm); err != nil {
			t.Fatalf("repeated confirm: %v", err)
		}
		rep, err = e.client.Status(ctx, payment.Ref{Reference: "T-PAID"})
		if err != nil || rep.State != payment.StateConfirmed {
			t.Fatalf("status after confirm: %+v %v", rep, err)
		}
		if e.returns.Load() == 0 {
			t.Error("return URL not visited")
		}
	})

	t.Run("create is idempotent per reference", func(t *testing.T) {
		a := e.create(t, "T-TWICE", 500)
		b := e.create(t, "T-TWICE", 500)
		if a.PlatformID != b.PlatformID {
			t.Fatalf("two payments for one reference: %s %s", a.PlatformID, b.PlatformID)
		}
	})

	for _, tt := range []struct {
		outcome string
		want    payment.State
	}{
		{"failed", payment.StateFailed}, {"cancelled", payment.StateCancelled},
	} {
		t.Run(tt.outcome, func(t *testing.T) {
			c := e.create(t, "T-"+tt.outcome, 1000)
			e.complete(t, c.PlatformID, tt.outcome, "")
			rep, err := e.client.Status(ctx, payment.Ref{Reference: "T-" + tt.outcome})
			if err != nil || rep.State != tt.want {
				t.Fatalf("status: %+v %v", rep, err)
			}
			err = e.client.Confirm(ctx, payment.Ref{PlatformID: c.PlatformID}, payment.OutcomeConfirm)
			if !errors.Is(err, payment.ErrRejected) {
				t.Fatalf("confirm of a %s payment: %v", tt.outcome, err)
			}
		})
	}

	t.Run("refunds are done by hand", func(t *testing.T) {
		c := e.create(t, "T-REFUND", 2000)
		e.complete(t, c.PlatformID, "paid", "creditcard")
		_, err := e.client.Refund(ctx, payment.RefundRequest{Ref: payment.Ref{PlatformID: c.PlatformID, Reference: "T-REFUND"}, AmountCents: 500})
		if !errors.Is(err, payment.ErrManualRefund) {
			t.Fatalf("refund: %v", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := e.client.Status(ctx, payment.Ref{Reference: "T-NEVER"})
		if !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		var fe *epay21.Error
		if !errors.As(err, &fe) || fe.Code != epay21.CodeNotFound {
			t.Fatalf("not a P107 error: %v", err)
		}
	})

	t.Run("status failing then recovering", func(t *testing.T) {
		c := e.create(t, "T-FLAKY", 100)
		e.sim.SetFaults(paysim.Faults{StatusFailNext: 2})
		for i := range 2 {
			if _, err := e.client.Status(ctx, payment.Ref{PlatformID: c.PlatformID, Reference: "T-FLAKY"}); !errors.Is(err, payment.ErrUnavailable) {
				t.Fatalf("call %d: err = %v, want ErrUnavailable", i, err)
			}
		}
		if _, err := e.client.Status(ctx, payment.Ref{PlatformID: c.PlatformID, Reference: "T-FLAKY"}); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		bad, _ := epay21.New(epay21.Config{Endpoint: e.srv.URL + paysim.Epay21Path, Username: "city", Password: "wrong", Mandant: "07315000", App: "termin"})
		if _, err := bad.Status(ctx, payment.Ref{Reference: "T-PAID"}); !errors.Is(err, payment.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("wrong namespace or SOAPAction", func(t *testing.T) {
		// The simulator, like the .NET service, refuses a SOAPAction with
		// '#' and an operation in another namespace with a client fault.
		other, _ := epay21.New(epay21.Config{Endpoint: e.srv.URL + paysim.Epay21Path, Username: "city", Password: "secret", Mandant: "07315000", App: "termin",
			Namespace: "urn:epay21:payment"})
		_, err := other.Status(ctx, payment.Ref{Reference: "T-PAID"})
		var fe *epay21.Error
		if !errors.Is(err, payment.ErrRejected) || !errors.As(err, &fe) || fe.FaultCode != "soap:Client" || !strings.Contains(fe.Message, "SOAPAction") {
			t.Fatalf("wrong namespace: %v", err)
		}
		for _, action := range []string{epay21.DefaultNamespace + "#GetPaymentStatus", epay21.DefaultNamespace + "/InitPayment"} {
			req, _ := http.NewRequest("POST", e.srv.URL+paysim.Epay21Path, strings.NewReader(`<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetPaymentStatus xmlns="`+epay21.DefaultNamespace+`"/></soap:Body></soap:Envelope>`))
			req.Header.Set("SOAPAction", `"`+action+`"`)
			req.SetBasicAuth("city", "secret")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 500 || !bytes.Contains(body, []byte("<faultcode>soap:Client</faultcode>")) {
				t.Fatalf("SOAPAction %s: %d %s", action, res.StatusCode, body)
			}
		}
	})

	t.Run("times are Berlin's", func(t *testing.T) {
		rep, err := e.client.Status(ctx, payment.Ref{Reference: "T-PAID"})
		if err != nil {
			t.Fatal(err)
		}
		sp, _ := e.sim.Payment(rep.PlatformID)
		if d := rep.PaidAt.Sub(sp.PaidAt); d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Fatalf("paid at %v, simulator %v", rep.PaidAt, sp.PaidAt)
		}
	})
}

func TestSlowStatusHitsClientTimeout(t *testing.T) {
	e := setup(t, &http.Client{Timeout: 100 * time.Millisecond})
	c := e.create(t, "T-SLOW", 100)
	e.sim.SetFaults(paysim.Faults{StatusSlowNext: 1, StatusDelayMs: 2000})
	start := time.Now()
	_, err := e.client.Status(context.Background(), payment.Ref{PlatformID: c.PlatformID, Reference: "T-SLOW"})
	if !errors.Is(err, payment.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("client did not give up on time")
	}
	if _, err := e.client.Status(context.Background(), payment.Ref{PlatformID: c.PlatformID, Reference: "T-SLOW"}); err != nil {
		t.Fatalf("next call: %v", err)
	}
}
