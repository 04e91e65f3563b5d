package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

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
	// dsn is the database's URL, for a listener's own connection.
	dsn string
}

func newOffice(t testing.TB) *office {
	t.Helper()
	dsn := servicetest.DatabaseURL(t, bookingpg.Migrations)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(50)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	o := &office{store: bookingpg.New(db), loc: servicetest.RandomID("amt-"), dsn: dsn}
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
	if _, err := o.queue.CheckIn(ctx, o.loc, "ZZZZ2345"); !errors.Is(err, booking.ErrCheckInUnknown) {
		t.Fatalf("check-in with an unknown code: %v", err)
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

// TestWalkInOutsideOpeningHours: no number is drawn while the office is
// closed; the answer says when it opens.
func TestWalkInOutsideOpeningHours(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	now := time.Date(2030, time.January, 7, 7, 30, 0, 0, o.tz)
	o.engine.Now = func() time.Time { return now }
	_, err := o.queue.WalkIn(ctx, o.loc, o.svc)
	var closed *booking.ClosedError
	if !errors.As(err, &closed) || !errors.Is(err, booking.ErrLocationClosed) || !closed.Opens.Equal(time.Date(2030, time.January, 7, 8, 0, 0, 0, o.tz)) {
		t.Fatalf("walk-in before opening: %v", err)
	}
	if ts, err := o.queue.Today(ctx, o.loc); err != nil || len(ts) != 0 {
		t.Fatalf("tickets drawn while closed: %+v %v", ts, err)
	}
	now = time.Date(2030, time.January, 7, 16, 0, 0, 0, o.tz)
	if _, err := o.queue.WalkIn(ctx, o.loc, o.svc); !errors.As(err, &closed) || !closed.Opens.Equal(time.Date(2030, time.January, 14, 8, 0, 0, 0, o.tz)) {
		t.Fatalf("walk-in after closing: %v", err)
	}
}

func (o *office) bookWith(t *testing.T, hour, minute int, status string) *booking.Confirmation {
	t.Helper()
	ctx := context.Background()
	h, err := o.engine.PlaceHold(ctx, o.loc, o.svc, time.Date(2030, time.January, 7, hour, minute, 0, 0, o.tz), 1)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := o.engine.Book(ctx, h.ID, booking.Contact{Name: "Erika", Email: servicetest.RandomID("e") + "@example.org"}, booking.BookOptions{Status: status})
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

func TestRedeem(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	now := o.engine.Now()
	b := o.book(t, 10, 0)
	r := booking.Redemption{Code: b.Code, Location: o.loc, Nonce: servicetest.RandomID("n1-"), ScannedAt: now.Add(-time.Minute)}
	first, err := o.queue.Redeem(ctx, "dev-1", r)
	if err != nil || first.Nonce != r.Nonce || !first.ScannedAt.Equal(r.ScannedAt) {
		t.Fatalf("first admission: %+v %v", first, err)
	}
	if again, err := o.queue.Redeem(ctx, "dev-1", r); err != nil || again.Nonce != r.Nonce {
		t.Fatalf("repeated upload: %+v %v", again, err)
	}
	n1 := r.Nonce
	r.Nonce, r.Offline = servicetest.RandomID("n2-"), true
	if other, err := o.queue.Redeem(ctx, "dev-2", r); !errors.Is(err, booking.ErrAlreadyRedeemed) || other.Nonce != n1 {
		t.Fatalf("second admission: %+v %v", other, err)
	}
}

// TestRedeemNonceOfAnotherTicket: a nonce that recorded one ticket's
// admission, sent again with another ticket, records nothing and is
// answered as such, not as a store failure.
func TestRedeemNonceOfAnotherTicket(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	a, b := o.book(t, 10, 0), o.book(t, 10, 15)
	nonce := servicetest.RandomID("n-")
	if _, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: a.Code, Location: o.loc, Nonce: nonce, ScannedAt: o.engine.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: b.Code, Location: o.loc, Nonce: nonce, ScannedAt: o.engine.Now(), Offline: true})
	if !errors.Is(err, booking.ErrNonceReused) || errors.Is(err, booking.ErrUnavailable) {
		t.Fatalf("nonce of another ticket: %v", err)
	}
	// The other ticket is still unused.
	if _, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: b.Code, Location: o.loc, Nonce: servicetest.RandomID("n-"), ScannedAt: o.engine.Now()}); err != nil {
		t.Fatalf("the other ticket afterwards: %v", err)
	}
}

