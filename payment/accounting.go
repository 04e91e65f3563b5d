package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// Accounting is the account assignment (Kontierung) of a service's fee: where
// the treasury books the money.
type Accounting struct {
	Service         string `json:"service" db:"service_id"`
	Haushaltsstelle string `json:"haushaltsstelle" db:"haushaltsstelle"`
	Produkt         string `json:"produkt" db:"produkt"`
	Sachkonto       string `json:"sachkonto" db:"sachkonto"`
	Kostenstelle    string `json:"kostenstelle" db:"kostenstelle"`
	BookingText     string `json:"booking_text" db:"booking_text"`
}

// accountingFile is the format of the accounting file: a list next to the
// city file, keyed by service id.
type accountingFile struct {
	Services []Accounting `json:"services"`
}

// ErrAccountingInvalid reports an accounting file that cannot be used.
var ErrAccountingInvalid = errors.New("invalid accounting file")

// ParseAccounting reads an accounting file:
//
//	{"services": [{"service": "erwachsene", "haushaltsstelle": "...", "produkt": "...",
//	  "sachkonto": "...", "kostenstelle": "...", "booking_text": "..."}]}
func ParseAccounting(r io.Reader) ([]Accounting, error) {
	var f accountingFile
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAccountingInvalid, err)
	}
	seen := map[string]bool{}
	for _, a := range f.Services {
		if a.Service == "" || seen[a.Service] {
			return nil, fmt.Errorf("%w: service id missing or repeated: %q", ErrAccountingInvalid, a.Service)
		}
		seen[a.Service] = true
		for _, v := range []string{a.Haushaltsstelle, a.Produkt, a.Sachkonto, a.Kostenstelle, a.BookingText} {
			// The fields travel in a ';'-separated export file and in
			// platform booking data; keep them short and single-line.
			if !utf8.ValidString(v) || len(v) > 120 || containsAny(v, ";\r\n\"") {
				return nil, fmt.Errorf("%w: service %s: field %q not allowed", ErrAccountingInvalid, a.Service, v)
			}
		}
	}
	return f.Services, nil
}

func containsAny(s, chars string) bool {
	for _, r := range s {
		for _, c := range chars {
			if r == c {
				return true
			}
		}
	}
	return false
}

// SaveAccounting stores the account assignments of services.
func (s *Store) SaveAccounting(ctx context.Context, list []Accounting) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, a := range list {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO service_accounting (service_id, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (service_id) DO UPDATE SET haushaltsstelle = $2, produkt = $3, sachkonto = $4,
					kostenstelle = $5, booking_text = $6, updated_at = now()`,
				a.Service, a.Haushaltsstelle, a.Produkt, a.Sachkonto, a.Kostenstelle, a.BookingText); err != nil {
				return fmt.Errorf("save accounting of %s: %w", a.Service, err)
			}
		}
		return nil
	})
}

// accountingOf returns a service's account assignment; a service without
// one is posted with empty fields, which finance sees in the export and in
// the postings list.
func accountingOf(ctx context.Context, q sqlx.QueryerContext, serviceID string) (Accounting, error) {
	var a []Accounting
	if err := sqlx.SelectContext(ctx, q, &a, `SELECT service_id, haushaltsstelle, produkt, sachkonto, kostenstelle, booking_text
		FROM service_accounting WHERE service_id = $1`, serviceID); err != nil {
		return Accounting{}, fmt.Errorf("accounting of %s: %w", serviceID, err)
	}
	if len(a) == 0 {
		return Accounting{Service: serviceID}, nil
	}
	return a[0], nil
}
