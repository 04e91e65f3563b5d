package payment

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the payment package's schema migrations; they build on
// booking.Migrations (payments reference bookings and services).
var Migrations = migrate.Component{Name: "payment", FS: mustSub(migrations, "migrations")}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// ErrPaymentNotFound reports an unknown payment reference.
var ErrPaymentNotFound = errors.New("payment not found")

// Payment is our record of one payment for one booking.
type Payment struct {
	ID             int64      `json:"-" db:"id"`
	Reference      string     `json:"reference" db:"reference"`
	Kassenzeichen  string     `json:"kassenzeichen" db:"kassenzeichen"`
	BookingID      int64      `json:"-" db:"booking_id"`
	FirstBookingID int64      `json:"-" db:"first_booking_id"`
	BookingCode    string     `json:"booking_code" db:"booking_code"`
	ServiceID      string     `json:"service" db:"service_id"`
	Units          int        `json:"units" db:"units"`
	AmountCents    int64      `json:"amount_cents" db:"amount_cents"`
	Currency       string     `json:"currency" db:"currency"`
	Platform       string     `json:"platform" db:"platform"`
	PlatformID     string     `json:"platform_id" db:"platform_id"`
	PayURL         string     `json:"-" db:"pay_url"`
	State          State      `json:"state" db:"state"`
	Method         string     `json:"method" db:"method"`
	PaidAt         *time.Time `json:"paid_at,omitempty" db:"paid_at"`
	RefundedCents  int64      `json:"refunded_cents" db:"refunded_cents"`
	Note           string     `json:"note,omitempty" db:"note"`
	Deadline       time.Time  `json:"deadline" db:"deadline"`
	PollUntil      time.Time  `json:"-" db:"poll_until"`
	NextPollAt     time.Time  `json:"-" db:"next_poll_at"`
	PollFailures   int        `json:"-" db:"poll_failures"`
	CreatedAt      time.Time  `json:"created_at" db:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at" db:"updated_at"`
}

const paymentColumns = `p.id, p.reference, p.kassenzeichen, p.booking_id, p.first_booking_id, b.code AS booking_code,
	p.service_id, p.units, p.amount_cents, p.currency, p.platform, COALESCE(p.platform_id, '') AS platform_id,
	COALESCE(p.pay_url, '') AS pay_url, p.state, p.method, p.paid_at, p.refunded_cents, p.note, p.deadline,
	p.poll_until, p.next_poll_at, p.poll_failures, p.created_at, p.updated_at`

const paymentFrom = ` FROM payments p JOIN bookings b ON b.id = p.booking_id `

// Posting is a treasury posting (Buchung) or its counter-posting (Storno).
type Posting struct {
	ID               int64     `json:"-" db:"id"`
	PostingID        string    `json:"posting_id" db:"posting_id"`
	Kind             string    `json:"kind" db:"kind"`
	Reverses         string    `json:"reverses,omitempty" db:"reverses_posting_id"`
	PaymentID        int64     `json:"-" db:"payment_id"`
	Kassenzeichen    string    `json:"kassenzeichen" db:"kassenzeichen"`
	AmountCents      int64     `json:"amount_cents" db:"amount_cents"`
	Currency         string    `json:"currency" db:"currency"`
	ValueDate        time.Time `json:"value_date" db:"value_date"`
	BookingDate      time.Time `json:"booking_date" db:"booking_date"`
	Haushaltsstelle  string    `json:"haushaltsstelle" db:"haushaltsstelle"`
	Produkt          string    `json:"produkt" db:"produkt"`
	Sachkonto        string    `json:"sachkonto" db:"sachkonto"`
	Kostenstelle     string    `json:"kostenstelle" db:"kostenstelle"`
	BookingText      string    `json:"booking_text" db:"booking_text"`
	PaymentMethod    string    `json:"payment_method" db:"payment_method"`
	Platform         string    `json:"platform" db:"platform"`
	PlatformID       string    `json:"platform_id" db:"platform_id"`
	PaymentReference string    `json:"payment_reference" db:"payment_reference"`
	BookingCode      string    `json:"booking_code" db:"booking_code"`
	CreatedAt        time.Time `json:"created_at" db:"created_at"`
}

