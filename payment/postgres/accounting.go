package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
)

// SaveAccounting stores the account assignments of services.
func (s *Store) SaveAccounting(ctx context.Context, list []payment.Accounting) error {
	return pgtx.InTx(ctx, s.db, payment.ErrStoreUnavailable, func(tx *sqlx.Tx) error {
		for _, a := range list {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO service_accounting (service_id, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text, tax_rate_bp)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (service_id) DO UPDATE SET haushaltsstelle = $2, produkt = $3, sachkonto = $4,
					kostenstelle = $5, booking_text = $6, tax_rate_bp = $7, updated_at = now()`,
				a.Service, a.Haushaltsstelle, a.Produkt, a.Sachkonto, a.Kostenstelle, a.BookingText, a.TaxRateBasisPoints); err != nil {
				return unavailable("save accounting of "+a.Service, err)
			}
		}
		return nil
	})
}

func accountingOf(ctx context.Context, q sqlx.QueryerContext, serviceID string) (payment.Accounting, error) {
	var rows []struct {
		Service            string `db:"service_id"`
		Haushaltsstelle    string `db:"haushaltsstelle"`
		Produkt            string `db:"produkt"`
		Sachkonto          string `db:"sachkonto"`
		Kostenstelle       string `db:"kostenstelle"`
		BookingText        string `db:"booking_text"`
		TaxRateBasisPoints int    `db:"tax_rate_bp"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT service_id, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text, tax_rate_bp
		FROM service_accounting WHERE service_id = $1`, serviceID); err != nil {
		return payment.Accounting{}, unavailable("accounting of "+serviceID, err)
	}
	if len(rows) == 0 {
		return payment.Accounting{Service: serviceID}, nil
	}
	return payment.Accounting(rows[0]), nil
}

// Accounting returns a service's account assignment; a service without
// one is posted with empty fields, which finance sees in the export and in
// the postings list.
func (s *Store) Accounting(ctx context.Context, serviceID string) (payment.Accounting, error) {
	return accountingOf(ctx, s.db, serviceID)
}

func (t *txStore) Accounting(ctx context.Context, serviceID string) (payment.Accounting, error) {
	return accountingOf(ctx, t.tx, serviceID)
}
