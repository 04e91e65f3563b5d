package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

// The finance pages narrow postings and payments by location, service and
// reference.
func TestLedgerFilters(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	_, p1 := r.book(1)
	_, p2 := r.book(1)
	for _, p := range []*payment.Payment{p1, p2} {
		r.pay(p)
		if _, err := r.flow.Check(ctx, p.Reference); err != nil {
			t.Fatal(err)
		}
	}
	postings := func(f payment.PostingFilter) int {
		t.Helper()
		l, err := r.store.ListPostings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	payments := func(f payment.PaymentFilter) int {
		t.Helper()
		l, err := r.store.ListPayments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	tests := []struct {
		name        string
		posting     payment.PostingFilter
		payment     payment.PaymentFilter
		want, wantP int
	}{
		{"all", payment.PostingFilter{}, payment.PaymentFilter{}, 2, 2},
		{"location", payment.PostingFilter{Location: r.loc}, payment.PaymentFilter{Location: r.loc}, 2, 2},
		{"other location", payment.PostingFilter{Location: "elsewhere"}, payment.PaymentFilter{Location: "elsewhere"}, 0, 0},
		{"service", payment.PostingFilter{Service: r.svc}, payment.PaymentFilter{Service: r.svc}, 2, 2},
		{"other service", payment.PostingFilter{Location: r.loc, Service: "x"}, payment.PaymentFilter{Service: "x"}, 0, 0},
		{"reference", payment.PostingFilter{Reference: p1.Reference}, payment.PaymentFilter{Reference: p1.Reference}, 1, 1},
	}
	for _, tt := range tests {
		if got := postings(tt.posting); got != tt.want {
			t.Errorf("%s: %d postings, want %d", tt.name, got, tt.want)
		}
		if got := payments(tt.payment); got != tt.wantP {
			t.Errorf("%s: %d payments, want %d", tt.name, got, tt.wantP)
		}
	}
}

// A dead letter retried from the finance pages is pending again with a
// fresh count of attempts; anything else cannot be retried.
func TestRetryDeadLetter(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	_, p := r.book(1)
	r.pay(p)
	if _, err := r.flow.Check(ctx, p.Reference); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := r.db.Get(&id, `UPDATE payment_outbox SET state = 'dead', attempts = 8, last_error = 'HTTP 503'
		WHERE id = (SELECT min(id) FROM payment_outbox) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := r.store.RetryDeadLetter(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	if n := r.count(`SELECT count(*) FROM payment_outbox WHERE id = $1 AND state = 'pending' AND attempts = 0 AND last_error = 'HTTP 503'`, id); n != 1 {
		t.Fatal("retried job is not pending")
	}
	if err := r.store.RetryDeadLetter(ctx, id, now); !errors.Is(err, payment.ErrNotDeadLetter) {
		t.Fatalf("retry of a pending job: %v", err)
	}
	if err := r.store.RetryDeadLetter(ctx, id+1000, now); !errors.Is(err, payment.ErrNotDeadLetter) {
		t.Fatalf("retry of an unknown job: %v", err)
	}
}

func TestReconciliationRuns(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	if runs, err := r.store.ReconciliationRuns(ctx, 10); err != nil || len(runs) != 0 {
		t.Fatalf("no runs: %v %v", runs, err)
	}
	day := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"PO-1", "PO-2"} {
		rep := settlement.Report{Date: day, PayoutID: id}
		doc := camt.Document{Statements: []camt.Statement{{ID: "ST-" + id}}}
		if _, err := reconcile.Run(ctx, r.store, rep, doc, reconcile.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := r.store.ReconciliationRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].PayoutID != "PO-2" || runs[1].StatementID != "ST-PO-1" || runs[0].SettlementDate != "2030-01-07" ||
		runs[0].Items != nil || runs[0].Counts == nil {
		t.Fatalf("runs %+v", runs)
	}
}