const postingColumns = `t.id, t.posting_id, t.kind, COALESCE(r.posting_id, '') AS reverses_posting_id, t.payment_id,
	t.kassenzeichen, t.amount_cents, t.currency, t.value_date, t.booking_date, t.haushaltsstelle, t.produkt,
	t.sachkonto, t.kostenstelle, t.booking_text, t.payment_method, t.platform, t.platform_id,
	t.payment_reference, t.booking_code, t.created_at`

const postingFrom = ` FROM postings t LEFT JOIN postings r ON r.id = t.reverses `

// Store is the payment package's PostgreSQL storage.
type Store struct {
	db *sqlx.DB
}

// NewStore uses db (the same database as the booking core).
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// DB is the handle, for callers that run their own transactions.
func (s *Store) DB() *sqlx.DB { return s.db }

func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// PaymentByReference returns a payment by our reference.
func (s *Store) PaymentByReference(ctx context.Context, q sqlx.QueryerContext, ref string) (*Payment, error) {
	return s.paymentWhere(ctx, q, `p.reference = $1`, ref)
}

// PaymentByPlatformID returns a payment by the platform's id.
func (s *Store) PaymentByPlatformID(ctx context.Context, platformID string) (*Payment, error) {
	return s.paymentWhere(ctx, nil, `p.platform_id = $1`, platformID)
}

// PaymentByBooking returns the payment of a booking.
func (s *Store) PaymentByBooking(ctx context.Context, q sqlx.QueryerContext, bookingID int64) (*Payment, error) {
	return s.paymentWhere(ctx, q, `p.booking_id = $1`, bookingID)
}

func (s *Store) paymentWhere(ctx context.Context, q sqlx.QueryerContext, where string, arg any) (*Payment, error) {
	if q == nil {
		q = s.db
	}
	var p Payment
	lock := ""
	if _, ok := q.(*sqlx.Tx); ok {
		lock = " FOR UPDATE OF p"
	}
	err := sqlx.GetContext(ctx, q, &p, `SELECT `+paymentColumns+paymentFrom+`WHERE `+where+lock, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrPaymentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load payment: %w", err)
	}
	return &p, nil
}

// PaymentFilter narrows ListPayments.
type PaymentFilter struct {
	State         string
	Kassenzeichen string
	From, To      time.Time // created_at range; zero means open
	Limit         int
}

// ListPayments lists payments, newest first.
func (s *Store) ListPayments(ctx context.Context, f PaymentFilter) ([]Payment, error) {
	q := `SELECT ` + paymentColumns + paymentFrom + `WHERE ($1 = '' OR p.state = $1) AND ($2 = '' OR p.kassenzeichen = $2)
		AND ($3::timestamptz IS NULL OR p.created_at >= $3) AND ($4::timestamptz IS NULL OR p.created_at < $4)
		ORDER BY p.id DESC LIMIT $5`
	out := []Payment{}
	if err := s.db.SelectContext(ctx, &out, q, f.State, f.Kassenzeichen, nullTime(f.From), nullTime(f.To), limit(f.Limit)); err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	return out, nil
}

// PostingFilter narrows ListPostings.
type PostingFilter struct {
	Kind          string
	Kassenzeichen string
	From, To      time.Time // booking_date range (dates), zero means open
	Limit         int
}

// ListPostings lists postings in posting order.
func (s *Store) ListPostings(ctx context.Context, f PostingFilter) ([]Posting, error) {
	q := `SELECT ` + postingColumns + postingFrom + `WHERE ($1 = '' OR t.kind = $1) AND ($2 = '' OR t.kassenzeichen = $2)
		AND ($3::date IS NULL OR t.booking_date >= $3) AND ($4::date IS NULL OR t.booking_date <= $4)
		ORDER BY t.id LIMIT $5`
	out := []Posting{}
	if err := s.db.SelectContext(ctx, &out, q, f.Kind, f.Kassenzeichen, nullTime(f.From), nullTime(f.To), limit(f.Limit)); err != nil {
		return nil, fmt.Errorf("list postings: %w", err)
	}
	return out, nil
}

