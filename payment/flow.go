package payment

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// Flow ties bookings to payments: it books a pending booking with its
// payment row, creates the payment at the platform, verifies the outcome
// with the platform and confirms, expires or refunds. Every decision rests
// on a status query to the platform, never on what a browser or a push
// claims. Flow keeps no state of its own; replicas share PostgreSQL.
type Flow struct {
	Engine   *booking.Engine
	Store    *Store
	Platform Platform
	// PlatformName is recorded with each payment ("epay21", ...).
	PlatformName string
	Scheme       KassenzeichenScheme
	// PublicURL is where citizens reach this server; return URLs hang
	// off it.
	PublicURL string
	// Timeout is how long a pending booking waits for its payment.
	Timeout time.Duration
	// LateGrace is how long after Timeout the platform is still asked, so
	// a payment completed late is noticed and booked again or refunded.
	LateGrace time.Duration
	// FreeCancelBefore: a paid booking cancelled at least this long before
	// its start is refunded.
	FreeCancelBefore time.Duration
	// PollInterval is the first gap between status queries of an open
	// payment; gaps grow with the payment's age up to MaxPollInterval.
	PollInterval, MaxPollInterval time.Duration
	// HTTPPostings adds an HTTP delivery job for every posting (a treasury
	// endpoint is configured).
	HTTPPostings bool
	Now          func() time.Time
	Log          *slog.Logger
	// Zone is where value and booking dates are counted (Europe/Berlin).
	Zone *time.Location
}

// Outcomes of the flow that callers map to answers.
var (
	// ErrStartFailed wraps the platform's error when a payment could not be
	// created; the pending booking has been cancelled again.
	ErrStartFailed = errors.New("payment could not be started")
	// ErrTampered reports a platform answer whose amount, currency or
	// reference do not match our payment; nothing was changed.
	ErrTampered = errors.New("platform answer does not match the payment")
	// errHandled aborts a transaction whose work another process did first.
	errHandled = errors.New("payment handled meanwhile")
)

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Flow) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

func (f *Flow) zone() *time.Location {
	if f.Zone != nil {
		return f.Zone
	}
	return time.UTC
}

// NewReference returns a fresh payment reference: "TRM" and 16 Crockford
// base32 characters (80 bits), short enough for the SEPA purpose line and
// not guessable, since it appears in the public return URL.
func NewReference() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return "TRM" + string(b)
}

// ReturnURL is where the platform sends the citizen back for a payment.
func (f *Flow) ReturnURL(reference string) string {
	return strings.TrimRight(f.PublicURL, "/") + "/api/v1/payments/" + url.PathEscape(reference) + "/return"
}

