package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailpit"
	"github.com/digitale-verwaltung/termin/mail/smtp"
)

// realSender sends to the Mailpit of the environment.
func realSender(t *testing.T, mp *mailpit.Client) *smtp.Sender {
	t.Helper()
	s, err := smtp.New(smtp.Config{Addr: mp.SMTPAddr, TLS: smtp.TLSNone, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// calendarOf fetches and parses the one .ics attachment of a message.
func calendarOf(t *testing.T, mp *mailpit.Client, id string) (*mailpit.Message, *mail.ICSComponent) {
	t.Helper()
	ctx := context.Background()
	m, err := mp.Message(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Attachments {
		if strings.HasSuffix(a.FileName, ".ics") {
			if !strings.HasPrefix(a.ContentType, "text/calendar") {
				t.Errorf("attachment type %q", a.ContentType)
			}
			data, err := mp.Part(ctx, id, a.PartID)
			if err != nil {
				t.Fatal(err)
			}
			cal, err := mail.ParseICS(data)
			if err != nil {
				t.Fatalf("received .ics does not parse: %v\n%s", err, data)
			}
			return m, cal
		}
	}
	t.Fatalf("message %q has no .ics attachment (%d attachments)", m.Subject, len(m.Attachments))
	return nil, nil
}

// The confirmation and the cancellation arrive at a real SMTP server; their
// calendar files parse, and the cancellation cancels the same UID.
func TestMailpitConfirmationThenCancellation(t *testing.T) {
	mp := mailpit.FromEnv(t)
	ctx := context.Background()
	c := startClock()
	s := newMemStore()
	b := testBooking()
	b.Email = fmt.Sprintf("anna.%d@example.org", time.Now().UnixNano())
	s.AddBooking(b)
	w := newWorker(t, s, realSender(t, mp), c, nil)

	s.Add(mail.KindConfirmed, b.ID, "de", c.Now())
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("run: %d, %v", n, err)
	}
	b.Status, b.Sequence = mail.StatusCancelled, 1
	s.AddBooking(b)
	s.Add(mail.KindCancelled, b.ID, "de", c.Now())
	if n, err := w.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("run: %d, %v", n, err)
	}

	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := mp.WaitFor(wait, `to:"`+b.Email+`"`, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	// Newest first: the cancellation, then the confirmation.
	confirmation, confCal := calendarOf(t, mp, got[1].ID)
	cancellation, cancCal := calendarOf(t, mp, got[0].ID)

	if !strings.HasPrefix(confirmation.Subject, "Terminbestätigung K7M2Q9") || !strings.HasPrefix(cancellation.Subject, "Termin storniert K7M2Q9") {
		t.Fatalf("subjects %q, %q", confirmation.Subject, cancellation.Subject)
	}
	if !strings.Contains(confirmation.Text, "Bahnhofstraße 47") || !strings.Contains(confirmation.HTML, `lang="de"`) {
		t.Error("text or HTML part missing or mangled")
	}
	if !strings.Contains(confirmation.Text, "/termin/K7M2Q9?t="+b.ManageToken) {
		t.Error("manage link missing in the received text")
	}
	if confirmation.From == nil || confirmation.From.Address != "termine@koblenz.example" || confirmation.From.Name != "Stadt Koblenz" {
		t.Errorf("from %+v", confirmation.From)
	}
	headers, err := mp.Headers(ctx, got[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := headers["Auto-Submitted"]; len(v) != 1 || v[0] != "auto-generated" {
		t.Errorf("Auto-Submitted %v", v)
	}
	if !strings.HasPrefix(confirmation.MessageID, "booking-event-1.confirmed@") {
		t.Errorf("Message-ID %q", confirmation.MessageID)
	}

	if confCal.Value("METHOD") != "PUBLISH" || cancCal.Value("METHOD") != "CANCEL" {
		t.Errorf("methods %q, %q", confCal.Value("METHOD"), cancCal.Value("METHOD"))
	}
	tz := confCal.Find("VTIMEZONE")
	if len(tz) != 1 || tz[0].Value("TZID") != "Europe/Berlin" {
		t.Errorf("VTIMEZONE %+v", tz)
	}
	confEv, cancEv := confCal.Find("VEVENT")[0], cancCal.Find("VEVENT")[0]
	if confEv.Value("UID") != b.CalendarUID || cancEv.Value("UID") != confEv.Value("UID") {
		t.Errorf("UIDs %q, %q, want both %q", confEv.Value("UID"), cancEv.Value("UID"), b.CalendarUID)
	}
	if confEv.Value("SEQUENCE") != "0" || cancEv.Value("SEQUENCE") != "1" || cancEv.Value("STATUS") != "CANCELLED" {
		t.Errorf("SEQUENCE %q → %q, STATUS %q", confEv.Value("SEQUENCE"), cancEv.Value("SEQUENCE"), cancEv.Value("STATUS"))
	}
	if dt, _ := confEv.Prop("DTSTART"); dt.Params["TZID"] != "Europe/Berlin" || dt.Value != "20261208T103000" {
		t.Errorf("DTSTART %+v", dt)
	}
	alarms := confEv.Find("VALARM")
	if len(alarms) != 1 || alarms[0].Value("TRIGGER") != "-P1D" {
		t.Errorf("VALARM %+v", alarms)
	}
	for _, p := range []string{"ORGANIZER", "ATTENDEE"} {
		if _, ok := confEv.Prop(p); ok {
			t.Errorf("%s in the calendar file", p)
		}
	}
}

// Four workers (replicas) share one outbox and the real SMTP server: every
// event arrives exactly once.
func TestMailpitWorkersSendEachEventOnce(t *testing.T) {
	mp := mailpit.FromEnv(t)
	ctx := context.Background()
	c := startClock()
	s := newMemStore()
	run := fmt.Sprintf("run%d.example.org", time.Now().UnixNano())
	const events, workers = 40, 4
	for i := int64(1); i <= events; i++ {
		b := testBooking()
		b.ID, b.Email, b.Lang = i, fmt.Sprintf("citizen%d@%s", i, run), []string{"de", "en"}[i%2]
		s.AddBooking(b)
		s.Add(mail.KindConfirmed, i, "", c.Now())
	}
	sender := realSender(t, mp)
	runWorkers(t, workers, func() *mail.Worker {
		return newWorker(t, s, sender, c, func(cfg *mail.Config) { cfg.Batch = 3 })
	}, func() bool {
		for i := int64(1); i <= events; i++ {
			if s.Row(i).State == "pending" {
				return false
			}
		}
		return true
	})
	for i := int64(1); i <= events; i++ {
		if r := s.Row(i); r.State != "done" {
			t.Fatalf("event %d: %s (%s)", i, r.State, r.LastError)
		}
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := mp.WaitFor(wait, "to:"+run, events)
	if err != nil {
		t.Fatal(err)
	}
	// Give a duplicate the time to arrive too.
	time.Sleep(300 * time.Millisecond)
	got, err = mp.Search(ctx, "to:"+run)
	if err != nil {
		t.Fatal(err)
	}
	perAddress := map[string]int{}
	for _, m := range got {
		for _, to := range m.To {
			perAddress[to.Address]++
		}
	}
	if len(got) != events || len(perAddress) != events {
		t.Fatalf("%d messages to %d addresses, want %d each once", len(got), len(perAddress), events)
	}
}