// PostingsOnValueDate lists the postings whose money moved on a day.
func (s *Store) PostingsOnValueDate(ctx context.Context, day time.Time) ([]Posting, error) {
	out := []Posting{}
	if err := s.db.SelectContext(ctx, &out, `SELECT `+postingColumns+postingFrom+`WHERE t.value_date = $1 ORDER BY t.id`,
		day.Format(time.DateOnly)); err != nil {
		return nil, fmt.Errorf("postings of %s: %w", day.Format(time.DateOnly), err)
	}
	return out, nil
}

// PostingsByReference lists the postings of payments with the given
// references.
func (s *Store) PostingsByReference(ctx context.Context, refs []string) ([]Posting, error) {
	out := []Posting{}
	if len(refs) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+postingColumns+postingFrom+`WHERE t.payment_reference IN (?) ORDER BY t.id`, refs)
	if err != nil {
		return nil, err
	}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("postings by reference: %w", err)
	}
	return out, nil
}

// OutboxItem is one delivery job, for the finance view of dead letters.
type OutboxItem struct {
	ID          int64      `json:"id" db:"id"`
	Kind        string     `json:"kind" db:"kind"`
	Reference   string     `json:"payment_reference" db:"reference"`
	PostingID   string     `json:"posting_id,omitempty" db:"posting_id"`
	AmountCents int64      `json:"amount_cents,omitempty" db:"amount_cents"`
	Reason      string     `json:"reason,omitempty" db:"reason"`
	State       string     `json:"state" db:"state"`
	Attempts    int        `json:"attempts" db:"attempts"`
	LastError   string     `json:"last_error,omitempty" db:"last_error"`
	ExportFile  string     `json:"export_file,omitempty" db:"export_file"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	DoneAt      *time.Time `json:"done_at,omitempty" db:"done_at"`
}

// ListOutbox lists delivery jobs in a state ("dead" for dead letters).
func (s *Store) ListOutbox(ctx context.Context, state string, max int) ([]OutboxItem, error) {
	out := []OutboxItem{}
	err := s.db.SelectContext(ctx, &out, `
		SELECT o.id, o.kind, p.reference, COALESCE(t.posting_id, '') AS posting_id, o.amount_cents, o.reason, o.state,
			o.attempts, o.last_error, COALESCE(o.export_file, '') AS export_file, o.created_at, o.done_at
		FROM payment_outbox o JOIN payments p ON p.id = o.payment_id LEFT JOIN postings t ON t.id = o.posting_id
		WHERE ($1 = '' OR o.state = $1) ORDER BY o.id LIMIT $2`, state, limit(max))
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// RecordInbox appends a raw platform answer or callback.
func (s *Store) RecordInbox(ctx context.Context, q sqlx.ExecerContext, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	if q == nil {
		q = s.db
	}
	var pid, ev any
	if paymentID != 0 {
		pid = paymentID
	}
	if eventID != "" {
		ev = eventID
	}
	if body == nil {
		body = []byte{}
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO payment_inbox (payment_id, kind, event_id, verified, body) VALUES ($1, $2, $3, $4, $5)`,
		pid, kind, ev, verified, body); err != nil {
		return fmt.Errorf("record inbox: %w", err)
	}
	return nil
}

// SeenEvent reports whether a verified notification with this event id
// was stored before.
func (s *Store) SeenEvent(ctx context.Context, eventID string) (bool, error) {
	var seen bool
	err := s.db.GetContext(ctx, &seen, `SELECT EXISTS (SELECT 1 FROM payment_inbox WHERE kind = 'notify' AND verified AND event_id = $1)`, eventID)
	if err != nil {
		return false, fmt.Errorf("inbox lookup: %w", err)
	}
	return seen, nil
}

// InboxCount counts inbox rows of a payment (tests and support).
func (s *Store) InboxCount(ctx context.Context, reference string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM payment_inbox i JOIN payments p ON p.id = i.payment_id WHERE p.reference = $1`, reference)
	return n, err
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func limit(n int) int {
	if n <= 0 || n > 1000 {
		return 1000
	}
	return n
}