// Book turns a hold for a fee-paying service into a pending booking with a
// payment, then registers the payment at the platform. On a platform
// failure the pending booking is cancelled (its units freed) and the error
// wraps ErrStartFailed and the platform's ErrUnavailable or ErrRejected.
func (f *Flow) Book(ctx context.Context, holdID string, c booking.Contact, svc *booking.Service) (*booking.Confirmation, *Payment, error) {
	now := f.now().UTC()
	acc, err := accountingOf(ctx, f.Store.db, svc.ID)
	if err != nil {
		return nil, nil, err
	}
	p := &Payment{ServiceID: svc.ID, Currency: "EUR", Platform: f.PlatformName, State: StateCreated,
		Reference: NewReference(), Deadline: now.Add(f.Timeout)}
	conf, err := f.Engine.Book(ctx, holdID, c, booking.BookOptions{
		Status: booking.StatusPendingPayment,
		InTx: func(tx *sqlx.Tx, b *booking.Booking) error {
			var n int64
			if err := tx.GetContext(ctx, &n, `SELECT nextval('kassenzeichen_seq')`); err != nil {
				return fmt.Errorf("draw Kassenzeichen: %w", err)
			}
			kz, err := f.Scheme.Format(n)
			if err != nil {
				return err
			}
			p.Kassenzeichen, p.BookingID, p.FirstBookingID, p.BookingCode = kz, b.ID, b.ID, b.Code
			p.Units = len(b.Units)
			p.AmountCents = svc.FeeCents * int64(p.Units)
			return tx.GetContext(ctx, p, `
				INSERT INTO payments (reference, kassenzeichen, booking_id, first_booking_id, service_id, units, amount_cents,
					currency, platform, state, deadline, poll_until, next_poll_at, created_at, updated_at)
				VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, 'created', $9, $10, $11, $12, $12)
				RETURNING id, created_at, updated_at, poll_until, next_poll_at`,
				p.Reference, p.Kassenzeichen, b.ID, svc.ID, p.Units, p.AmountCents, p.Currency, p.Platform,
				p.Deadline, p.Deadline.Add(f.LateGrace), now.Add(f.PollInterval), now)
		},
	})
	if err != nil {
		return nil, nil, err
	}
	b := conf.Booking
	start := b.Start.In(f.zone())
	created, err := f.Platform.Create(ctx, CreateRequest{
		Reference:     p.Reference,
		Kassenzeichen: p.Kassenzeichen,
		Purpose:       SanitizePurpose(p.Kassenzeichen + " " + svc.Name),
		Description:   fmt.Sprintf("%s, %d x, %s", svc.Name, p.Units, start.Format("02.01.2006 15:04")),
		AmountCents:   p.AmountCents,
		Currency:      p.Currency,
		ReturnURL:     f.ReturnURL(p.Reference),
		CancelURL:     f.ReturnURL(p.Reference) + "?cancelled=1",
		Timeout:       f.Timeout,
		BookingData: map[string]string{
			"Kassenzeichen": p.Kassenzeichen, "Haushaltsstelle": acc.Haushaltsstelle, "Produkt": acc.Produkt,
			"Sachkonto": acc.Sachkonto, "Kostenstelle": acc.Kostenstelle,
		},
	})
	// The rest must happen even when the citizen's request goes away.
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		f.log().WarnContext(ctx, "payment create failed; cancelling pending booking", "reference", p.Reference, "err", err)
		if xerr := f.finish(ctx, p.Reference, StateFailed, "platform create failed"); xerr != nil {
			f.log().ErrorContext(ctx, "cancel pending booking after failed create", "reference", p.Reference, "err", xerr)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	if err := f.Store.RecordInbox(ctx, nil, p.ID, "create", "", true, created.Raw); err != nil {
		f.log().WarnContext(ctx, "record create answer", "err", err)
	}
	if _, err := f.Store.db.ExecContext(ctx, `UPDATE payments SET state = 'initiated', platform_id = $2, pay_url = $3, updated_at = $4
		WHERE id = $1 AND state = 'created'`, p.ID, created.PlatformID, created.PayURL, f.now().UTC()); err != nil {
		// The sweeper finds the payment by reference and carries on.
		f.log().ErrorContext(ctx, "store platform id", "reference", p.Reference, "err", err)
	}
	p.State, p.PlatformID, p.PayURL = StateInitiated, created.PlatformID, created.PayURL
	return conf, p, nil
}

// Check asks the platform for the payment's state and acts on the answer:
// confirms the booking once the money is verified, expires it after the
// deadline, records a cancelled or failed payment. Safe to call any number
// of times from any replica (return hits, pushes, the sweeper).
func (f *Flow) Check(ctx context.Context, reference string) (*Payment, error) {
	p, err := f.Store.PaymentByReference(ctx, nil, reference)
	if err != nil {
		return nil, err
	}
	if p.State == StateConfirmed || p.State == StateRefunded || p.State == StatePaid {
		return p, nil // money verified before; nothing the platform says changes that here
	}
	rep, err := f.Platform.Status(ctx, Ref{PlatformID: p.PlatformID, Reference: p.Reference})
	if err != nil {
		if errors.Is(err, ErrNotFound) && p.State == StateCreated && f.now().After(p.Deadline) {
			// The create never reached the platform.
			return f.reload(ctx, p, f.finish(ctx, p.Reference, StateExpired, "never registered at the platform"))
		}
		return p, fmt.Errorf("status of %s: %w", reference, err)
	}
	if err := f.Store.RecordInbox(ctx, nil, p.ID, "status", "", true, rep.Raw); err != nil {
		return p, err
	}
	if err := matches(p, rep); err != nil {
		f.log().WarnContext(ctx, "platform status rejected", "reference", reference, "err", err)
		return p, err
	}
	switch {
	case rep.State.Settled():
		err = f.settle(ctx, p, rep)
	case rep.State == StateCreated || rep.State == StateInitiated:
		if f.now().After(p.Deadline) {
			err = f.finish(ctx, p.Reference, StateExpired, "not paid in time")
		}
	default:
		err = f.finish(ctx, p.Reference, rep.State, "platform reports "+rep.PlatformState)
	}
	return f.reload(ctx, p, err)
}

func (f *Flow) reload(ctx context.Context, p *Payment, err error) (*Payment, error) {
	if err != nil {
		return p, err
	}
	return f.Store.PaymentByReference(ctx, nil, p.Reference)
}

// matches checks a status report against our payment: the platform must
// name the same payment and, once money moved, the same amount and
// currency. A mismatch is a tampered or confused answer and changes
// nothing.
func matches(p *Payment, rep StatusReport) error {
	switch {
	case rep.Reference != "" && rep.Reference != p.Reference:
		return fmt.Errorf("%w: reference %q", ErrTampered, rep.Reference)
	case rep.PlatformID != "" && p.PlatformID != "" && rep.PlatformID != p.PlatformID:
		return fmt.Errorf("%w: platform id %q", ErrTampered, rep.PlatformID)
	case rep.State.Settled() && rep.AmountCents != p.AmountCents:
		return fmt.Errorf("%w: amount %d, expected %d", ErrTampered, rep.AmountCents, p.AmountCents)
	case rep.State.Settled() && rep.Currency != p.Currency:
		return fmt.Errorf("%w: currency %q", ErrTampered, rep.Currency)
	}
	return nil
}

// settle records verified money: the pending booking is confirmed with its
// posting and outbox rows in one transaction; money that arrives after the
// booking expired books the slot again or is refunded.
func (f *Flow) settle(ctx context.Context, p *Payment, rep StatusReport) error {
	late := false
	err := f.Store.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := f.Store.PaymentByReference(ctx, tx, p.Reference)
		if err != nil {
			return err
		}
		switch cur.State {
		case StatePaid, StateConfirmed, StateRefunded:
			return nil // confirmed before, by another request or replica
		case StateCreated, StateInitiated:
			b, err := f.Engine.ConfirmPendingTx(ctx, tx, cur.BookingID)
			if errors.Is(err, booking.ErrNotPending) {
				late = true
				return nil
			}
			if err != nil {
				return err
			}
			return f.recordPaid(ctx, tx, cur, b, rep, "")
		case StateExpired:
			late = true
			return nil
		default: // cancelled or failed on our side, yet the money came
			return f.recordPaidAndRefund(ctx, tx, cur, rep, "paid after the booking was cancelled; refunded automatically")
		}
	})
	if err != nil || !late {
		return err
	}
	return f.rebook(ctx, p, rep)
}

