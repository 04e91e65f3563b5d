package mailwire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/internal/mailwire"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailpit"
	"github.com/digitale-verwaltung/termin/mail/mailtest"
	"github.com/digitale-verwaltung/termin/mail/smtp"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type rig struct {
	db     *sqlx.DB
	pg     *bookingpg.Store
	engine *booking.Engine
	loc    booking.Location
	svcs   []booking.Service
	now    atomic.Pointer[time.Time]
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := servicetest.DB(t, bookingpg.Migrations)
	r := &rig{db: db, pg: bookingpg.New(db)}
	tz, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2030, time.January, 7, 6, 0, 0, 0, tz)
	r.now.Store(&start)
	var rules []booking.OpeningRule
	o, _ := booking.ParseClockTime("08:00")
	c, _ := booking.ParseClockTime("18:00")
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, booking.OpeningRule{Weekday: wd, Opens: o, Closes: c})
	}
	id := servicetest.RandomID("amt-")
	r.loc = booking.Location{ID: id, Kind: booking.KindOffice, Name: "Bürgeramt Koblenz", Timezone: "Europe/Berlin",
		Capacity: 2, SlotMinutes: 10, BookingHorizonDays: 30, Opening: rules,
		Address: booking.Address{Street: "Bahnhofstraße 47", PostalCode: "56068", City: "Koblenz"}}
	r.svcs = []booking.Service{
		{ID: id + "-pa", LocationID: id, Name: "Personalausweis", DurationMinutes: 20, FeeCents: 3700, Payment: booking.PayCounter, MaxUnits: 1,
			WhatToBring: booking.Text{DE: "Biometrisches Passfoto", EN: "Biometric photo"}},
		{ID: id + "-rp", LocationID: id, Name: "Reisepass", DurationMinutes: 20, FeeCents: 6000, Payment: booking.PayCounter, MaxUnits: 1},
	}
	if err := r.loc.Validate(r.svcs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.pg.SaveCatalog(ctx, []booking.Location{r.loc}, r.svcs); err != nil {
		t.Fatal(err)
	}
	e, err := booking.NewEngine(ctx, r.pg, bookingredis.New(servicetest.Redis(t)), quiet)
	if err != nil {
		t.Fatal(err)
	}
	e.Now = r.clock
	e.ManageKey = []byte("test manage key, same on every replica")
	r.engine = e
	return r
}

func (r *rig) clock() time.Time { return *r.now.Load() }

func (r *rig) book(t *testing.T, email, lang string) *booking.Confirmation {
	t.Helper()
	ctx := context.Background()
	tz, _ := time.LoadLocation("Europe/Berlin")
	for h := 9; h < 17; h++ {
		start := time.Date(2030, time.January, 9, h, 0, 0, 0, tz)
		hold, err := r.engine.PlaceHoldFor(ctx, r.loc.ID, []booking.Item{{ServiceID: r.svcs[0].ID, Count: 1}, {ServiceID: r.svcs[1].ID, Count: 1}}, start)
		if err != nil {
			continue
		}
		conf, err := r.engine.Book(ctx, hold.ID, booking.Contact{Name: "Erika Mustermann", Email: email, Lang: lang}, booking.BookOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return conf
	}
	t.Fatal("no free start")
	return nil
}

func TestPostgresOutboxKeepsTheContract(t *testing.T) {
	r := newRig(t)
	conf := r.book(t, "erika@example.org", "de")
	// The booking wrote its own events; finish them so the contract sees
	// only its own.
	ctx := context.Background()
	for {
		evs, err := r.pg.ClaimEvents(ctx, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if err := r.pg.EventDone(ctx, ev, r.clock()); err != nil {
				t.Fatal(err)
			}
		}
	}
	src := mailwire.BookingMail{Store: r.pg, Engine: r.engine}
	mailtest.TestEvents(t, src, func(t *testing.T, kind, lang string, at time.Time) (int64, int64) {
		var id int64
		err := r.db.GetContext(ctx, &id, `INSERT INTO booking_events (kind, booking_id, lang, deliver_after) VALUES ($1, $2, $3, $4) RETURNING id`,
			kind, conf.Booking.ID, lang, at)
		if err != nil {
			t.Fatal(err)
		}
		return id, conf.Booking.ID
	})
}

func TestUnknownBookingIsNoBooking(t *testing.T) {
	r := newRig(t)
	src := mailwire.BookingMail{Store: r.pg, Engine: r.engine}
	if _, err := src.MailBooking(context.Background(), 987654); !errors.Is(err, mail.ErrNoBooking) {
		t.Fatalf("unknown booking: %v, want mail.ErrNoBooking", err)
	}
}

// A booking and its cancellation through the real engine, the PostgreSQL
// outbox, the adapter, the worker and a real SMTP server.
func TestBookingMailsArrive(t *testing.T) {
	mp := mailpit.FromEnv(t)
	r := newRig(t)
	ctx := context.Background()
	email := fmt.Sprintf("erika.%d@example.org", time.Now().UnixNano())
	conf := r.book(t, email, "en")
	sender, err := smtp.New(smtp.Config{Addr: mp.SMTPAddr, TLS: smtp.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	src := mailwire.BookingMail{Store: r.pg, Engine: r.engine}
	var workers []*mail.Worker
	for i := 0; i < 3; i++ {
		w, err := mail.NewWorker(src, src, sender, mail.Config{From: "Stadt Koblenz <termine@koblenz.example>", BaseURL: "https://termine.koblenz.example", Now: r.clock}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
	}
	runAll := func() {
		done := make(chan struct{})
		for _, w := range workers {
			go func() {
				defer func() { done <- struct{}{} }()
				if _, err := w.RunOnce(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		for range workers {
			<-done
		}
	}
	runAll()
	if _, err := r.engine.Cancel(ctx, conf.Booking.Code, conf.ManageToken, nil); err != nil {
		t.Fatal(err)
	}
	runAll()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := mp.WaitFor(wait, "to:"+email, 2)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got, _ = mp.Search(ctx, "to:"+email); len(got) != 2 {
		t.Fatalf("%d mails, want 2", len(got))
	}
	var uids, seqs, methods []string
	for i, s := range []mailpit.Summary{got[1], got[0]} {
		m, err := mp.Message(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("subject %q", m.Subject)
		if len(m.Attachments) != 1 {
			t.Fatalf("%q: %d attachments", m.Subject, len(m.Attachments))
		}
		data, err := mp.Part(ctx, s.ID, m.Attachments[0].PartID)
		if err != nil {
			t.Fatal(err)
		}
		cal, err := mail.ParseICS(data)
		if err != nil {
			t.Fatal(err)
		}
		ev := cal.Find("VEVENT")[0]
		uids, seqs, methods = append(uids, ev.Value("UID")), append(seqs, ev.Value("SEQUENCE")), append(methods, cal.Value("METHOD"))
		if strings.Contains(string(data), conf.ManageToken) {
			t.Error("token in the calendar file")
		}
		if i == 0 && (!strings.Contains(m.Text, "/termin/"+conf.Booking.Code+"?t="+conf.ManageToken) || !strings.Contains(m.Text, "Biometric photo") || !strings.Contains(m.Text, "Bahnhofstraße 47")) {
			t.Errorf("confirmation text:\n%s", m.Text)
		}
	}
	if uids[0] == "" || uids[0] != uids[1] || seqs[0] != "0" || seqs[1] != "1" || methods[0] != "PUBLISH" || methods[1] != "CANCEL" {
		t.Errorf("UIDs %v SEQUENCE %v METHOD %v", uids, seqs, methods)
	}
}
