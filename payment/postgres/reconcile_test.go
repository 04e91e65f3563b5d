package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

// A run matches the postings the store holds and reads back as stored.
func TestReconciliationRunIsStored(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	_, p := r.book(1)
	r.pay(p)
	paid, err := r.flow.Check(ctx, p.Reference)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	y, m, d := paid.PaidAt.In(berlin).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	rep := settlement.Report{Date: day, PayoutID: "PO-1", Lines: []settlement.Line{{Kind: settlement.KindPayment, Date: day,
		PlatformID: p.PlatformID, Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, GrossCents: ticketFee, FeeCents: 30, NetCents: ticketFee - 30}}}
	rep.Totals()
	doc := camt.Document{Statements: []camt.Statement{{ID: "ST-1", Entries: []camt.Entry{{AmountCents: rep.NetCents, Credit: true,
		Transactions: []camt.Transaction{{Remittance: []string{"PO-1"}}}}}}}}
	run, err := reconcile.Run(ctx, r.store, rep, doc, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.ID == 0 || run.Counts[reconcile.RecMatched] != 1 || len(run.Items) != 1 || run.Items[0].PostingID != "B-"+p.Kassenzeichen {
		t.Fatalf("run: %+v", run)
	}
	got, err := reconcile.ByID(ctx, r.store, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatementID != "ST-1" || got.FeeTotalCents != 30 || len(got.Fees) != 1 || got.Items[0] != run.Items[0] || !got.CreatedAt.Equal(run.CreatedAt) {
		t.Fatalf("read back %+v, stored %+v", got, run)
	}
	if _, err := reconcile.ByID(ctx, r.store, run.ID+1); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("unknown run: %v", err)
	}
}