// rebook books the expired booking's slot again for a late payment, or
// refunds it when the slot is gone.
func (f *Flow) rebook(ctx context.Context, p *Payment, rep StatusReport) error {
	old, err := f.Engine.BookingByID(ctx, nil, p.FirstBookingID)
	if err != nil {
		return err
	}
	why := ""
	hold, err := f.Engine.PlaceHold(ctx, old.LocationID, old.ServiceID, old.Start, len(old.Units))
	if err == nil {
		_, err = f.Engine.Book(ctx, hold.ID, booking.Contact{Name: old.Name, Email: old.Email}, booking.BookOptions{
			InTx: func(tx *sqlx.Tx, b *booking.Booking) error {
				cur, err := f.Store.PaymentByReference(ctx, tx, p.Reference)
				if err != nil {
					return err
				}
				if cur.State != StateExpired {
					return errHandled
				}
				// The citizen keeps managing the booking with the token
				// they were given.
				if _, err := tx.ExecContext(ctx, `UPDATE bookings SET manage_token_hash = (SELECT manage_token_hash FROM bookings WHERE id = $1) WHERE id = $2`,
					old.ID, b.ID); err != nil {
					return fmt.Errorf("carry manage token: %w", err)
				}
				return f.recordPaid(ctx, tx, cur, b, rep, "paid after the reservation expired; booked again as "+b.Code)
			},
		})
		if err == nil {
			f.log().InfoContext(ctx, "late payment booked again", "reference", p.Reference)
			return nil
		}
		if rerr := f.Engine.ReleaseHold(ctx, hold.ID); rerr != nil {
			f.log().WarnContext(ctx, "release rebooking hold", "err", rerr)
		}
		if errors.Is(err, errHandled) {
			return nil
		}
	}
	switch {
	case errors.Is(err, booking.ErrSlotFull):
		why = "slot fully booked meanwhile"
	case errors.Is(err, booking.ErrSlotPast):
		why = "slot already started"
	case errors.Is(err, booking.ErrUnavailable):
		return err // try again on the next check
	default:
		why = "slot could not be booked again (" + err.Error() + ")"
	}
	f.log().InfoContext(ctx, "late payment refunded", "reference", p.Reference, "why", why)
	return f.Store.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := f.Store.PaymentByReference(ctx, tx, p.Reference)
		if err != nil {
			return err
		}
		if cur.State != StateExpired {
			return nil
		}
		return f.recordPaidAndRefund(ctx, tx, cur, rep, "paid after the reservation expired; "+why+"; refunded automatically")
	})
}

