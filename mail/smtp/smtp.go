// Package smtp sends the messages of package mail over SMTP with
// github.com/wneessen/go-mail (a maintained client with STARTTLS, implicit
// TLS, SMTP AUTH discovery and SMTP error classification, which net/smtp
// lacks).
package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/digitale-verwaltung/termin/mail"
)

// TLS modes (SMTP_TLS).
const (
	TLSNone     = "none"     // plain SMTP, e.g. Mailpit on loopback
	TLSStartTLS = "starttls" // STARTTLS required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// Config of the sender.
type Config struct {
	// Addr is host:port (SMTP_ADDR).
	Addr string
	// User and Password enable SMTP AUTH (the best mechanism the server
	// offers) when User is set.
	User, Password string
	// TLS is TLSNone, TLSStartTLS (default) or TLSImplicit.
	TLS string
	// Timeout bounds connecting and each command (default 30 s); the
	// context of Send bounds the whole send as well.
	Timeout time.Duration
	// HELO is the name announced to the server (default: this host's).
	HELO string
}

// Sender delivers messages, one SMTP connection per message: sends are
// rare and a held connection would only time out between them.
type Sender struct {
	host string
	opts []gomail.Option
}

// New checks the config.
func New(cfg Config) (*Sender, error) {
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtp address %q: bad port", cfg.Addr)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "", TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("smtp tls %q: want none, starttls or tls", cfg.TLS)
	}
	if cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.User), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	// Check the options once, so a bad config fails at start.
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return &Sender{host: host, opts: opts}, nil
}

// Send delivers one message. A permanent refusal (5xx) wraps
// mail.ErrRejected. Error texts never carry addresses: they end up in
// logs and in the outbox's last_error.
func (s *Sender) Send(ctx context.Context, m *mail.Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

func build(m *mail.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("%w: sender address: %v", mail.ErrRejected, redact(err.Error()))
	}
	if err := msg.AddToFormat(m.To.Name, m.To.Email); err != nil {
		return nil, fmt.Errorf("%w: recipient address: %v", mail.ErrRejected, redact(err.Error()))
	}
	msg.Subject(m.Subject)
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	// Automatic mail: no out-of-office answers (RFC 3834).
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// classify turns a go-mail error into one without addresses, wrapping
// mail.ErrRejected for a permanent SMTP refusal.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		text := fmt.Sprintf("smtp: %s (code %d %s)", se.Reason, code, se.EnhancedStatusCode())
		if !se.IsTemp() && code >= 500 && code < 600 {
			return fmt.Errorf("%w: %s", mail.ErrRejected, text)
		}
		return errors.New(text)
	}
	return fmt.Errorf("smtp: %s", redact(err.Error()))
}

var addressPattern = regexp.MustCompile(`[^\s<>"',;:]+@[^\s<>"',;:]+`)

// redact replaces e-mail addresses in an error text.
func redact(s string) string { return addressPattern.ReplaceAllString(s, "<address>") }
