package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/payment"
)

const paymentColumns = `p.id, p.reference, p.kassenzeichen, p.booking_id, p.first_booking_id, b.code AS booking_code,
	p.service_id, p.units, p.amount_cents, p.currency, p.platform, COALESCE(p.platform_id, '') AS platform_id,
	COALESCE(p.pay_url, '') AS pay_url, p.state, p.method, p.paid_at, p.refunded_cents, p.note, p.deadline,
	p.poll_until, p.next_poll_at, p.poll_failures, p.created_at, p.updated_at`

const paymentFrom = ` FROM payments p JOIN bookings b ON b.id = p.booking_id `

type paymentRow struct {
	ID             int64         `db:"id"`
	Reference      string        `db:"reference"`
	Kassenzeichen  string        `db:"kassenzeichen"`
	BookingID      int64         `db:"booking_id"`
	FirstBookingID int64         `db:"first_booking_id"`
	BookingCode    string        `db:"booking_code"`
	ServiceID      string        `db:"service_id"`
	Units          int           `db:"units"`
	AmountCents    int64         `db:"amount_cents"`
	Currency       string        `db:"currency"`
	Platform       string        `db:"platform"`
	PlatformID     string        `db:"platform_id"`
	PayURL         string        `db:"pay_url"`
	State          payment.State `db:"state"`
	Method         string        `db:"method"`
	PaidAt         *time.Time    `db:"paid_at"`
	RefundedCents  int64         `db:"refunded_cents"`
	Note           string        `db:"note"`
	Deadline       time.Time     `db:"deadline"`
	PollUntil      time.Time     `db:"poll_until"`
	NextPollAt     time.Time     `db:"next_poll_at"`
	PollFailures   int           `db:"poll_failures"`
	CreatedAt      time.Time     `db:"created_at"`
	UpdatedAt      time.Time     `db:"updated_at"`
}

func (r paymentRow) payment() *payment.Payment {
	p := payment.Payment(r)
	return &p
}

func paymentWhere(ctx context.Context, q sqlx.QueryerContext, lock bool, where string, arg any) (*payment.Payment, error) {
	var r paymentRow
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE OF p"
	}
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+paymentColumns+paymentFrom+`WHERE `+where+forUpdate, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.ErrPaymentNotFound
	}
	if err != nil {
		return nil, unavailable("load payment", err)
	}
	return r.payment(), nil
}

// PaymentByReference returns a payment by our reference.
func (s *Store) PaymentByReference(ctx context.Context, ref string) (*payment.Payment, error) {
	return paymentWhere(ctx, s.db, false, `p.reference = $1`, ref)
}

// PaymentByPlatformID returns a payment by the platform's id.
func (s *Store) PaymentByPlatformID(ctx context.Context, platformID string) (*payment.Payment, error) {
	return paymentWhere(ctx, s.db, false, `p.platform_id = $1`, platformID)
}

// PaymentByBooking returns the payment of a booking.
func (s *Store) PaymentByBooking(ctx context.Context, bookingID int64) (*payment.Payment, error) {
	return paymentWhere(ctx, s.db, false, `p.booking_id = $1`, bookingID)
}

// PaymentByID returns a payment by its id.
func (s *Store) PaymentByID(ctx context.Context, id int64) (*payment.Payment, error) {
	return paymentWhere(ctx, s.db, false, `p.id = $1`, id)
}

func (t *txStore) LockPayment(ctx context.Context, ref string) (*payment.Payment, error) {
	return paymentWhere(ctx, t.tx, true, `p.reference = $1`, ref)
}

func (t *txStore) LockPaymentByID(ctx context.Context, id int64) (*payment.Payment, error) {
	return paymentWhere(ctx, t.tx, true, `p.id = $1`, id)
}

func (t *txStore) LockPaymentOfBooking(ctx context.Context, bookingID int64) (*payment.Payment, error) {
	return paymentWhere(ctx, t.tx, true, `p.booking_id = $1`, bookingID)
}

// ListPayments lists payments, newest first.
func (s *Store) ListPayments(ctx context.Context, f payment.PaymentFilter) ([]payment.Payment, error) {
	q := `SELECT ` + paymentColumns + paymentFrom + `WHERE ($1 = '' OR p.state = $1) AND ($2 = '' OR p.kassenzeichen = $2)
		AND ($3::timestamptz IS NULL OR p.created_at >= $3) AND ($4::timestamptz IS NULL OR p.created_at < $4)
		AND ($6 = '' OR b.location_id = $6) AND ($7 = '' OR p.service_id = $7) AND ($8 = '' OR p.reference = $8)
		ORDER BY p.id DESC LIMIT $5`
	var rows []paymentRow
	if err := s.db.SelectContext(ctx, &rows, q, f.State, f.Kassenzeichen, nullTime(f.From), nullTime(f.To), limit(f.Limit),
		f.Location, f.Service, f.Reference); err != nil {
		return nil, unavailable("list payments", err)
	}
	out := make([]payment.Payment, len(rows))
	for i, r := range rows {
		out[i] = *r.payment()
	}
	return out, nil
}