// TestRedeemScanTime: an upload dated beyond the allowed clock skew is
// refused; one inside it is recorded.
func TestRedeemScanTime(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	now := o.engine.Now()
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"two days ahead", now.Add(48 * time.Hour), booking.ErrScanInFuture},
		{"just beyond the skew", now.Add(booking.ScanClockSkew + time.Second), booking.ErrScanInFuture},
		{"inside the skew", now.Add(booking.ScanClockSkew - time.Second), nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := o.book(t, 10, 15*i)
			_, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: b.Code, Location: o.loc, Nonce: servicetest.RandomID("n-"), ScannedAt: tt.at, Offline: true})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRedeemInvalidBooking: only a confirmed booking admits online; an
// offline admission of a cancelled, unpaid or unknown booking is recorded
// with a flag for staff; cancelled bookings make the revocation list.
func TestRedeemInvalidBooking(t *testing.T) {
	o := newOffice(t)
	ctx := context.Background()
	now := o.engine.Now()
	cancelled := o.bookWith(t, 10, 0, "")
	if _, err := o.engine.Cancel(ctx, cancelled.Booking.Code, cancelled.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	unpaid := o.bookWith(t, 10, 15, booking.StatusPendingPayment).Booking
	valid := o.book(t, 10, 30)
	tests := []struct {
		name    string
		code    string
		online  error
		offline string // flag of the offline admission
	}{
		{"cancelled", cancelled.Booking.Code, booking.ErrBookingCancelled, booking.FlagCancelled},
		{"unpaid", unpaid.Code, booking.ErrBookingUnpaid, booking.FlagUnpaid},
		{"unknown", "ZZZZ2345", booking.ErrBookingNotFound, booking.FlagUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: tt.code, Location: o.loc, Nonce: servicetest.RandomID("n-"), ScannedAt: now})
			if !errors.Is(err, tt.online) {
				t.Fatalf("online: %v, want %v", err, tt.online)
			}
			nonce := servicetest.RandomID("n-")
			first, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: tt.code, Location: o.loc, Nonce: nonce, ScannedAt: now, Offline: true})
			if !errors.Is(err, booking.ErrAdmittedRevoked) || first == nil || first.Flag != tt.offline || first.Nonce != nonce {
				t.Fatalf("offline: %+v %v", first, err)
			}
			// Uploading again gives the same answer.
			if _, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: tt.code, Location: o.loc, Nonce: nonce, ScannedAt: now, Offline: true}); !errors.Is(err, booking.ErrAdmittedRevoked) {
				t.Fatalf("offline again: %v", err)
			}
		})
	}
	flagged, err := o.queue.FlaggedToday(ctx, o.loc)
	if err != nil || len(flagged) != 3 {
		t.Fatalf("flagged: %+v %v", flagged, err)
	}
	if _, err := o.queue.Redeem(ctx, "dev-1", booking.Redemption{Code: valid.Code, Location: o.loc, Nonce: servicetest.RandomID("n-"), ScannedAt: now}); err != nil {
		t.Fatalf("confirmed booking: %v", err)
	}
	revoked, err := o.queue.RevokedCodes(ctx, o.loc, now, now.Add(48*time.Hour))
	if err != nil || len(revoked) != 1 || revoked[0] != cancelled.Booking.Code {
		t.Fatalf("revoked: %v %v", revoked, err)
	}
	if revoked, err := o.queue.RevokedCodes(ctx, o.loc, now.Add(3*time.Hour), now.Add(48*time.Hour)); err != nil || len(revoked) != 0 {
		t.Fatalf("revoked after the slot: %v %v", revoked, err)
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
