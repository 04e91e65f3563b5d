package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailpit"
)

const office = "buergeramt-koblenz"

// inbox delivers a server's mail events to Mailpit and reads them back.
// Without Mailpit (no MAILPIT_URL, and services not required) it is nil
// and the tests check the bookings only.
type inbox struct {
	mp *mailpit.Client
	w  *mail.Worker
}

// mailFlags are the server flags of a test: a secret (so manage links can
// be recomputed) and Mailpit's SMTP address when there is one.
func mailFlags(t *testing.T) ([]string, *mailpit.Client) {
	t.Helper()
	flags := []string{"-secret-key", "citizen-test-secret"}
	if os.Getenv("MAILPIT_URL") == "" && os.Getenv("TERMIN_REQUIRE_SERVICES") != "1" {
		t.Log("no Mailpit: mails are not checked")
		return flags, nil
	}
	mp := mailpit.FromEnv(t)
	return append(flags, "-smtp-addr", mp.SMTPAddr, "-smtp-tls", "none", "-mail-from", "Stadt Koblenz <termine@koblenz.example>",
		"-public-base-url", "https://termine.koblenz.example"), mp
}

func newInbox(t *testing.T, d *deps, mp *mailpit.Client) *inbox {
	t.Helper()
	if mp == nil {
		return nil
	}
	w, err := newMailWorker(d)
	if err != nil || w == nil {
		t.Fatalf("mail worker: %v", err)
	}
	return &inbox{mp: mp, w: w}
}

