package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Accounting is the account assignment (Kontierung) of a service's fee: where
// the treasury books the money.
type Accounting struct {
	Service         string
	Haushaltsstelle string
	Produkt         string
	Sachkonto       string
	Kostenstelle    string
	BookingText     string
	// TaxRateBasisPoints is the VAT rate of the fee in hundredths of a
	// percent (1900 = 19 %); 0 for fees without VAT.
	TaxRateBasisPoints int
}

// SameAssignment reports whether two services are posted to the same
// accounts (the booking text may differ).
func (a Accounting) SameAssignment(b Accounting) bool {
	return a.Haushaltsstelle == b.Haushaltsstelle && a.Produkt == b.Produkt && a.Sachkonto == b.Sachkonto && a.Kostenstelle == b.Kostenstelle
}

// accountingFile is the format of the accounting file: a list next to the
// city file, keyed by service id.
type accountingFile struct {
	Services []struct {
		Service         string `json:"service"`
		Haushaltsstelle string `json:"haushaltsstelle"`
		Produkt         string `json:"produkt"`
		Sachkonto       string `json:"sachkonto"`
		Kostenstelle    string `json:"kostenstelle"`
		BookingText     string `json:"booking_text"`
		// TaxRate is a percentage with at most two decimals ("19", "7").
		TaxRate string `json:"tax_rate,omitempty"`
	} `json:"services"`
}

// ErrAccountingInvalid reports an accounting file that cannot be used.
var ErrAccountingInvalid = errors.New("invalid accounting file")

// ParseAccounting reads an accounting file:
//
//	{"services": [{"service": "erwachsene", "haushaltsstelle": "...", "produkt": "...",
//	  "sachkonto": "...", "kostenstelle": "...", "booking_text": "...", "tax_rate": "19"}]}
//
// tax_rate is optional (0 %).
func ParseAccounting(r io.Reader) ([]Accounting, error) {
	var f accountingFile
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAccountingInvalid, err)
	}
	seen := map[string]bool{}
	list := make([]Accounting, 0, len(f.Services))
	for _, e := range f.Services {
		a := Accounting{Service: e.Service, Haushaltsstelle: e.Haushaltsstelle, Produkt: e.Produkt, Sachkonto: e.Sachkonto,
			Kostenstelle: e.Kostenstelle, BookingText: e.BookingText}
		if e.TaxRate != "" {
			bp, err := ParseCents(e.TaxRate)
			if err != nil || bp < 0 || bp > 10000 {
				return nil, fmt.Errorf("%w: service %s: tax_rate %q must be a percentage 0-100", ErrAccountingInvalid, e.Service, e.TaxRate)
			}
			a.TaxRateBasisPoints = int(bp)
		}
		list = append(list, a)
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
	return list, nil
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
