package main

import (
	"context"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/internal/mailwire"
	"github.com/digitale-verwaltung/termin/mail"
	mailsmtp "github.com/digitale-verwaltung/termin/mail/smtp"
)

// mailSource gives the mail worker (and the confirmation page's .ics) the
// booking events and the data of each message.
func (d *deps) mailSource() mailwire.BookingMail {
	return mailwire.BookingMail{Store: d.pg, Engine: d.engine}
}

// newMailWorker builds the outbox worker that sends the citizens' mails;
// nil when SMTP_ADDR is empty (the events then wait in the outbox).
func newMailWorker(d *deps) (*mail.Worker, error) {
	mc := d.cfg.Mail
	if mc.Addr == "" {
		return nil, nil
	}
	password, err := mc.SMTPPassword()
	if err != nil {
		return nil, err
	}
	sender, err := mailsmtp.New(mailsmtp.Config{Addr: mc.Addr, User: mc.User, Password: password, TLS: mc.TLS})
	if err != nil {
		return nil, fmt.Errorf("SMTP_ADDR: %w", err)
	}
	src := d.mailSource()
	// The worker reads the engine's clock, which dates the events: one
	// clock for the whole server (tests move it).
	now := func() time.Time { return d.engine.Now() }
	w, err := mail.NewWorker(src, src, sender, mail.Config{From: mc.From, BaseURL: d.cfg.PublicBaseURL(), Now: now}, d.log)
	if err != nil {
		return nil, fmt.Errorf("MAIL_FROM or PUBLIC_BASE_URL: %w", err)
	}
	return w, nil
}

// startMail runs the mail worker on this replica until the workers stop;
// the events' leases keep the replicas from sending a mail twice.
func startMail(d *deps, running *workers) error {
	w, err := newMailWorker(d)
	if err != nil {
		return err
	}
	if w == nil {
		d.log.Warn("SMTP_ADDR not set: mail is off; booking mails wait in the outbox")
		return nil
	}
	if d.cfg.ManageKey() == nil {
		d.log.Warn("SECRET_KEY is not set: mails cannot carry manage or activation links")
	}
	d.log.Info("mail on", "smtp", d.cfg.Mail.Addr)
	running.every("mail", d.cfg.Mail.Every, func(ctx context.Context) bool {
		n, err := w.RunOnce(ctx)
		if err != nil {
			d.log.Warn("mail outbox", "err", err)
			return false
		}
		return n > 0
	})
	return nil
}

// sweepActivations releases bookings not activated in time; every
// replica runs it every ACTIVATION_SWEEP: the sweep skips rows another
// replica has locked.
func sweepActivations(ctx context.Context, d *deps) {
	n, err := d.engine.ExpireActivations(ctx)
	switch {
	case err != nil:
		d.log.Warn("activation sweep", "err", err)
	case n > 0:
		d.log.Info("released bookings not activated in time", "count", n)
	}
}

// calendarComposer builds the composer of the mails' .ics, for the
// confirmation page's download (byte-identical to the attachment).
func (d *deps) calendarComposer() (*mail.Composer, error) {
	return mail.NewComposer(d.cfg.Mail.From, d.cfg.PublicBaseURL())
}
