package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/payment"
)

// addTicketTypes gives the rig's pool a reduced ticket posted like the
// adult one and a sauna ticket posted to another account.
func (r *flowRig) addTicketTypes() (reduced, sauna string) {
	r.t.Helper()
	ctx := context.Background()
	l, _, err := r.engine.Location(r.loc)
	if err != nil {
		r.t.Fatal(err)
	}
	adult, _ := r.engine.Service(r.loc, r.svc)
	reduced, sauna = r.loc+"-reduced", r.loc+"-sauna"
	services := []booking.Service{*adult,
		{ID: reduced, LocationID: r.loc, Name: "ermäßigt", DurationMinutes: 60, FeeCents: 250, Payment: booking.PayOnline, MaxUnits: 3},
		{ID: sauna, LocationID: r.loc, Name: "Sauna", DurationMinutes: 60, FeeCents: 900, Payment: booking.PayOnline, MaxUnits: 3}}
	if err := bookingpg.New(r.db).SaveCatalog(ctx, []booking.Location{*l}, services); err != nil {
		r.t.Fatal(err)
	}
	if err := r.store.SaveAccounting(ctx, []payment.Accounting{
		{Service: r.svc, Haushaltsstelle: "5730.1100", Produkt: "42410", Sachkonto: "4321000", Kostenstelle: "BAD01", BookingText: "Eintritt Freibad"},
		{Service: reduced, Haushaltsstelle: "5730.1100", Produkt: "42410", Sachkonto: "4321000", Kostenstelle: "BAD01", BookingText: "Eintritt ermäßigt"},
		{Service: sauna, Haushaltsstelle: "5730.1200", Produkt: "42420", Sachkonto: "4321100", Kostenstelle: "BAD02", BookingText: "Sauna"},
	}); err != nil {
		r.t.Fatal(err)
	}
	if err := r.engine.Reload(ctx); err != nil {
		r.t.Fatal(err)
	}
	return reduced, sauna
}

// A pool order of several ticket types is one booking with one payment of
// the summed fees and one posting; types posted to different accounts
// cannot be combined.
func TestPoolOrderIsOnePaymentOfTheSummedFees(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	reduced, sauna := r.addTicketTypes()
	ctx := context.Background()
	contact := booking.Contact{Name: "Erika Mustermann", Email: "erika@example.org"}

	mixed, err := r.engine.PlaceHoldFor(ctx, r.loc, []booking.Item{{ServiceID: r.svc, Count: 1}, {ServiceID: sauna, Count: 1}}, r.start)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := r.engine.HoldService(ctx, mixed.ID)
	if _, _, err := r.flow.Book(ctx, mixed.ID, contact, svc); !errors.Is(err, payment.ErrAccountingMixed) {
		t.Fatalf("mixed accounts: %v", err)
	}
	if n := r.count(`SELECT count(*) FROM bookings WHERE location_id = $1`, r.loc); n != 0 {
		t.Fatalf("%d bookings written for a refused order", n)
	}
	if err := r.engine.ReleaseHold(ctx, mixed.ID); err != nil {
		t.Fatal(err)
	}

	h, err := r.engine.PlaceHoldFor(ctx, r.loc, []booking.Item{{ServiceID: r.svc, Count: 1}, {ServiceID: reduced, Count: 2}}, r.start)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ = r.engine.HoldService(ctx, h.ID)
	conf, p, err := r.flow.Book(ctx, h.ID, contact, svc)
	if err != nil {
		t.Fatal(err)
	}
	const want = ticketFee + 2*250
	if p.AmountCents != want || p.Units != 3 || len(conf.Booking.Items) != 2 {
		t.Fatalf("payment %+v booking %+v", p, conf.Booking)
	}
	if got := r.free(); got != 0 {
		t.Fatalf("%d free, want 0 (capacity counts persons)", got)
	}
	r.pay(p)
	if got, err := r.flow.Check(ctx, p.Reference); err != nil || got.State != payment.StatePaid {
		t.Fatalf("check: %+v %v", got, err)
	}
	b := r.booking(p.BookingID)
	if b.Status != booking.StatusConfirmed || b.Persons() != 3 {
		t.Fatalf("booking %+v", b)
	}
	if n := r.count(`SELECT count(*) FROM postings WHERE payment_id = $1 AND kind = 'payment' AND amount_cents = $2`, p.ID, want); n != 1 {
		t.Fatalf("%d postings of %d cents", n, want)
	}
	if n := r.count(`SELECT count(*) FROM booking_events WHERE booking_id = $1 AND kind = 'confirmed'`, b.ID); n != 1 {
		t.Fatalf("%d confirmed events after payment", n)
	}
	if c := booking.ClaimsOf(b); c.Units != 3 || len(c.Tickets) != 2 {
		t.Fatalf("claims %+v", c)
	}
}
