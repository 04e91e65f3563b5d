package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/payment"
)

const postingColumns = `t.id, t.posting_id, t.kind, COALESCE(r.posting_id, '') AS reverses_posting_id, t.payment_id,
	t.kassenzeichen, t.amount_cents, t.currency, t.value_date, t.booking_date, t.haushaltsstelle, t.produkt,
	t.sachkonto, t.kostenstelle, t.booking_text, t.payment_method, t.platform, t.platform_id,
	t.payment_reference, t.booking_code, t.created_at`

const postingFrom = ` FROM postings t LEFT JOIN postings r ON r.id = t.reverses `

type postingRow struct {
	ID               int64     `db:"id"`
	PostingID        string    `db:"posting_id"`
	Kind             string    `db:"kind"`
	Reverses         string    `db:"reverses_posting_id"`
	PaymentID        int64     `db:"payment_id"`
	Kassenzeichen    string    `db:"kassenzeichen"`
	AmountCents      int64     `db:"amount_cents"`
	Currency         string    `db:"currency"`
	ValueDate        time.Time `db:"value_date"`
	BookingDate      time.Time `db:"booking_date"`
	Haushaltsstelle  string    `db:"haushaltsstelle"`
	Produkt          string    `db:"produkt"`
	Sachkonto        string    `db:"sachkonto"`
	Kostenstelle     string    `db:"kostenstelle"`
	BookingText      string    `db:"booking_text"`
	PaymentMethod    string    `db:"payment_method"`
	Platform         string    `db:"platform"`
	PlatformID       string    `db:"platform_id"`
	PaymentReference string    `db:"payment_reference"`
	BookingCode      string    `db:"booking_code"`
	CreatedAt        time.Time `db:"created_at"`
}

func selectPostings(ctx context.Context, q sqlx.QueryerContext, what, query string, args ...any) ([]payment.Posting, error) {
	var rows []postingRow
	if err := sqlx.SelectContext(ctx, q, &rows, query, args...); err != nil {
		return nil, unavailable(what, err)
	}
	out := make([]payment.Posting, len(rows))
	for i, r := range rows {
		out[i] = payment.Posting(r)
	}
	return out, nil
}

// ListPostings lists postings in posting order.
func (s *Store) ListPostings(ctx context.Context, f payment.PostingFilter) ([]payment.Posting, error) {
	return selectPostings(ctx, s.db, "list postings", `SELECT `+postingColumns+postingFrom+`WHERE ($1 = '' OR t.kind = $1) AND ($2 = '' OR t.kassenzeichen = $2)
		AND ($3::date IS NULL OR t.booking_date >= $3) AND ($4::date IS NULL OR t.booking_date <= $4)
		AND ($6 = '' OR t.payment_reference = $6)
		AND ($7 = '' AND $8 = '' OR EXISTS (SELECT 1 FROM payments p JOIN bookings b ON b.id = p.booking_id
			WHERE p.id = t.payment_id AND ($7 = '' OR b.location_id = $7) AND ($8 = '' OR p.service_id = $8)))
		ORDER BY t.id LIMIT $5`, f.Kind, f.Kassenzeichen, nullTime(f.From), nullTime(f.To), limit(f.Limit),
		f.Reference, f.Location, f.Service)
}

// PostingsOnValueDate lists the postings whose money moved on a day.
func (s *Store) PostingsOnValueDate(ctx context.Context, day time.Time) ([]payment.Posting, error) {
	return selectPostings(ctx, s.db, "postings of "+day.Format(time.DateOnly),
		`SELECT `+postingColumns+postingFrom+`WHERE t.value_date = $1 ORDER BY t.id`, day.Format(time.DateOnly))
}

// PostingsByReference lists the postings of payments with the given
// references.
func (s *Store) PostingsByReference(ctx context.Context, refs []string) ([]payment.Posting, error) {
	if len(refs) == 0 {
		return []payment.Posting{}, nil
	}
	q, args, err := sqlx.In(`SELECT `+postingColumns+postingFrom+`WHERE t.payment_reference IN (?) ORDER BY t.id`, refs)
	if err != nil {
		return nil, err
	}
	return selectPostings(ctx, s.db, "postings by reference", s.db.Rebind(q), args...)
}

// PostingByID returns a posting by its id.
func (s *Store) PostingByID(ctx context.Context, id int64) (payment.Posting, error) {
	var r postingRow
	if err := s.db.GetContext(ctx, &r, `SELECT `+postingColumns+postingFrom+`WHERE t.id = $1`, id); err != nil {
		return payment.Posting{}, unavailable("load posting", err)
	}
	return payment.Posting(r), nil
}

func (t *txStore) InsertPosting(ctx context.Context, p *payment.Posting, reverses int64) error {
	var rev any
	if reverses != 0 {
		rev = reverses
	}
	err := t.tx.GetContext(ctx, &p.ID, `
		INSERT INTO postings (posting_id, kind, reverses, payment_id, kassenzeichen, amount_cents, currency, value_date,
			booking_date, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text, payment_method, platform,
			platform_id, payment_reference, booking_code, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		RETURNING id`,
		p.PostingID, p.Kind, rev, p.PaymentID, p.Kassenzeichen, p.AmountCents, p.Currency, p.ValueDate.Format(time.DateOnly),
		p.BookingDate.Format(time.DateOnly), p.Haushaltsstelle, p.Produkt, p.Sachkonto, p.Kostenstelle,
		p.BookingText, p.PaymentMethod, p.Platform, p.PlatformID, p.PaymentReference, p.BookingCode, p.CreatedAt)
	if err != nil {
		return unavailable("write posting "+p.PostingID, err)
	}
	return nil
}

func (t *txStore) PaymentPostings(ctx context.Context, paymentID int64, kind string) ([]int64, error) {
	var ids []int64
	if err := t.tx.SelectContext(ctx, &ids, `SELECT id FROM postings WHERE payment_id = $1 AND kind = $2 ORDER BY id`, paymentID, kind); err != nil {
		return nil, unavailable("postings of payment", err)
	}
	return ids, nil
}
