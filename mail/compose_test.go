package mail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
)

func newComposer(t *testing.T) *mail.Composer {
	t.Helper()
	c, err := mail.NewComposer("Stadt Koblenz <termine@koblenz.example>", "https://termine.koblenz.example/")
	if err != nil {
		t.Fatal(err)
	}
	c.Now = func() time.Time { return time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC) }
	return c
}

func TestComposeMessages(t *testing.T) {
	office := testBooking()
	pool := poolBooking()
	cancelled := office
	cancelled.Status, cancelled.Sequence = mail.StatusCancelled, 1
	paidCancelled := pool
	paidCancelled.Status, paidCancelled.Sequence = mail.StatusCancelled, 1
	moved := office
	moved.Sequence = 1
	moved.PreviousStart, moved.PreviousEnd = office.Start.Add(-24*time.Hour), office.End.Add(-24*time.Hour)
	pending := office
	pending.Status = mail.StatusPendingActivation
	pending.ActivationDeadline = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	lateConfirmation := cancelled

	const manage = "https://termine.koblenz.example/termin/K7M2Q9?t=Zm9v-YmFy_dG9rZW4"
	tests := []struct {
		name     string
		kind     string
		lang     string
		b        mail.Booking
		subject  string
		contains []string
		absent   []string
		method   string // calendar method attached, "" for none
		sequence string
	}{
		{"confirmation de", mail.KindConfirmed, "", office, "Terminbestätigung K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"Guten Tag Anna Beispiel,", "Dienstag, 8. Dezember 2026, 10:30–11:10 Uhr", "Bürgeramt Koblenz, Bahnhofstraße 47", "Personalausweis beantragen, Reisepass beantragen", "97,00 €, vor Ort zu zahlen", "Personalausweis beantragen: Altes Ausweisdokument", manage, "Stadt Koblenz"},
			nil, "PUBLISH", "0"},
		{"confirmation en by event language", mail.KindConfirmed, "en", office, "Booking confirmed K7M2Q9: 8 Dec 2026, 10:30",
			[]string{"Hello Anna Beispiel,", "Tuesday, 8 December 2026, 10:30–11:10", "Old identity document", "€97.00, to be paid on site", manage},
			[]string{"Uhr"}, "PUBLISH", "0"},
		{"pool confirmation en", mail.KindConfirmed, "", pool, "Booking confirmed P3W9R2: 14 Jul 2026, 15:00",
			[]string{"Your booking is confirmed.", "2 × Erwachsene, 1 × ermäßigt", "Persons", "€11.50, paid online", "https://termine.koblenz.example/termin/P3W9R2?t=cG9vbC10b2tlbg"},
			nil, "PUBLISH", "0"},
		{"cancellation", mail.KindCancelled, "", cancelled, "Termin storniert K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"Ihr Termin wurde storniert.", "entfernt den Termin"},
			[]string{"?t=", "Gebühr"}, "CANCEL", "1"},
		{"paid cancellation refunds", mail.KindCancelled, "", paidCancelled, "Booking cancelled P3W9R2: 14 Jul 2026, 15:00",
			[]string{"We refund the €11.50 you paid"}, nil, "CANCEL", "1"},
		{"reschedule", mail.KindRescheduled, "", moved, "Termin verschoben K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"Bisherige Zeit", "Montag, 7. Dezember 2026, 10:30–11:10 Uhr", "geänderten Termin", manage}, nil, "PUBLISH", "1"},
		{"reminder", mail.KindReminder, "", office, "Erinnerung an Ihren Termin K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"wir erinnern Sie", "Bitte mitbringen", manage}, nil, "", ""},
		{"activation request", mail.KindActivationRequested, "", pending, "Bitte bestätigen Sie Ihre Buchung K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"https://termine.koblenz.example/termin/K7M2Q9/aktivieren?t=Zm9v-YmFy_dG9rZW4", "bis Dienstag, 1. Dezember 2026, 10:00 Uhr", "ignorieren"}, nil, "", ""},
		{"activation expired", mail.KindActivationExpired, "", cancelled, "Buchung nicht bestätigt und freigegeben K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{"freigegeben", "https://termine.koblenz.example/"}, []string{"?t="}, "", ""},
		{"manage link", mail.KindManageLink, "", office, "Ihr Link zur Buchung K7M2Q9: 08.12.2026, 10:30 Uhr",
			[]string{manage, "ignorieren"}, nil, "", ""},
		{"confirmation after cancellation has no calendar", mail.KindConfirmed, "", lateConfirmation, "Terminbestätigung K7M2Q9: 08.12.2026, 10:30 Uhr",
			nil, []string{"Anhang"}, "", ""},
	}
	c := newComposer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Compose(mail.Event{ID: 42, Kind: tt.kind, BookingID: tt.b.ID, Lang: tt.lang}, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.subject {
				t.Errorf("subject %q, want %q", m.Subject, tt.subject)
			}
			if m.To.Email != tt.b.Email || m.From != c.From {
				t.Errorf("to %+v from %q", m.To, m.From)
			}
			if !strings.HasPrefix(m.ID, "booking-event-42.") || !strings.HasSuffix(m.ID, "@koblenz.example") {
				t.Errorf("message id %q", m.ID)
			}
			for _, want := range tt.contains {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, m.Text)
				}
				// The HTML part says the same (& in URLs is escaped there).
				if !strings.Contains(m.HTML, strings.ReplaceAll(want, "&", "&amp;")) {
					t.Errorf("html lacks %q", want)
				}
			}
			for _, not := range tt.absent {
				if strings.Contains(m.Text, not) {
					t.Errorf("text has %q:\n%s", not, m.Text)
				}
			}
			if !strings.Contains(m.HTML, `<html lang="`) {
				t.Error("html without lang")
			}
			if tt.method == "" {
				if len(m.Attachments) != 0 {
					t.Errorf("unexpected attachments %v", m.Attachments[0].Name)
				}
				return
			}
			if len(m.Attachments) != 1 {
				t.Fatalf("%d attachments, want the calendar", len(m.Attachments))
			}
			a := m.Attachments[0]
			if !strings.HasPrefix(a.ContentType, "text/calendar") || !strings.Contains(a.ContentType, "method="+tt.method) {
				t.Errorf("content type %q", a.ContentType)
			}
			if strings.Contains(string(a.Data), tt.b.ManageToken) {
				t.Error("the calendar file carries the manage token")
			}
			cal, err := mail.ParseICS(a.Data)
			if err != nil {
				t.Fatal(err)
			}
			ev := cal.Find("VEVENT")[0]
			if cal.Value("METHOD") != tt.method || ev.Value("UID") != tt.b.CalendarUID || ev.Value("SEQUENCE") != tt.sequence {
				t.Errorf("METHOD %s UID %s SEQUENCE %s", cal.Value("METHOD"), ev.Value("UID"), ev.Value("SEQUENCE"))
			}
		})
	}
}

