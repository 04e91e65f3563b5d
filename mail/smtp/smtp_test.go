package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailpit"
	"github.com/digitale-verwaltung/termin/mail/smtp"
)

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []smtp.Config{
		{Addr: "no-port"},
		{Addr: "localhost:0"},
		{Addr: "localhost:x"},
		{Addr: "localhost:25", TLS: "ssl"},
	} {
		if _, err := smtp.New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := smtp.New(smtp.Config{Addr: "mail.example:587", User: "u", Password: "p"}); err != nil {
		t.Errorf("starttls with auth: %v", err)
	}
}

func message(to string) *mail.Message {
	return &mail.Message{
		ID: fmt.Sprintf("test-%d@koblenz.example", time.Now().UnixNano()), From: "Stadt Koblenz <termine@koblenz.example>",
		To: mail.Address{Name: "Jörg Groß", Email: to}, Subject: "Terminbestätigung: Größe ändern",
		Text: "Grüße\n", HTML: "<p>Grüße</p>",
		Attachments: []mail.Attachment{{Name: "termin.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH", Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}},
	}
}

// Against a Mailpit of its own (chaos changes the whole instance): a sent
// message arrives whole, a 451 is temporary and a 550 a rejection, and no
// error text names the recipient.
func TestSendAgainstMailpit(t *testing.T) {
	mp := mailpit.Start(t)
	ctx := context.Background()
	s, err := smtp.New(smtp.Config{Addr: mp.SMTPAddr, TLS: smtp.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	to := "joerg@example.org"
	if err := s.Send(ctx, message(to)); err != nil {
		t.Fatal(err)
	}
	got, err := mp.WaitFor(ctx, "to:"+to, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mp.Message(ctx, got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Terminbestätigung: Größe ändern" || m.To[0].Name != "Jörg Groß" || strings.TrimSpace(m.Text) != "Grüße" || !strings.Contains(m.HTML, "Grüße") {
		t.Errorf("received %+v", m)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "termin.ics" || !strings.HasPrefix(m.Attachments[0].ContentType, "text/calendar") {
		t.Errorf("attachments %+v", m.Attachments)
	}

	tests := []struct {
		code     int
		rejected bool
	}{
		{451, false},
		{550, true},
	}
	for _, tt := range tests {
		if err := mp.Chaos(ctx, tt.code, 100); err != nil {
			t.Fatal(err)
		}
		err := s.Send(ctx, message(to))
		if err == nil {
			t.Fatalf("%d: sent", tt.code)
		}
		if errors.Is(err, mail.ErrRejected) != tt.rejected {
			t.Errorf("%d: rejected %v, want %v (%v)", tt.code, errors.Is(err, mail.ErrRejected), tt.rejected, err)
		}
		if strings.Contains(err.Error(), "@") {
			t.Errorf("%d: error names an address: %v", tt.code, err)
		}
	}
	if err := mp.Chaos(ctx, 451, 0); err != nil {
		t.Fatal(err)
	}

	// A server without STARTTLS is refused when TLS is required, before
	// anything is sent; so is a password on a plain connection.
	for name, cfg := range map[string]smtp.Config{
		"starttls required": {Addr: mp.SMTPAddr, TLS: smtp.TLSStartTLS, Timeout: 5 * time.Second},
		"password in clear": {Addr: mp.SMTPAddr, TLS: smtp.TLSNone, User: "termin", Password: "secret", Timeout: 5 * time.Second},
	} {
		strict, err := smtp.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := strict.Send(ctx, message("strict@example.org")); err == nil || errors.Is(err, mail.ErrRejected) {
			t.Errorf("%s: %v, want a temporary failure", name, err)
		}
	}
	if got, _ := mp.Search(ctx, "to:strict@example.org"); len(got) != 0 {
		t.Errorf("%d messages went out insecurely", len(got))
	}
}

func TestSendUnreachable(t *testing.T) {
	s, err := smtp.New(smtp.Config{Addr: "127.0.0.1:1", TLS: smtp.TLSNone, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), message("x@example.org"))
	if err == nil || errors.Is(err, mail.ErrRejected) || strings.Contains(err.Error(), "x@example.org") {
		t.Fatalf("unreachable server: %v", err)
	}
}