func (t *txStore) NextKassenzeichen(ctx context.Context) (int64, error) {
	var n int64
	if err := t.tx.GetContext(ctx, &n, `SELECT nextval('kassenzeichen_seq')`); err != nil {
		return 0, unavailable("draw Kassenzeichen", err)
	}
	return n, nil
}

func (t *txStore) InsertPayment(ctx context.Context, p *payment.Payment, pollUntil, firstPoll time.Time) error {
	err := t.tx.QueryRowxContext(ctx, `
		INSERT INTO payments (reference, kassenzeichen, booking_id, first_booking_id, service_id, units, amount_cents,
			currency, platform, state, deadline, poll_until, next_poll_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'created', $10, $11, $12, $13, $13)
		RETURNING id, created_at, updated_at, poll_until, next_poll_at`,
		p.Reference, p.Kassenzeichen, p.BookingID, p.FirstBookingID, p.ServiceID, p.Units, p.AmountCents, p.Currency, p.Platform,
		p.Deadline, pollUntil, firstPoll, p.CreatedAt).Scan(&p.ID, &p.CreatedAt, &p.UpdatedAt, &p.PollUntil, &p.NextPollAt)
	if err != nil {
		return unavailable("insert payment", err)
	}
	return nil
}

// MarkInitiated records the platform's id and pay URL.
func (s *Store) MarkInitiated(ctx context.Context, id int64, platformID, payURL string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE payments SET state = 'initiated', platform_id = $2, pay_url = $3, updated_at = $4
		WHERE id = $1 AND state = 'created'`, id, platformID, payURL, now)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" && pqErr.Constraint == "payments_platform_id" {
		return fmt.Errorf("%w: %q belongs to another payment", payment.ErrPlatformID, platformID)
	}
	if err != nil {
		return unavailable("store platform id", err)
	}
	return nil
}

func (t *txStore) exec(ctx context.Context, what, query string, args ...any) error {
	if _, err := t.tx.ExecContext(ctx, query, args...); err != nil {
		return unavailable(what, err)
	}
	return nil
}

func (t *txStore) MarkPaid(ctx context.Context, id int64, method string, paidAt time.Time, bookingID int64, note string, now time.Time) error {
	return t.exec(ctx, "mark payment paid", `UPDATE payments SET state = 'paid', method = $2, paid_at = $3,
		booking_id = CASE WHEN $4::bigint = 0 THEN booking_id ELSE $4::bigint END, note = $5, updated_at = $6 WHERE id = $1`,
		id, method, paidAt, bookingID, note, now)
}

func (t *txStore) EndPayment(ctx context.Context, id int64, st payment.State, note string, pollUntil, now time.Time) error {
	return t.exec(ctx, "end payment", `UPDATE payments SET state = $2, note = $3, poll_until = $4, updated_at = $5 WHERE id = $1`,
		id, string(st), note, pollUntil, now)
}

func (t *txStore) StopPolling(ctx context.Context, id int64, now time.Time) error {
	return t.exec(ctx, "stop polling", `UPDATE payments SET poll_until = $2, updated_at = $2 WHERE id = $1`, id, now)
}

func (t *txStore) SetNote(ctx context.Context, id int64, st payment.State, note string, now time.Time) error {
	return t.exec(ctx, "note on payment", `UPDATE payments SET state = CASE WHEN $2 = '' THEN state ELSE $2 END, note = $3,
		updated_at = $4 WHERE id = $1`, id, string(st), note, now)
}

func (t *txStore) MarkConfirmed(ctx context.Context, id int64, now time.Time) error {
	return t.exec(ctx, "mark payment confirmed", `UPDATE payments SET state = 'confirmed', updated_at = $2 WHERE id = $1 AND state = 'paid'`,
		id, now)
}

func (t *txStore) RecordRefund(ctx context.Context, id int64, refundedCents int64, now time.Time) error {
	return t.exec(ctx, "record refund", `UPDATE payments SET refunded_cents = $2,
		state = CASE WHEN $2 >= amount_cents THEN 'refunded' ELSE state END, updated_at = $3 WHERE id = $1`,
		id, refundedCents, now)
}

// ClaimPolls leases payments due for a status query.
func (s *Store) ClaimPolls(ctx context.Context, now, leaseUntil time.Time) ([]string, error) {
	var refs []string
	err := s.db.SelectContext(ctx, &refs, `
		UPDATE payments SET next_poll_at = $2 WHERE id IN (
			SELECT id FROM payments
			WHERE state IN ('created', 'initiated', 'expired') AND next_poll_at <= $1
				AND (state <> 'expired' OR poll_until > $1)
			ORDER BY next_poll_at LIMIT 20 FOR UPDATE SKIP LOCKED)
		RETURNING reference`, now, leaseUntil)
	if err != nil {
		return nil, unavailable("claim payments to poll", err)
	}
	return refs, nil
}

// SchedulePoll sets a payment's next status query.
func (s *Store) SchedulePoll(ctx context.Context, id int64, next time.Time, failures int) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE payments SET next_poll_at = $2, poll_failures = $3 WHERE id = $1`,
		id, next, failures); err != nil {
		return unavailable(fmt.Sprintf("schedule poll of payment %d", id), err)
	}
	return nil
}
