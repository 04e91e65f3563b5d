package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// Flow ties bookings to payments: it books a pending booking with its
// payment row, creates the payment at the platform, verifies the outcome
// with the platform and confirms, expires or refunds. Every decision rests
// on a status query to the platform, never on what a browser or a push
// claims. Flow keeps no state of its own; replicas share PostgreSQL.
type Flow struct {
	Engine   *booking.Engine
	Store    Store
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
	// ErrAccountingMixed reports a pool order whose ticket types have
	// different account assignments: one payment is one posting, so such
	// types cannot be paid together.
	ErrAccountingMixed = errors.New("ticket types with different account assignments cannot be paid together")
	// ErrPlatformID reports a platform that named no id for a payment or
	// the id of another payment of ours. It is the platform's error: no
	// payment is confirmed and no posting written without its own id.
	ErrPlatformID = errors.New("platform gave a missing or duplicate payment id")
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
func NewReference() string { return "TRM" + booking.RandomCode(16) }

// ReturnURL is where the platform sends the citizen back for a payment.
func (f *Flow) ReturnURL(reference string) string {
	return strings.TrimRight(f.PublicURL, "/") + "/api/v1/payments/" + url.PathEscape(reference) + "/return"
}

// Book turns a hold for a fee-paying service into a pending booking with a
// payment, then registers the payment at the platform. A hold of several
// ticket types (a pool order) is one booking with one payment of the
// summed fees and one posting; its types must share one account
// assignment (ErrAccountingMixed otherwise, before anything is written).
// On a platform failure the pending booking is cancelled (its units
// freed) and the error wraps ErrStartFailed and the platform's
// ErrUnavailable or ErrRejected.
func (f *Flow) Book(ctx context.Context, holdID string, c booking.Contact, svc *booking.Service) (*booking.Confirmation, *Payment, error) {
	now := f.now().UTC()
	acc, err := f.Store.Accounting(ctx, svc.ID)
	if err != nil {
		return nil, nil, err
	}
	lines, err := f.Engine.HoldLines(ctx, holdID)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range lines {
		other, err := f.Store.Accounting(ctx, l.Service.ID)
		if err != nil {
			return nil, nil, err
		}
		if !other.SameAssignment(acc) {
			return nil, nil, ErrAccountingMixed
		}
	}
	p := &Payment{ServiceID: svc.ID, Currency: "EUR", Platform: f.PlatformName, State: StateCreated,
		Reference: NewReference(), Deadline: now.Add(f.Timeout)}
	conf, err := f.Engine.Book(ctx, holdID, c, booking.BookOptions{
		Status:   booking.StatusPendingPayment,
		Recorder: &pendingRecorder{f: f, p: p, svc: svc, now: now},
	})
	if err != nil {
		return nil, nil, err
	}
	b := conf.Booking
	start := b.Start.In(f.zone())
	created, err := f.Platform.Create(ctx, CreateRequest{
		Reference:          p.Reference,
		Kassenzeichen:      p.Kassenzeichen,
		Purpose:            SanitizePurpose(p.Kassenzeichen + " " + svc.Name),
		Description:        describe(f.Engine, b, svc) + ", " + start.Format("02.01.2006 15:04"),
		AmountCents:        p.AmountCents,
		Currency:           p.Currency,
		ReturnURL:          f.ReturnURL(p.Reference),
		CancelURL:          f.ReturnURL(p.Reference) + "?cancelled=1",
		Timeout:            f.Timeout,
		TaxRateBasisPoints: acc.TaxRateBasisPoints,
		BookingData: map[string]string{
			"Kassenzeichen": p.Kassenzeichen, "Haushaltsstelle": acc.Haushaltsstelle, "Produkt": acc.Produkt,
			"Sachkonto": acc.Sachkonto, "Kostenstelle": acc.Kostenstelle,
		},
	})
	// The rest must happen even when the citizen's request goes away.
	ctx = context.WithoutCancel(ctx)
	if errors.Is(err, ErrOutcomeUnknown) {
		// The request reached the platform, its answer did not reach us:
		// the platform may hold the payment. There is no lookup by our
		// id on every platform, and the reference is never sent again,
		// so the pending booking keeps its units until its deadline; the
		// sweeper asks where it can and lets it expire otherwise.
		f.log().WarnContext(ctx, "payment create answer lost; the attempt expires at its deadline", "reference", p.Reference, "err", err)
		if xerr := f.Store.InTx(ctx, func(tx Tx) error {
			return tx.SetNote(ctx, p.ID, "", "create answer lost; waiting for the attempt to expire", f.now().UTC())
		}); xerr != nil {
			f.log().WarnContext(ctx, "note lost create answer", "reference", p.Reference, "err", xerr)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	if err != nil {
		f.log().WarnContext(ctx, "payment create failed; cancelling pending booking", "reference", p.Reference, "err", err)
		if xerr := f.finish(ctx, p.Reference, StateFailed, "platform create failed"); xerr != nil {
			f.log().ErrorContext(ctx, "cancel pending booking after failed create", "reference", p.Reference, "err", xerr)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	if err := f.Store.RecordInbox(ctx, p.ID, "create", "", true, created.Raw); err != nil {
		f.log().WarnContext(ctx, "record create answer", "err", err)
	}
	err = nil
	if created.PlatformID == "" {
		err = fmt.Errorf("%w: create answered without an id", ErrPlatformID)
	} else {
		err = f.Store.MarkInitiated(ctx, p.ID, created.PlatformID, created.PayURL, f.now().UTC())
	}
	if errors.Is(err, ErrPlatformID) {
		// The citizen never sees a pay page whose payment we could not
		// tell apart from another.
		f.log().ErrorContext(ctx, "payment platform id unusable; cancelling pending booking", "reference", p.Reference, "err", err)
		if xerr := f.finish(ctx, p.Reference, StateFailed, "platform id missing or duplicate"); xerr != nil {
			f.log().ErrorContext(ctx, "cancel pending booking after unusable platform id", "reference", p.Reference, "err", xerr)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	if err != nil {
		// The sweeper finds the payment by reference, learns the id from
		// the status answer and carries on.
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
	p, err := f.Store.PaymentByReference(ctx, reference)
	if err != nil {
		return nil, err
	}
	if p.State == StateConfirmed || p.State == StateRefunded || p.State == StatePaid {
		return p, nil // money verified before; nothing the platform says changes that here
	}
	rep, err := f.Platform.Status(ctx, Ref{PlatformID: p.PlatformID, Reference: p.Reference})
	if err != nil {
		late := f.now().After(p.Deadline)
		switch {
		case errors.Is(err, ErrNotFound) && (late || p.State != StateCreated):
			// Final, not a reason to ask again: the platform does not
			// know the payment and never will. (Before the deadline a
			// payment still in state created may be on its way.)
			return f.reload(ctx, p, f.end(ctx, p, "not known at the platform"))
		case errors.Is(err, ErrInvalidRequest) && p.PlatformID == "" && late:
			// The create answer was lost and this platform can be asked
			// by its own id only: the attempt has expired unseen.
			return f.reload(ctx, p, f.end(ctx, p, "create answer lost; expired without a platform id"))
		}
		return p, fmt.Errorf("status of %s: %w", reference, err)
	}
	if err := f.Store.RecordInbox(ctx, p.ID, "status", "", true, rep.Raw); err != nil {
		return p, err
	}
	if err := matches(p, rep); err != nil {
		f.log().WarnContext(ctx, "platform status rejected", "reference", reference, "err", err)
		return p, err
	}
	if p.PlatformID == "" {
		// The id was not stored at create time: take it from the status
		// answer, where it must be, and must be this payment's own.
		err := fmt.Errorf("%w: status answered without an id", ErrPlatformID)
		if rep.PlatformID != "" {
			err = f.Store.MarkInitiated(ctx, p.ID, rep.PlatformID, p.PayURL, f.now().UTC())
		}
		if err != nil {
			f.log().ErrorContext(ctx, "platform id of payment unusable", "reference", reference, "err", err)
			return p, err
		}
		p.PlatformID = rep.PlatformID
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
	return f.Store.PaymentByReference(ctx, p.Reference)
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
	case rep.State.Settled() && !rep.AmountUnknown && rep.AmountCents != p.AmountCents:
		return fmt.Errorf("%w: amount %d, expected %d", ErrTampered, rep.AmountCents, p.AmountCents)
	case rep.State.Settled() && !rep.AmountUnknown && rep.Currency != p.Currency:
		return fmt.Errorf("%w: currency %q", ErrTampered, rep.Currency)
	}
	return nil
}

// settle records verified money: the pending booking is confirmed with its
// posting and outbox rows in one transaction; money that arrives after the
// booking expired books the slot again or is refunded.
func (f *Flow) settle(ctx context.Context, p *Payment, rep StatusReport) error {
	late := false
	err := f.Store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.LockPayment(ctx, p.Reference)
		if err != nil {
			return err
		}
		switch cur.State {
		case StatePaid, StateConfirmed, StateRefunded:
			return nil // confirmed before, by another request or replica
		case StateCreated, StateInitiated:
			b, err := tx.ConfirmPending(ctx, cur.BookingID, f.now().UTC())
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
	old, err := f.Engine.BookingByID(ctx, p.FirstBookingID)
	if err != nil {
		return err
	}
	why := ""
	hold, err := f.Engine.PlaceHoldFor(ctx, old.LocationID, old.Items, old.Start)
	if err == nil {
		_, err = f.Engine.Book(ctx, hold.ID, booking.Contact{Name: old.Name, Email: old.Email, Phone: old.Phone, Lang: old.Lang}, booking.BookOptions{
			// Paid: confirmed without an opt-in.
			Status:   booking.StatusConfirmed,
			Recorder: &lateRecorder{f: f, old: old, reference: p.Reference, rep: rep},
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
	case errors.Is(err, booking.ErrUnavailable), errors.Is(err, ErrStoreUnavailable):
		return err // a store failed: try again on the next check
	default:
		why = "slot could not be booked again (" + err.Error() + ")"
	}
	f.log().InfoContext(ctx, "late payment refunded", "reference", p.Reference, "why", why)
	return f.Store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.LockPayment(ctx, p.Reference)
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
func (f *Flow) recordPaid(ctx context.Context, tx Tx, p *Payment, b *booking.Booking, rep StatusReport, note string) error {
	paidAt := rep.PaidAt
	if paidAt.IsZero() {
		paidAt = f.now()
	}
	if err := tx.MarkPaid(ctx, p.ID, string(rep.Method), paidAt.UTC(), b.ID, note, f.now().UTC()); err != nil {
		return err
	}
	p.Method, p.BookingCode, p.PaidAt = string(rep.Method), b.Code, &paidAt
	if _, err := f.post(ctx, tx, p, 0); err != nil {
		return err
	}
	return f.enqueue(ctx, tx, JobPlatformConfirm, p.ID, 0, 0, string(OutcomeConfirm))
}

// recordPaidAndRefund posts money that arrived for a booking we no longer
// hold and queues its refund; the Storno follows when the platform has paid
// it back.
func (f *Flow) recordPaidAndRefund(ctx context.Context, tx Tx, p *Payment, rep StatusReport, note string) error {
	paidAt := rep.PaidAt
	if paidAt.IsZero() {
		paidAt = f.now()
	}
	if err := tx.MarkPaid(ctx, p.ID, string(rep.Method), paidAt.UTC(), 0, note, f.now().UTC()); err != nil {
		return err
	}
	p.Method, p.PaidAt = string(rep.Method), &paidAt
	if _, err := f.post(ctx, tx, p, 0); err != nil {
		return err
	}
	return f.enqueue(ctx, tx, JobRefund, p.ID, 0, p.AmountCents-p.RefundedCents, note)
}

// post writes a posting for p (reverses == 0) or a Storno of posting
// reverses, and queues its deliveries.
func (f *Flow) post(ctx context.Context, tx Tx, p *Payment, reverses int64) (int64, error) {
	if p.PlatformID == "" {
		// Finance reconciles postings with the platform's reports by this
		// id: a posting without it could never be matched.
		return 0, fmt.Errorf("%w: payment %s has no platform id; no posting written", ErrPlatformID, p.Reference)
	}
	acc, err := tx.Accounting(ctx, p.ServiceID)
	if err != nil {
		return 0, err
	}
	kind, amount, postingID := "payment", p.AmountCents, "B-"+p.Kassenzeichen
	valueDate := f.now()
	if p.PaidAt != nil {
		valueDate = *p.PaidAt
	}
	if reverses != 0 {
		kind, amount, postingID, valueDate = "storno", -p.RefundedCents, "S-"+p.Kassenzeichen, f.now()
	}
	text := acc.BookingText
	if text == "" {
		text = p.ServiceID
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.In(f.zone()).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	posting := &Posting{PostingID: postingID, Kind: kind, PaymentID: p.ID, Kassenzeichen: p.Kassenzeichen, AmountCents: amount,
		Currency: p.Currency, ValueDate: day(valueDate), BookingDate: day(f.now()), Haushaltsstelle: acc.Haushaltsstelle,
		Produkt: acc.Produkt, Sachkonto: acc.Sachkonto, Kostenstelle: acc.Kostenstelle, BookingText: bookingText(text + " " + p.BookingCode),
		PaymentMethod: p.Method, Platform: p.Platform, PlatformID: p.PlatformID, PaymentReference: p.Reference,
		BookingCode: p.BookingCode, CreatedAt: f.now().UTC()}
	if err := tx.InsertPosting(ctx, posting, reverses); err != nil {
		return 0, err
	}
	if err := f.enqueue(ctx, tx, JobPostingFile, p.ID, posting.ID, amount, ""); err != nil {
		return 0, err
	}
	if f.HTTPPostings {
		if err := f.enqueue(ctx, tx, JobPostingHTTP, p.ID, posting.ID, amount, ""); err != nil {
			return 0, err
		}
	}
	return posting.ID, nil
}

func (f *Flow) enqueue(ctx context.Context, tx Tx, kind string, paymentID, postingID, amount int64, reason string) error {
	return tx.Enqueue(ctx, OutboxJob{Kind: kind, PaymentID: paymentID, PostingID: postingID, AmountCents: amount, Reason: reason}, f.now().UTC())
}

// finish ends an open payment without money: the pending booking is
// cancelled (its units freed) and the payment takes state st. A payment
// that has moved on meanwhile is left alone. An expired payment that the
// platform later reports closed stops being polled.
func (f *Flow) finish(ctx context.Context, reference string, st State, note string) error {
	var freed *booking.Booking
	err := f.Store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.LockPayment(ctx, reference)
		if err != nil {
			return err
		}
		now := f.now().UTC()
		if cur.State == StateExpired || cur.State == StateCancelled {
			// Ours ended before; the platform now agrees it is closed.
			return tx.StopPolling(ctx, cur.ID, now)
		}
		if cur.State != StateCreated && cur.State != StateInitiated {
			return nil
		}
		b, err := tx.ExpirePending(ctx, cur.BookingID, now)
		if err != nil && !errors.Is(err, booking.ErrNotPending) {
			return err
		}
		freed = b
		pollUntil := cur.PollUntil
		if st != StateExpired {
			pollUntil = now // the platform says it is over
		}
		return tx.EndPayment(ctx, cur.ID, st, note, pollUntil, now)
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

// end expires an open payment the platform cannot tell us about and stops
// asking about it.
func (f *Flow) end(ctx context.Context, p *Payment, note string) error {
	if err := f.finish(ctx, p.Reference, StateExpired, note); err != nil {
		return err
	}
	return f.Store.InTx(ctx, func(tx Tx) error { return tx.StopPolling(ctx, p.ID, f.now().UTC()) })
}

// Cancel cancels a booking like booking.Engine.Cancel and, in the same
// transaction, its payment: see CancelBooking.
//
// The outcome says what happens to the money, for the citizen's answer.
func (f *Flow) Cancel(ctx context.Context, code, token string) (*booking.Booking, CancelOutcome, error) {
	rec := &cancelRecorder{f: f, out: CancelOutcome{Money: MoneyNone}}
	b, err := f.Engine.Cancel(ctx, code, token, rec)
	if err != nil {
		return nil, CancelOutcome{}, err
	}
	return b, rec.out, nil
}

// What happens to the money of a cancelled booking.
const (
	// MoneyNone: nothing was paid online (a counter fee, a free service).
	MoneyNone = "none"
	// MoneyPaymentCancelled: the booking was not paid yet; the payment is
	// cancelled and nothing is charged.
	MoneyPaymentCancelled = "payment_cancelled"
	// MoneyRefund: the booking was paid and cancelled in time; AmountCents
	// is refunded.
	MoneyRefund = "refund"
	// MoneyNoRefund: the booking was paid and cancelled less than
	// FreeCancelBefore before its start; nothing is refunded.
	MoneyNoRefund = "no_refund"
)

// CancelOutcome is what a cancellation does with the booking's money.
type CancelOutcome struct {
	Money string
	// AmountCents is refunded (MoneyRefund) or kept (MoneyNoRefund).
	AmountCents int64
	// FreeCancelBefore is the refund window the decision was made with.
	FreeCancelBefore time.Duration
}

// cancelRecorder is the flow as the booking.CancelRecorder of one
// cancellation, keeping its outcome.
type cancelRecorder struct {
	f   *Flow
	out CancelOutcome
}

func (r *cancelRecorder) CancelBooking(ctx context.Context, b *booking.Booking, now time.Time) ([]booking.UnitCell, error) {
	return r.f.cancelBooking(ctx, b, now, &r.out)
}

// CancelBooking makes the flow a booking.CancelRecorder: in the
// cancelling transaction, an open payment is cancelled (and cancelled at
// the platform through the outbox); a paid one is refunded through the
// outbox when the booking is cancelled early enough.
func (f *Flow) CancelBooking(ctx context.Context, b *booking.Booking, now time.Time) ([]booking.UnitCell, error) {
	var out CancelOutcome
	return f.cancelBooking(ctx, b, now, &out)
}

// OfficeCancellation is the booking.CancelRecorder of a cancellation by
// the office (a closed day, cut hours): as CancelBooking, but a paid
// booking is refunded in full also inside the free cancellation period,
// since the citizen did not choose to cancel.
func (f *Flow) OfficeCancellation() booking.CancelRecorder { return officeCancellation{f} }

type officeCancellation struct{ f *Flow }

func (o officeCancellation) CancelBooking(ctx context.Context, b *booking.Booking, now time.Time) ([]booking.UnitCell, error) {
	var out CancelOutcome
	return o.f.cancelBookingAs(ctx, b, now, &out, true)
}

func (f *Flow) cancelBooking(ctx context.Context, b *booking.Booking, now time.Time, out *CancelOutcome) ([]booking.UnitCell, error) {
	return f.cancelBookingAs(ctx, b, now, out, false)
}

// cancelBookingAs cancels in one transaction; byOffice refunds a paid
// booking whatever the time left.
func (f *Flow) cancelBookingAs(ctx context.Context, b *booking.Booking, now time.Time, out *CancelOutcome, byOffice bool) ([]booking.UnitCell, error) {
	var cells []booking.UnitCell
	err := f.Store.InTx(ctx, func(tx Tx) error {
		var err error
		if cells, err = tx.CancelBooking(ctx, b.ID, now); err != nil {
			return err
		}
		if len(cells) == 0 {
			// A concurrent cancellation came first: its transaction
			// handled the payment, which must not be refunded twice.
			return booking.ErrAlreadyCancelled
		}
		*out = CancelOutcome{Money: MoneyNone}
		return f.onCancel(ctx, tx, b, out, byOffice)
	})
	return cells, err
}

func (f *Flow) onCancel(ctx context.Context, tx Tx, b *booking.Booking, out *CancelOutcome, byOffice bool) error {
	p, err := tx.LockPaymentOfBooking(ctx, b.ID)
	if errors.Is(err, ErrPaymentNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := f.now().UTC()
	out.FreeCancelBefore = f.FreeCancelBefore
	switch p.State {
	case StateCreated, StateInitiated:
		out.Money = MoneyPaymentCancelled
		if err := tx.SetNote(ctx, p.ID, StateCancelled, "booking cancelled before payment", now); err != nil {
			return err
		}
		return f.enqueue(ctx, tx, JobPlatformConfirm, p.ID, 0, 0, string(OutcomeCancel))
	case StatePaid, StateConfirmed:
		if !byOffice && b.Start.Sub(now) < f.FreeCancelBefore {
			out.Money, out.AmountCents = MoneyNoRefund, p.AmountCents-p.RefundedCents
			return tx.SetNote(ctx, p.ID, "", "booking cancelled after the free cancellation period; no refund", now)
		}
		out.Money, out.AmountCents = MoneyRefund, p.AmountCents-p.RefundedCents
		reason := "booking cancelled in time"
		if byOffice {
			reason = "booking cancelled by the office"
		}
		if err := tx.SetNote(ctx, p.ID, "", reason+"; refund requested", now); err != nil {
			return err
		}
		return f.enqueue(ctx, tx, JobRefund, p.ID, 0, p.AmountCents-p.RefundedCents, reason)
	}
	return nil
}

// pendingRecorder writes a booking for a paid service together with its
// payment row, in one transaction.
type pendingRecorder struct {
	f   *Flow
	p   *Payment
	svc *booking.Service
	now time.Time
}

func (r *pendingRecorder) InsertBooking(ctx context.Context, nb *booking.NewBooking) error {
	f, p := r.f, r.p
	return f.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertBooking(ctx, nb); err != nil {
			return err
		}
		b := nb.Booking
		n, err := tx.NextKassenzeichen(ctx)
		if err != nil {
			return err
		}
		kz, err := f.Scheme.Format(n)
		if err != nil {
			return err
		}
		p.Kassenzeichen, p.BookingID, p.FirstBookingID, p.BookingCode = kz, b.ID, b.ID, b.Code
		p.Units = len(b.Units)
		amount, err := fee(f.Engine, b, r.svc)
		if err != nil {
			return err
		}
		p.AmountCents = amount
		p.CreatedAt = r.now
		return tx.InsertPayment(ctx, p, p.Deadline.Add(f.LateGrace), r.now.Add(f.PollInterval))
	})
}

// lateRecorder books an expired booking's slot again for money that came
// late, in the transaction that records the money.
type lateRecorder struct {
	f         *Flow
	old       *booking.Booking
	reference string
	rep       StatusReport
}

func (r *lateRecorder) InsertBooking(ctx context.Context, nb *booking.NewBooking) error {
	f := r.f
	return f.Store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertBooking(ctx, nb); err != nil {
			return err
		}
		b := nb.Booking
		cur, err := tx.LockPayment(ctx, r.reference)
		if err != nil {
			return err
		}
		if cur.State != StateExpired {
			return errHandled
		}
		// The citizen keeps managing the booking with the token they were
		// given.
		if err := tx.CarryManageToken(ctx, r.old.ID, b.ID); err != nil {
			return err
		}
		return f.recordPaid(ctx, tx, cur, b, r.rep, "paid after the reservation expired; booked again as "+b.Code)
	})
}

// fee sums the fees of a booking's items; svc is the service of a
// booking of one item (its fee times the units, as always).
func fee(e *booking.Engine, b *booking.Booking, svc *booking.Service) (int64, error) {
	if len(b.Items) <= 1 {
		return svc.FeeCents * int64(len(b.Units)), nil
	}
	var sum int64
	for _, it := range b.Items {
		s, err := e.Service(b.LocationID, it.ServiceID)
		if err != nil {
			return 0, err
		}
		sum += s.FeeCents * int64(it.Count)
	}
	return sum, nil
}

// describe names what a payment is for at the platform: "Erwachsene, 2 x"
// for one ticket type, "2 x Erwachsene, 1 x ermäßigt" for an order of
// several.
func describe(e *booking.Engine, b *booking.Booking, svc *booking.Service) string {
	if len(b.Items) <= 1 {
		return fmt.Sprintf("%s, %d x", svc.Name, len(b.Units))
	}
	parts := make([]string, 0, len(b.Items))
	for _, it := range b.Items {
		name := it.ServiceID
		if s, err := e.Service(b.LocationID, it.ServiceID); err == nil {
			name = s.Name
		}
		parts = append(parts, fmt.Sprintf("%d x %s", it.Count, name))
	}
	return strings.Join(parts, ", ")
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