func TestComposeEscapesHTML(t *testing.T) {
	b := testBooking()
	b.Name = `<script>alert("x")</script>` + "\r\nBcc: evil@example.org"
	m, err := newComposer(t).Compose(mail.Event{ID: 1, Kind: mail.KindConfirmed}, b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Error("name not escaped in HTML")
	}
	if strings.ContainsAny(m.To.Name, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("line break in a header value: %q / %q", m.To.Name, m.Subject)
	}
}

func TestComposeCannot(t *testing.T) {
	c := newComposer(t)
	noToken := testBooking()
	noToken.ManageToken = ""
	noToken.Status = mail.StatusPendingActivation
	noMail := testBooking()
	noMail.Email = "not an address"
	tests := []struct {
		name string
		kind string
		b    mail.Booking
	}{
		{"unknown kind", "paid", testBooking()},
		{"no address", mail.KindConfirmed, noMail},
		{"activation without token", mail.KindActivationRequested, noToken},
		{"manage link without token", mail.KindManageLink, noToken},
	}
	for _, tt := range tests {
		if _, err := c.Compose(mail.Event{ID: 1, Kind: tt.kind}, tt.b); !errors.Is(err, mail.ErrCannotCompose) {
			t.Errorf("%s: err %v, want ErrCannotCompose", tt.name, err)
		}
	}
	// Without a token a confirmation still goes out, without the link.
	confirmed := testBooking()
	confirmed.ManageToken = ""
	m, err := c.Compose(mail.Event{ID: 1, Kind: mail.KindConfirmed}, confirmed)
	if err != nil || strings.Contains(m.Text, "?t=") {
		t.Errorf("confirmation without token: %v", err)
	}
}

func TestNewComposerChecksConfig(t *testing.T) {
	for _, tt := range []struct{ from, base string }{
		{"not an address", "https://x.example"},
		{"a@x.example", "/relative"},
		{"a@x.example", "ftp://x.example"},
	} {
		if _, err := mail.NewComposer(tt.from, tt.base); err == nil {
			t.Errorf("NewComposer(%q, %q) accepted", tt.from, tt.base)
		}
	}
}

func TestCalendarFileMatchesTheMail(t *testing.T) {
	c := newComposer(t)
	b := testBooking()
	m, err := c.Compose(mail.Event{ID: 1, Kind: mail.KindConfirmed}, b)
	if err != nil {
		t.Fatal(err)
	}
	name, ctype, data, err := c.CalendarFile(b, "de")
	if err != nil {
		t.Fatal(err)
	}
	a := m.Attachments[0]
	if name != a.Name || ctype != a.ContentType || string(data) != string(a.Data) {
		t.Errorf("download %s %s differs from the attachment %s %s", name, ctype, a.Name, a.ContentType)
	}
	b.Status, b.Sequence = mail.StatusCancelled, 1
	_, ctype, data, err = c.CalendarFile(b, "en")
	if err != nil || !strings.HasSuffix(ctype, "method=CANCEL") || !strings.Contains(string(data), "STATUS:CANCELLED") {
		t.Errorf("cancelled download: %s, %v", ctype, err)
	}
	b.CalendarUID = ""
	if _, _, _, err := c.CalendarFile(b, "de"); !errors.Is(err, mail.ErrCannotCompose) {
		t.Errorf("without UID: %v", err)
	}
}
