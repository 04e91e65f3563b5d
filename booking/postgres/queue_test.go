package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// office is an engine with one office, its queue and a clock at 09:45 of
// a Monday.
type office struct {
	store  *bookingpg.Store
	engine *booking.Engine
	queue  *booking.Queue
	loc    string
	svc    string
	tz     *time.Location
}

func newOffice(t *testing.T) *office {
	t.Helper()
	db := servicetest.DB(t, bookingpg.Migrations)
	ctx := context.Background()
	o := &office{store: bookingpg.New(db), loc: servicetest.RandomID("amt-")}
	o.svc = o.loc + "-ausweis"
	o.tz, _ = time.LoadLocation("Europe/Berlin")
	opens, _ := booking.ParseClockTime("08:00")
	closes, _ := booking.ParseClockTime("16:00")
	loc := booking.Location{ID: o.loc, Kind: booking.KindOffice, Name: "Bürgeramt", Timezone: "Europe/Berlin", Capacity: 2,
		SlotMinutes: 15, BookingHorizonDays: 30, Opening: []booking.OpeningRule{{Weekday: time.Monday, Opens: opens, Closes: closes}}}
	svc := booking.Service{ID: o.svc, LocationID: o.loc, Name: "Personalausweis", DurationMinutes: 15, Payment: booking.PayCounter, MaxUnits: 1}
	if err := o.store.SaveCatalog(ctx, []booking.Location{loc}, []booking.Service{svc}); err != nil {
		t.Fatal(err)
	}
	e, err := booking.NewEngine(ctx, o.store, bookingredis.New(servicetest.Redis(t)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, time.January, 7, 9, 45, 0, 0, o.tz)
	e.Now = func() time.Time { return now }
	o.engine = e
	o.queue = booking.NewQueue(e, o.store)
	return o
}

func (o *office) book(t *testing.T, hour, minute int) *booking.Booking {
	t.Helper()
	ctx := context.Background()
	h, err := o.engine.PlaceHold(ctx, o.loc, o.svc, time.Date(2030, time.January, 7, hour, minute, 0, 0, o.tz), 1)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := o.engine.Book(ctx, h.ID, booking.Contact{Name: "Erika", Email: "erika@example.org"}, booking.BookOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return conf.Booking
}

func TestQueue(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	a1, err := o.queue.WalkIn(ctx, o.loc, o.svc)
	if err != nil || a1.Number != "A001" || a1.State != booking.QueueWaiting || a1.Ahead != 0 {
		t.Fatalf("first walk-in: %+v %v", a1, err)
	}
	a2, err := o.queue.WalkIn(ctx, o.loc, o.svc)
	if err != nil || a2.Number != "A002" || a2.Ahead != 1 || a2.EstimatedWait != 15*time.Minute {
		t.Fatalf("second walk-in: %+v %v", a2, err)
	}
	b := o.book(t, 10, 0)
	t1, err := o.queue.CheckIn(ctx, o.loc, b.Code)
	if err != nil || t1.Number != "T001" || t1.BookingID == nil || *t1.BookingID != b.ID {
		t.Fatalf("check-in: %+v %v", t1, err)
	}
	if again, err := o.queue.CheckIn(ctx, o.loc, b.Code); err != nil || again.ID != t1.ID {
		t.Fatalf("second check-in (a reprint): %+v %v", again, err)
	}
	late := o.book(t, 11, 0)
	if _, err := o.queue.CheckIn(ctx, o.loc, late.Code); !errors.Is(err, booking.ErrCheckInTooEarly) {
		t.Fatalf("check-in an hour early: %v", err)
	}
	// Appointments first, then walk-ins in order of arrival.
	for _, want := range []string{"T001", "A001", "A002"} {
		c, err := o.queue.CallNext(ctx, o.loc, "Platz 1")
		if err != nil || c.Number != want || c.State != booking.QueueCalled || c.Desk == nil || *c.Desk != "Platz 1" {
			t.Fatalf("call, want %s: %+v %v", want, c, err)
		}
	}
	if _, err := o.queue.CallNext(ctx, o.loc, "Platz 1"); !errors.Is(err, booking.ErrQueueEmpty) {
		t.Fatalf("call on an empty queue: %v", err)
	}
	done, err := o.queue.Finish(ctx, o.loc, a1.ID, booking.QueueServed)
	if err != nil || done.State != booking.QueueServed || done.FinishedAt == nil {
		t.Fatalf("finish: %+v %v", done, err)
	}
	if _, err := o.queue.Finish(ctx, o.loc, a1.ID, booking.QueueNoShow); !errors.Is(err, booking.ErrTicketState) {
		t.Fatalf("finish twice: %v", err)
	}
	if _, err := o.queue.Finish(ctx, o.loc, a1.ID+1000, booking.QueueServed); !errors.Is(err, booking.ErrTicketNotFound) {
		t.Fatalf("finish an unknown ticket: %v", err)
	}
	ts, err := o.queue.Today(ctx, o.loc)
	if err != nil || len(ts) != 3 {
		t.Fatalf("today: %+v %v", ts, err)
	}
}

func TestRedeem(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	r := booking.Redemption{Code: "ABCD2345", Location: o.loc, Nonce: "n1", ScannedAt: time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)}
	first, err := o.queue.Redeem(ctx, "dev-1", r)
	if err != nil || first.Nonce != "n1" || !first.ScannedAt.Equal(r.ScannedAt) {
		t.Fatalf("first admission: %+v %v", first, err)
	}
	if again, err := o.queue.Redeem(ctx, "dev-1", r); err != nil || again.Nonce != "n1" {
		t.Fatalf("repeated upload: %+v %v", again, err)
	}
	r.Nonce, r.Offline = "n2", true
	if other, err := o.queue.Redeem(ctx, "dev-2", r); !errors.Is(err, booking.ErrAlreadyRedeemed) || other.Nonce != "n1" {
		t.Fatalf("second admission: %+v %v", other, err)
	}
}

func TestDevices(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	if _, _, err := o.store.RegisterDevice(ctx, o.loc, "Kiosk", "printer", time.Hour); !errors.Is(err, booking.ErrDeviceMode) {
		t.Fatalf("unknown mode: %v", err)
	}
	d, code, err := o.store.RegisterDevice(ctx, o.loc, "Kiosk Eingang", booking.ModeCounter, time.Hour)
	if err != nil || d.EnrolledAt != nil || len(code) != 14 {
		t.Fatalf("register: %+v %q %v", d, code, err)
	}
	enrolled, token, err := o.store.EnrollDevice(ctx, code)
	if err != nil || enrolled.ID != d.ID || enrolled.EnrolledAt == nil || token == "" {
		t.Fatalf("enroll: %+v %v", enrolled, err)
	}
	if _, _, err := o.store.EnrollDevice(ctx, code); !errors.Is(err, booking.ErrEnrollmentCode) {
		t.Fatalf("second enroll: %v", err)
	}
	if _, err := o.store.DeviceByToken(ctx, token+"x"); !errors.Is(err, booking.ErrDeviceUnknown) {
		t.Fatalf("wrong token: %v", err)
	}
	if err := o.store.Heartbeat(ctx, d.ID, "1.2.3", json.RawMessage(`{"printer":"ok"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := o.store.DeviceByToken(ctx, token)
	if err != nil || got.Version == nil || *got.Version != "1.2.3" || got.LastSeenAt == nil || string(got.Status) != `{"printer": "ok"}` {
		t.Fatalf("device after heartbeat: %+v %s %v", got, got.Status, err)
	}
	if ds, err := o.store.Devices(ctx); err != nil || len(ds) != 1 || ds[0].Mode != booking.ModeCounter {
		t.Fatalf("devices: %+v %v", ds, err)
	}
	k1, err := o.store.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := o.store.SigningKey(ctx); err != nil || !k1.Equal(k2) {
		t.Fatalf("signing key changed: %v", err)
	}
}