// recordPaid marks the payment paid for booking b and writes the posting
// and the outbox rows (posting deliveries, confirmation at the platform).
func (f *Flow) recordPaid(ctx context.Context, tx *sqlx.Tx, p *Payment, b *booking.Booking, rep StatusReport, note string) error {
	paidAt := rep.PaidAt
	if paidAt.IsZero() {
		paidAt = f.now()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'paid', method = $2, paid_at = $3, booking_id = $4,
		note = $5, updated_at = $6 WHERE id = $1`, p.ID, string(rep.Method), paidAt.UTC(), b.ID, note, f.now().UTC()); err != nil {
		return fmt.Errorf("mark payment paid: %w", err)
	}
	p.Method, p.BookingCode, p.PaidAt = string(rep.Method), b.Code, &paidAt
	if _, err := f.post(ctx, tx, p, 0); err != nil {
		return err
	}
	return f.enqueue(ctx, tx, "platform_confirm", p.ID, 0, 0, string(OutcomeConfirm))
}

// recordPaidAndRefund posts money that arrived for a booking we no longer
// hold and queues its refund; the Storno follows when the platform has paid
// it back.
func (f *Flow) recordPaidAndRefund(ctx context.Context, tx *sqlx.Tx, p *Payment, rep StatusReport, note string) error {
	paidAt := rep.PaidAt
	if paidAt.IsZero() {
		paidAt = f.now()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'paid', method = $2, paid_at = $3, note = $4, updated_at = $5
		WHERE id = $1`, p.ID, string(rep.Method), paidAt.UTC(), note, f.now().UTC()); err != nil {
		return fmt.Errorf("mark payment paid: %w", err)
	}
	p.Method, p.PaidAt = string(rep.Method), &paidAt
	if _, err := f.post(ctx, tx, p, 0); err != nil {
		return err
	}
	return f.enqueue(ctx, tx, "refund", p.ID, 0, p.AmountCents-p.RefundedCents, note)
}

