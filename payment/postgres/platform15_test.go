package postgres_test

import (
	"context"
	"testing"

	"github.com/digitale-verwaltung/termin/payment"
)

// A payment the platform answers "not found" for (epay21 P107) is final:
// it expires at once, its units are freed, and nobody asks again — not a
// retry that goes on until the poll window closes.
func TestPaymentUnknownAtPlatformIsFinal(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	_, p := r.book(1)
	// Our record now names a payment the platform has never seen.
	if _, err := r.db.Exec(`UPDATE payments SET reference = 'TRMNEVERSEEN0000001' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := r.flow.Check(ctx, "TRMNEVERSEEN0000001")
	if err != nil || got.State != payment.StateExpired || got.Note != "not known at the platform" {
		t.Fatalf("check: %+v %v", got, err)
	}
	if r.free() != capacity {
		t.Fatalf("%d free, want %d", r.free(), capacity)
	}
	if n := r.count(`SELECT count(*) FROM payments WHERE id = $1 AND poll_until > now()`, p.ID); n != 0 {
		t.Fatal("still polled")
	}
}