// wait runs the mail worker until a mail to addr whose subject contains
// subject has arrived, and returns it.
func (in *inbox) wait(t *testing.T, addr, subject string) *mailpit.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		if _, err := in.w.RunOnce(ctx); err != nil {
			t.Log("mail worker:", err)
		}
		msgs, err := in.mp.Search(ctx, `to:"`+addr+`"`)
		if err == nil {
			for _, m := range msgs {
				if strings.Contains(m.Subject, subject) {
					full, err := in.mp.Message(ctx, m.ID)
					if err != nil {
						t.Fatal(err)
					}
					return full
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no mail %q to %s (have %d: %v)", subject, addr, len(msgs), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// calendarEvent returns the VEVENT of a mail's .ics attachment.
func (in *inbox) calendarEvent(t *testing.T, m *mailpit.Message) *mail.ICSComponent {
	t.Helper()
	for _, a := range m.Attachments {
		if strings.HasPrefix(a.ContentType, "text/calendar") {
			data, err := in.mp.Part(context.Background(), m.ID, a.PartID)
			if err != nil {
				t.Fatal(err)
			}
			cal, err := mail.ParseICS(data)
			if err != nil {
				t.Fatalf("ics: %v\n%s", err, data)
			}
			if evs := cal.Find("VEVENT"); len(evs) == 1 {
				return evs[0]
			}
			t.Fatalf("ics without one VEVENT:\n%s", data)
		}
	}
	t.Fatalf("mail %q has no .ics", m.Subject)
	return nil
}

// uniqueAddress keeps the tests' mails apart in a shared Mailpit.
func uniqueAddress(name string) string {
	return fmt.Sprintf("%s.%d@example.org", name, time.Now().UnixNano())
}

// startCitizenServer runs the server on the demo city (edited by city)
// with a secret and, when there is one, Mailpit.
func startCitizenServer(t *testing.T, city func([]byte) []byte, flags ...string) (*testServer, *inbox) {
	t.Helper()
	mf, mp := mailFlags(t)
	rdb := servicetest.Redis(t)
	s := launch(t, serverSetup{
		dbURL: servicetest.DatabaseURL(t, components...), redisAddrs: []string{rdb.Options().Addr},
		pool: "stadtbad", rdb: rdb, flags: append(mf, flags...), city: city,
	})
	return s, newInbox(t, s.deps, mp)
}

type bookingOut struct {
	Code        string
	Status      string
	ManageToken string `json:"manage_token"`
	Start, End  time.Time
	Service     string
	Units       int
	Items       []struct {
		Service string
		Count   int
	}
	Phone, Lang        string
	ActivationDeadline *time.Time `json:"activation_deadline"`
	PreviousStart      *time.Time `json:"previous_start"`
	QR                 string
}

func (s *testServer) hold(t *testing.T, body string) (id string, end time.Time) {
	t.Helper()
	res := s.do(t, "POST", "/api/v1/holds", body)
	if res.Status != 201 {
		t.Fatalf("hold %s: %d %s", body, res.Status, res.Body)
	}
	var h struct {
		ID  string
		End time.Time
	}
	res.decode(t, &h)
	return h.ID, h.End
}

func (s *testServer) book(t *testing.T, body string) bookingOut {
	t.Helper()
	res := s.do(t, "POST", "/api/v1/bookings", body)
	if res.Status != 201 {
		t.Fatalf("booking %s: %d %s", body, res.Status, res.Body)
	}
	var b bookingOut
	res.decode(t, &b)
	return b
}

func (s *testServer) manage(t *testing.T, method, code, token, path, body string) (int, bookingOut, []byte) {
	t.Helper()
	res := s.do(t, method, "/api/v1/bookings/"+code+path, body, "Authorization", "Bearer "+token)
	var b bookingOut
	if res.Status == 200 {
		res.decode(t, &b)
	}
	return res.Status, b, res.Body
}

var berlinZone, _ = time.LoadLocation("Europe/Berlin")

func at(day, hhmm string) string {
	v, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, berlinZone)
	if err != nil {
		panic(err)
	}
	return v.UTC().Format(time.RFC3339)
}

// TestTwoServicesInOneAppointmentAndReschedule: Personalausweis and
// Reisepass at one desk for 50 minutes, the calendar and availability for
// exactly that choice, then a reschedule that keeps code and token and
// frees the old time; the mails carry one calendar UID.
func TestTwoServicesInOneAppointmentAndReschedule(t *testing.T) {
	s, in := startCitizenServer(t, nil)
	s.clockAt(time.Date(2030, time.January, 7, 7, 0, 0, 0, berlinZone)) // a Monday, before opening
	choice := "location=" + office + "&services=personalausweis&services=reisepass"

	var cal struct {
		Days []struct {
			Day  string
			Free int
		}
		Next *struct{ Start, End time.Time }
	}
	res := s.do(t, "GET", "/api/v1/calendar?"+choice+"&from=2030-01-07&to=2030-01-13", "")
	res.decode(t, &cal)
	if res.Status != 200 || len(cal.Days) != 5 || cal.Days[0].Day != "2030-01-07" || cal.Next == nil ||
		cal.Next.Start.Format(time.RFC3339) != at("2030-01-07", "08:00") || cal.Next.End.Sub(cal.Next.Start) != 50*time.Minute {
		t.Fatalf("calendar: %d %s", res.Status, res.Body)
	}
	// Thursday has the afternoon too; the morning's last start leaves 50 minutes.
	var av struct{ Slots []booking.Slot }
	s.do(t, "GET", "/api/v1/availability?"+choice+"&from=2030-01-07", "").decode(t, &av)
	if n := len(av.Slots); n == 0 || av.Slots[n-1].Start.Format(time.RFC3339) != at("2030-01-07", "11:10") || av.Slots[0].Free != 4 {
		t.Fatalf("availability: %+v", av.Slots)
	}

	addr := uniqueAddress("anna")
	hold, end := s.hold(t, `{"location":"`+office+`","services":["personalausweis","reisepass"],"start":"`+at("2030-01-07", "09:00")+`"}`)
	if end.Format(time.RFC3339) != at("2030-01-07", "09:50") {
		t.Fatalf("hold ends %s", end)
	}
	// Bad contact fields are refused and leave the hold usable.
	for _, bad := range []struct{ fields, code string }{
		{`"phone":"call me"`, "phone_invalid"},
		{`"lang":"fr"`, "lang_invalid"},
	} {
		res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Anna Beispiel","email":"`+addr+`",`+bad.fields+`}`)
		if res.Status != 422 || errorCode(t, res) != bad.code {
			t.Fatalf("%s: %d %s", bad.fields, res.Status, res.Body)
		}
	}
	b := s.book(t, `{"hold":"`+hold+`","name":"Anna Beispiel","email":"`+addr+`","phone":"+49 261 1234-56","lang":"en"}`)
	if b.Status != booking.StatusConfirmed || len(b.Items) != 2 || b.Items[1].Service != "reisepass" || b.Units != 1 ||
		b.Phone != "+49 261 1234-56" || b.Lang != "en" || b.QR == "" {
		t.Fatalf("booking: %+v", b)
	}

	// The confirmation goes out before the move: its .ics has SEQUENCE 0.
	var confirmed *mailpit.Message
	if in != nil {
		confirmed = in.wait(t, addr, "Booking confirmed "+b.Code)
	}

	// Another choice cannot take this booking's place.
	other, _ := s.hold(t, `{"location":"`+office+`","service":"personalausweis","start":"`+at("2030-01-07", "10:00")+`"}`)
	if st, _, body := s.manage(t, "POST", b.Code, b.ManageToken, "/reschedule", `{"hold":"`+other+`"}`); st != 409 || !bytes.Contains(body, []byte("not_reschedulable")) {
		t.Fatalf("reschedule to another choice: %d %s", st, body)
	}
	next, _ := s.hold(t, `{"location":"`+office+`","services":["personalausweis","reisepass"],"start":"`+at("2030-01-08", "10:00")+`"}`)
	st, moved, body := s.manage(t, "POST", b.Code, b.ManageToken, "/reschedule", `{"hold":"`+next+`"}`)
	if st != 200 || moved.Code != b.Code || moved.Start.Format(time.RFC3339) != at("2030-01-08", "10:00") ||
		moved.PreviousStart == nil || moved.PreviousStart.Format(time.RFC3339) != at("2030-01-07", "09:00") {
		t.Fatalf("reschedule: %d %s", st, body)
	}
	if st, got, _ := s.manage(t, "GET", b.Code, b.ManageToken, "", ""); st != 200 || !got.Start.Equal(moved.Start) {
		t.Fatalf("token after reschedule: %d %+v", st, got)
	}
	// The old time is free again: all four desks.
	s.do(t, "GET", "/api/v1/availability?"+choice+"&from=2030-01-07", "").decode(t, &av)
	for _, sl := range av.Slots {
		if sl.Start.Format(time.RFC3339) == at("2030-01-07", "09:00") && sl.Free != 4 {
			t.Fatalf("old time after reschedule: %+v", sl)
		}
	}

	if in == nil {
		return
	}
	movedMail := in.wait(t, addr, "Booking moved "+b.Code)
	if !strings.Contains(confirmed.Text, "Reisepass") || !strings.Contains(confirmed.Text, "Bahnhofstraße 47") ||
		!strings.Contains(confirmed.Text, "biometric passport photo") {
		t.Fatalf("confirmation text:\n%s", confirmed.Text)
	}
	first, second := in.calendarEvent(t, confirmed), in.calendarEvent(t, movedMail)
	if first.Value("UID") == "" || first.Value("UID") != second.Value("UID") || first.Value("SEQUENCE") != "0" || second.Value("SEQUENCE") != "1" {
		t.Fatalf("ics UID %s/%s SEQUENCE %s/%s", first.Value("UID"), second.Value("UID"), first.Value("SEQUENCE"), second.Value("SEQUENCE"))
	}
}

// TestActivationAtALocationWithDoubleOptIn: a booking waits for the
// button behind the mail's link; one that nobody confirms is released by
// the sweep the server runs.
func TestActivationAtALocationWithDoubleOptIn(t *testing.T) {
	optIn := func(city []byte) []byte {
		return bytes.Replace(city, []byte(`"slot_minutes": 5,`), []byte(`"slot_minutes": 5, "activation_minutes": 30,`), 1)
	}
	s, in := startCitizenServer(t, optIn, "-activation-sweep", "20ms")
	now := time.Date(2030, time.January, 7, 7, 0, 0, 0, berlinZone)
	s.clockAt(now)

	addr, late := uniqueAddress("berta"), uniqueAddress("carl")
	hold, _ := s.hold(t, `{"location":"`+office+`","service":"meldebescheinigung","start":"`+at("2030-01-07", "09:00")+`"}`)
	b := s.book(t, `{"hold":"`+hold+`","name":"Berta Beispiel","email":"`+addr+`"}`)
	if b.Status != booking.StatusPendingActivation || b.ActivationDeadline == nil || !b.ActivationDeadline.Equal(now.Add(30*time.Minute)) || b.QR != "" {
		t.Fatalf("booking at an opt-in location: %+v", b)
	}
	// The request mail goes out while the booking waits (the worker skips
	// a request whose booking is already confirmed).
	if in != nil {
		request := in.wait(t, addr, "Bitte bestätigen Sie Ihre Buchung "+b.Code)
		link := "https://termine.koblenz.example/termin/" + b.Code + "/aktivieren?t=" + b.ManageToken
		if !strings.Contains(request.Text, link) {
			t.Fatalf("activation mail without its link %s:\n%s", link, request.Text)
		}
	}
	for range 2 { // activating twice is fine
		if st, got, body := s.manage(t, "POST", b.Code, b.ManageToken, "/activate", ""); st != 200 || got.Status != booking.StatusConfirmed || got.QR == "" {
			t.Fatalf("activate: %d %s", st, body)
		}
	}
	if st, _, _ := s.manage(t, "POST", b.Code, "wrong-token", "/activate", ""); st != 404 {
		t.Fatalf("activate with a wrong token: %d", st)
	}

	hold, _ = s.hold(t, `{"location":"`+office+`","service":"meldebescheinigung","start":"`+at("2030-01-07", "09:10")+`"}`)
	c := s.book(t, `{"hold":"`+hold+`","name":"Carl Beispiel","email":"`+late+`"}`)
	if in != nil {
		in.wait(t, late, "Bitte bestätigen Sie Ihre Buchung "+c.Code)
	}
	s.clockAt(now.Add(31 * time.Minute))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sweepActivations(ctx, s.deps) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, got, _ := s.manage(t, "GET", c.Code, c.ManageToken, "", "")
		if got.Status == booking.StatusCancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not released by the sweep: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
	if st, _, body := s.manage(t, "POST", c.Code, c.ManageToken, "/activate", ""); st != 409 || !bytes.Contains(body, []byte("not_activatable")) {
		t.Fatalf("activate after the deadline: %d %s", st, body)
	}

	if in == nil {
		return
	}
	in.wait(t, addr, "Terminbestätigung "+b.Code)
	in.wait(t, late, "Buchung nicht bestätigt und freigegeben "+c.Code)
}

// TestFindMyBooking: the manage link is mailed again for the right code
// and address; every request gets the same answer, and the route is rate
// limited.
func TestFindMyBooking(t *testing.T) {
	s, in := startCitizenServer(t, nil, "-rate-limit", "0.01", "-rate-burst", "3")
	s.clockAt(time.Date(2030, time.January, 7, 7, 0, 0, 0, berlinZone))
	addr := uniqueAddress("dora")
	hold, _ := s.hold(t, `{"location":"`+office+`","service":"wohnsitz-anmelden","start":"`+at("2030-01-09", "08:30")+`"}`)
	b := s.book(t, `{"hold":"`+hold+`","name":"Dora Beispiel","email":"`+addr+`"}`)

	var answers []string
	for _, body := range []string{
		`{"code":"` + strings.ToLower(b.Code) + `","email":"` + strings.ToUpper(addr) + `","lang":"en"}`,
		`{"code":"ZZZZZZZZ","email":"` + addr + `"}`,
		`{"code":"` + b.Code + `","email":"someone.else@example.org"}`,
	} {
		res := s.do(t, "POST", "/api/v1/manage-links", body)
		if res.Status != 202 {
			t.Fatalf("%s: %d %s", body, res.Status, res.Body)
		}
		answers = append(answers, string(res.Body))
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Fatalf("answers tell bookings apart: %q", answers)
	}
	if res := s.do(t, "POST", "/api/v1/manage-links", `{"code":"`+b.Code+`","email":"`+addr+`"}`); res.Status != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s", res.Status, res.Body)
	}

	if in == nil {
		return
	}
	m := in.wait(t, addr, "Your link to booking "+b.Code)
	token := regexp.MustCompile(`/termin/` + b.Code + `\?t=([A-Za-z0-9_-]+)`).FindStringSubmatch(m.Text)
	if token == nil {
		t.Fatalf("no manage link in:\n%s", m.Text)
	}
	if token[1] != b.ManageToken {
		t.Fatal("the mailed token is not the booking's manage token")
	}
	if st, got, _ := s.manage(t, "GET", b.Code, token[1], "", ""); st != 200 || got.Code != b.Code {
		t.Fatalf("mailed token: %d", st)
	}
	// One link mail: the wrong pairs sent nothing.
	if msgs, _ := in.mp.Search(context.Background(), `to:"someone.else@example.org" subject:"`+b.Code+`"`); len(msgs) != 0 {
		t.Fatalf("mail to a stranger: %+v", msgs)
	}
}

// TestPoolOrderOfTwoTicketTypesPaid: 2 adults and 1 reduced in one hold,
// one payment of the sum in the simulator, one booking code and one QR
// for 3 persons, and the confirmation mail.
func TestPoolOrderOfTwoTicketTypesPaid(t *testing.T) {
	mf, mp := mailFlags(t)
	s := startPayServer(t, payOptions{platform: "epay21", args: mf})
	in := newInbox(t, s.deps, mp)
	start := s.poolSlot(t)
	hold, _ := s.hold(t, `{"location":"stadtbad","tickets":[{"service":"erwachsene","count":2},{"service":"ermaessigt","count":1}],"start":"`+start+`"}`)
	if free := s.free(t, start); free != 147 {
		t.Fatalf("hold of 3 persons: %d free", free)
	}
	addr := uniqueAddress("emil")
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Emil Beispiel","email":"`+addr+`"}`)
	if res.Status != 201 {
		t.Fatalf("order: %d %s", res.Status, res.Body)
	}
	var b pendingBooking
	res.decode(t, &b)
	if b.Status != booking.StatusPendingPayment || b.Payment.AmountCents != 2*450+250 {
		t.Fatalf("pending order: %s", res.Body)
	}
	s.pay(t, b.Payment.Reference, true)
	st, got, body := s.manage(t, "GET", b.Code, b.ManageToken, "", "")
	if st != 200 || got.Status != booking.StatusConfirmed || got.Units != 3 || len(got.Items) != 2 || got.QR == "" {
		t.Fatalf("paid order: %d %s", st, body)
	}
	claims, _, _, err := booking.ParseTicket(got.QR)
	if err != nil || claims.Units != 3 || len(claims.Tickets) != 2 {
		t.Fatalf("QR claims %+v: %v", claims, err)
	}
	if p := s.payment(t, b.Payment.Reference); p.Units != 3 || p.AmountCents != 1150 {
		t.Fatalf("payment: %+v", p)
	}
	if in == nil {
		return
	}
	m := in.wait(t, addr, "Terminbestätigung "+b.Code)
	if !strings.Contains(m.Text, "Erwachsene") || !strings.Contains(m.Text, "ermäßigt") {
		t.Fatalf("order mail without its tickets:\n%s", m.Text)
	}
}
