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
	t.Helper()
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler), Username: "city", Password: "secret", OriginatorID: "termin", EndPointID: "07315000"})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, err := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + "/xbezahldienste", OriginatorID: "termin",
		EndPointID: "07315000", Username: "city", Password: "secret", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return sim, srv, c
}

func create(t *testing.T, c *xbezahldienste.Client, ref string, amount int64) payment.Created {
	t.Helper()
	cr, err := c.Create(context.Background(), payment.CreateRequest{
		Reference: ref, Kassenzeichen: "BA0000428", Purpose: payment.SanitizePurpose("Schwimmbad " + ref),
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

	t.Run("refunds", func(t *testing.T) {
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