// post writes a posting for p (reverses == 0) or a Storno of posting
// reverses, and queues its deliveries.
func (f *Flow) post(ctx context.Context, tx *sqlx.Tx, p *Payment, reverses int64) (int64, error) {
	acc, err := accountingOf(ctx, tx, p.ServiceID)
	if err != nil {
		return 0, err
	}
	kind, amount, postingID := "payment", p.AmountCents, "B-"+p.Kassenzeichen
	valueDate := f.now()
	if p.PaidAt != nil {
		valueDate = *p.PaidAt
	}
	var rev any
	if reverses != 0 {
		kind, amount, postingID, rev, valueDate = "storno", -p.RefundedCents, "S-"+p.Kassenzeichen, reverses, f.now()
	}
	text := acc.BookingText
	if text == "" {
		text = p.ServiceID
	}
	var id int64
	err = tx.GetContext(ctx, &id, `
		INSERT INTO postings (posting_id, kind, reverses, payment_id, kassenzeichen, amount_cents, currency, value_date,
			booking_date, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text, payment_method, platform,
			platform_id, payment_reference, booking_code, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		RETURNING id`,
		postingID, kind, rev, p.ID, p.Kassenzeichen, amount, p.Currency, valueDate.In(f.zone()).Format(time.DateOnly),
		f.now().In(f.zone()).Format(time.DateOnly), acc.Haushaltsstelle, acc.Produkt, acc.Sachkonto, acc.Kostenstelle,
		bookingText(text+" "+p.BookingCode), p.Method, p.Platform, p.PlatformID, p.Reference, p.BookingCode, f.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("write posting %s: %w", postingID, err)
	}
	if err := f.enqueue(ctx, tx, "posting_file", p.ID, id, amount, ""); err != nil {
		return 0, err
	}
	if f.HTTPPostings {
		if err := f.enqueue(ctx, tx, "posting_http", p.ID, id, amount, ""); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (f *Flow) enqueue(ctx context.Context, tx *sqlx.Tx, kind string, paymentID, postingID, amount int64, reason string) error {
	var pid any
	if postingID != 0 {
		pid = postingID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment_outbox (kind, payment_id, posting_id, amount_cents, reason, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, kind, paymentID, pid, amount, reason, f.now().UTC()); err != nil {
		return fmt.Errorf("queue %s: %w", kind, err)
	}
	return nil
}

// finish ends an open payment without money: the pending booking is
// cancelled (its units freed) and the payment takes state st. A payment
// that has moved on meanwhile is left alone. An expired payment that the
// platform later reports closed stops being polled.
func (f *Flow) finish(ctx context.Context, reference string, st State, note string) error {
	var freed *booking.Booking
	err := f.Store.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := f.Store.PaymentByReference(ctx, tx, reference)
		if err != nil {
			return err
		}
		now := f.now().UTC()
		if cur.State == StateExpired || cur.State == StateCancelled {
			// Ours ended before; the platform now agrees it is closed.
			_, err := tx.ExecContext(ctx, `UPDATE payments SET poll_until = $2, updated_at = $2 WHERE id = $1`, cur.ID, now)
			return err
		}
		if cur.State != StateCreated && cur.State != StateInitiated {
			return nil
		}
		b, err := f.Engine.ExpirePendingTx(ctx, tx, cur.BookingID)
		if err != nil && !errors.Is(err, booking.ErrNotPending) {
			return err
		}
		freed = b
		pollUntil := cur.PollUntil
		if st != StateExpired {
			pollUntil = now // the platform says it is over
		}
		_, err = tx.ExecContext(ctx, `UPDATE payments SET state = $2, note = $3, poll_until = $4, updated_at = $5 WHERE id = $1`,
			cur.ID, string(st), note, pollUntil, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("end payment %s: %w", reference, err)
	}
	if freed != nil {
		f.Engine.FreeUnits(ctx, freed)
		f.log().InfoContext(ctx, "pending booking released", "reference", reference, "state", string(st))
	}
	return nil
}

// OnCancel returns the hook for booking.Engine.Cancel: in the cancelling
// transaction, an open payment is cancelled (and cancelled at the platform
// through the outbox); a paid one is refunded through the outbox when the
// booking is cancelled early enough.
func (f *Flow) OnCancel(ctx context.Context, b *booking.Booking) func(*sqlx.Tx) error {
	return func(tx *sqlx.Tx) error {
		p, err := f.Store.PaymentByBooking(ctx, tx, b.ID)
		if errors.Is(err, ErrPaymentNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		now := f.now().UTC()
		switch p.State {
		case StateCreated, StateInitiated:
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'cancelled', note = 'booking cancelled before payment',
				updated_at = $2 WHERE id = $1`, p.ID, now); err != nil {
				return fmt.Errorf("cancel payment: %w", err)
			}
			return f.enqueue(ctx, tx, "platform_confirm", p.ID, 0, 0, string(OutcomeCancel))
		case StatePaid, StateConfirmed:
			if b.Start.Sub(now) < f.FreeCancelBefore {
				_, err := tx.ExecContext(ctx, `UPDATE payments SET note = 'booking cancelled after the free cancellation period; no refund',
					updated_at = $2 WHERE id = $1`, p.ID, now)
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET note = 'booking cancelled in time; refund requested',
				updated_at = $2 WHERE id = $1`, p.ID, now); err != nil {
				return err
			}
			return f.enqueue(ctx, tx, "refund", p.ID, 0, p.AmountCents-p.RefundedCents, "booking cancelled in time")
		}
		return nil
	}
}

// bookingText keeps a posting's text on one line and within the 140
// characters finance systems commonly accept; unlike the SEPA purpose it
// keeps umlauts.
func bookingText(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), " ")
	if r := []rune(s); len(r) > 140 {
		s = string(r[:140])
	}
	return s
}
