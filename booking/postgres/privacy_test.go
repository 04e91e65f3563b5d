package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// TestPersonalData: the export holds the booking's contact and its mails,
// nothing of another booking; after the citizen's deletion it holds no
// contact any more and the mail still waiting is given up.
func TestPersonalData(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	h, err := o.engine.PlaceHold(ctx, o.loc, o.svc, o.at(10, 0), 1)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := o.engine.Book(ctx, h.ID, booking.Contact{Name: "Erika Mustermann", Email: "erika@example.org", Phone: "0261 129-0", Lang: "en"}, booking.BookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := o.book(t, 11, 0)

	pd, err := o.store.PersonalData(ctx, conf.Booking.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := pd.Booking
	if b.Code != conf.Booking.Code || b.Name != "Erika Mustermann" || b.Email != "erika@example.org" || b.Phone != "0261 129-0" ||
		b.Lang != "en" || b.LocationID != o.loc || b.AnonymisedAt != nil || !b.Start.Equal(o.at(10, 0)) {
		t.Fatalf("exported booking: %+v", b)
	}
	if len(pd.Mails) != 1 || pd.Mails[0].Kind != booking.EventConfirmed || pd.Mails[0].State != booking.MailPending || pd.Mails[0].DoneAt != nil {
		t.Fatalf("exported mails: %+v", pd.Mails)
	}

	if _, err := o.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.store.AnonymiseBooking(ctx, conf.Booking.ID); err != nil {
		t.Fatal(err)
	}
	pd, err = o.store.PersonalData(ctx, conf.Booking.ID)
	if err != nil {
		t.Fatal(err)
	}
	b = pd.Booking
	if b.Name != "" || b.Email != "" || b.Phone != "" || b.AnonymisedAt == nil || b.Status != booking.StatusCancelled || b.CancelledAt == nil {
		t.Fatalf("after the deletion: %+v", b)
	}
	if len(pd.Mails) != 2 {
		t.Fatalf("mails after the cancellation: %+v", pd.Mails)
	}
	for _, m := range pd.Mails {
		if m.State != booking.MailGivenUp || m.DoneAt == nil {
			t.Errorf("mail %s after the deletion: %s at %v, want given up", m.Kind, m.State, m.DoneAt)
		}
	}
	// The lookup by code and token still finds the anonymised booking.
	if got, err := o.engine.Lookup(ctx, conf.Booking.Code, conf.ManageToken); err != nil || got.AnonymisedAt == nil || got.Name != "" {
		t.Fatalf("lookup after the deletion: %+v %v", got, err)
	}

	// The other booking is untouched.
	pd, err = o.store.PersonalData(ctx, other.ID)
	if err != nil || pd.Booking.Code != other.Code || pd.Booking.Name != "Erika" || pd.Booking.AnonymisedAt != nil ||
		len(pd.Mails) != 1 || pd.Mails[0].State != booking.MailPending {
		t.Fatalf("the other booking: %+v %v", pd, err)
	}
	if _, err := o.store.PersonalData(ctx, other.ID+1000); !errors.Is(err, booking.ErrBookingNotFound) {
		t.Fatalf("unknown booking: %v", err)
	}
}

// at is a time of the office's Monday.
func (o *office) at(hour, minute int) time.Time {
	return time.Date(2030, time.January, 7, hour, minute, 0, 0, o.tz)
}
