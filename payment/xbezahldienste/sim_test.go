package xbezahldienste_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

func setup(t *testing.T, hc *http.Client) (*paysim.Server, *httptest.Server, *xbezahldienste.Client) {
	return setupWith(t, hc, false)
}

func setupWith(t *testing.T, hc *http.Client, extensions bool) (*paysim.Server, *httptest.Server, *xbezahldienste.Client) {
	t.Helper()
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler), Username: "city", Password: "secret", OriginatorID: "termin",
		EndPointID: "07315000", Extensions: extensions})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, err := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin",
		EndPointID: "07315000", Username: "city", Password: "secret", HTTPClient: hc, SimulatorRefunds: extensions})
	if err != nil {
		t.Fatal(err)
	}
	return sim, srv, c
}

func create(t *testing.T, c *xbezahldienste.Client, ref string, amount int64) payment.Created {
	t.Helper()
	cr, err := c.Create(context.Background(), payment.CreateRequest{
		Reference: ref, Kassenzeichen: "BA0000428", Purpose: payment.SanitizePurpose("BA0000428 Schwimmbad Süd " + ref),
		Description: "Erwachsene, 2 x, 14.03.2025 10:00 (Süd/Nord)", TaxRateBasisPoints: 700,
		AmountCents: amount, Currency: "EUR", ReturnURL: "https://termin.example/r", CancelURL: "https://termin.example/c",
		BookingData: map[string]string{"Haushaltsstelle": "1.4240.431000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr.PlatformID == "" || cr.PayURL == "" || len(cr.Raw) == 0 {
		t.Fatalf("created %+v", cr)
	}
	return cr
}

func complete(t *testing.T, srv *httptest.Server, id, outcome, method string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"outcome": outcome, "method": method})
	resp, err := http.Post(srv.URL+"/sim/payments/"+id+"/complete", "application/json", bytes.NewReader(body))
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
	sim, srv, c := setup(t, nil)

	t.Run("paid", func(t *testing.T) {
		cr := create(t, c, "T-PAID", 1250)
		ref := payment.Ref{PlatformID: cr.PlatformID}
		rep, err := c.Status(ctx, ref)
		if err != nil || rep.State != payment.StateCreated || rep.AmountCents != 1250 || rep.Reference != "T-PAID" {
			t.Fatalf("before: %+v %v", rep, err)
		}
		complete(t, srv, cr.PlatformID, "paid", "directdebit")
		rep, err = c.Status(ctx, ref)
		if err != nil || rep.State != payment.StatePaid || rep.Method != payment.MethodDirectDebit || rep.PaidAt.IsZero() {
			t.Fatalf("after: %+v %v", rep, err)
		}
		if err := c.Confirm(ctx, ref, payment.OutcomeConfirm); err != nil {
			t.Fatalf("confirm (no-op): %v", err)
		}
		p, _ := sim.Payment(cr.PlatformID)
		if p.Kassenzeichen != "BA0000428" || p.BookingData["Haushaltsstelle"] != "1.4240.431000" {
			t.Fatalf("booking data lost: %+v", p)
		}
	})

	for _, tt := range []struct {
		outcome string
		want    payment.State
	}{{"failed", payment.StateFailed}, {"cancelled", payment.StateCancelled}} {
		t.Run(tt.outcome, func(t *testing.T) {
			cr := create(t, c, "T-"+tt.outcome, 300)
			complete(t, srv, cr.PlatformID, tt.outcome, "")
			rep, err := c.Status(ctx, payment.Ref{PlatformID: cr.PlatformID})
			if err != nil || rep.State != tt.want {
				t.Fatalf("%+v %v", rep, err)
			}
		})
	}

	t.Run("refunds go to the work list", func(t *testing.T) {
		cr := create(t, c, "T-MANUAL", 1000)
		complete(t, srv, cr.PlatformID, "paid", "paypal")
		if _, err := c.Refund(ctx, payment.RefundRequest{Ref: payment.Ref{PlatformID: cr.PlatformID}, AmountCents: 400}); !errors.Is(err, payment.ErrManualRefund) {
			t.Fatalf("refund: %v", err)
		}
	})

	t.Run("reused requestId", func(t *testing.T) {
		create(t, c, "T-TWICE", 100)
		_, err := c.Create(ctx, payment.CreateRequest{Reference: "T-TWICE", Purpose: "x", AmountCents: 100, Currency: "EUR",
			ReturnURL: "https://termin.example/r", CancelURL: "https://termin.example/c", BookingData: map[string]string{"a": "b"}})
		var ae *xbezahldienste.APIError
		if !errors.Is(err, payment.ErrRejected) || !errors.As(err, &ae) || ae.Problem.FunctionalCode != xbezahldienste.CodePaymentExists {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("health", func(t *testing.T) {
		if err := c.Health(ctx); err != nil {
			t.Fatalf("health: %v", err)
		}
		sim.SetFaults(paysim.Faults{PlatformDown: true})
		defer sim.SetFaults(paysim.Faults{})
		if err := c.Health(ctx); !errors.Is(err, payment.ErrUnavailable) {
			t.Fatalf("health when down: %v", err)
		}
	})

	t.Run("wrong originator", func(t *testing.T) {
		other, _ := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "fremd",
			EndPointID: "07315000", Username: "city", Password: "secret"})
		_, err := other.Status(ctx, payment.Ref{PlatformID: "XB-1"})
		var ae *xbezahldienste.APIError
		if !errors.Is(err, payment.ErrRejected) || !errors.As(err, &ae) || ae.Problem.FunctionalCode != xbezahldienste.CodeNoValidOriginator {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		if _, err := c.Status(ctx, payment.Ref{PlatformID: "XB-999999"}); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("status failing then recovering", func(t *testing.T) {
		cr := create(t, c, "T-FLAKY", 100)
		sim.SetFaults(paysim.Faults{StatusFailNext: 1})
		if _, err := c.Status(ctx, payment.Ref{PlatformID: cr.PlatformID}); !errors.Is(err, payment.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.Status(ctx, payment.Ref{PlatformID: cr.PlatformID}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSlowStatusHitsContextDeadline(t *testing.T) {
	sim, _, c := setup(t, nil)
	cr := create(t, c, "T-SLOW", 100)
	sim.SetFaults(paysim.Faults{StatusSlowNext: 1, StatusDelayMs: 2000})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Status(ctx, payment.Ref{PlatformID: cr.PlatformID}); !errors.Is(err, payment.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestSimulatorRefundExtension(t *testing.T) {
	ctx := context.Background()
	_, srv, c := setupWith(t, nil, true)
	cr := create(t, c, "T-REFUND", 1000)
	ref := payment.Ref{PlatformID: cr.PlatformID}
	complete(t, srv, cr.PlatformID, "paid", "paypal")
	if _, err := c.Refund(ctx, payment.RefundRequest{Ref: ref, RefundID: "R-1", AmountCents: 400}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, payment.RefundRequest{Ref: ref, RefundID: "R-2", AmountCents: 700}); !errors.Is(err, payment.ErrRejected) {
		t.Fatalf("over-refund: %v", err)
	}
	if _, err := c.Refund(ctx, payment.RefundRequest{Ref: ref, RefundID: "R-2", AmountCents: 600}); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Status(ctx, ref)
	if err != nil || rep.State != payment.StateRefunded || rep.RefundedCents != 1000 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestTimedOutPaymentIsFailed(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock() }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin", EndPointID: "07315000"})
	if err != nil {
		t.Fatal(err)
	}
	cr := create(t, c, "T-LATE", 100)
	clock = func() time.Time { return now.Add(time.Hour) }
	rep, err := c.Status(context.Background(), payment.Ref{PlatformID: cr.PlatformID})
	if err != nil || rep.State != payment.StateFailed || rep.PlatformState != xbezahldienste.StatusFailed {
		t.Fatalf("timed out: %+v %v", rep, err)
	}
}

func TestLostCreateAnswerIsOutcomeUnknown(t *testing.T) {
	sim, _, c := setup(t, nil)
	sim.SetFaults(paysim.Faults{LoseCreateAnswerNext: 1})
	_, err := c.Create(context.Background(), payment.CreateRequest{Reference: "T-LOST", Purpose: "x", AmountCents: 100, Currency: "EUR",
		ReturnURL: "https://termin.example/r", CancelURL: "https://termin.example/c", BookingData: map[string]string{"a": "b"}})
	if !errors.Is(err, payment.ErrOutcomeUnknown) || !errors.Is(err, payment.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if len(sim.Payments()) != 1 {
		t.Fatal("the simulator did not make the payment")
	}
}

func TestRefusedConnectionIsNotOutcomeUnknown(t *testing.T) {
	c, _ := xbezahldienste.New(xbezahldienste.Config{BaseURL: "http://127.0.0.1:1/x", OriginatorID: "termin", EndPointID: "07315000"})
	_, err := c.Create(context.Background(), payment.CreateRequest{Reference: "T-DOWN", Purpose: "x", AmountCents: 100, Currency: "EUR",
		ReturnURL: "https://termin.example/r", CancelURL: "https://termin.example/c"})
	if !errors.Is(err, payment.ErrUnavailable) || errors.Is(err, payment.ErrOutcomeUnknown) {
		t.Fatalf("err = %v", err)
	}
}
