// Package settlement reads and writes a payment platform's daily settlement
// report: one line per payment paid and per refund made on a day, and the
// payout — the lump sum the platform transfers to the city's account, which
// appears on the bank statement as a single credit.
//
// The layout is the simulator's (package paysim); real platforms' reports
// differ in columns, so each gets its own reader when the city connects
// one. Layout, ';'-separated, UTF-8, amounts as decimal euros:
//
//	record;date;platform_id;reference;kassenzeichen;gross;fee;net;method
//	payment;2025-03-14;EP-000001;T-1;BA0000428;37.00;0.69;36.31;paypal
//	refund;2025-03-14;EP-000002;T-2;BA0000436;-10.00;0.00;-10.00;creditcard
//	payout;2025-03-14;SIM-PO-20250314;;;27.00;0.69;26.31;
package settlement

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// ErrMalformed reports a report that does not follow the layout or whose
// sums do not add up.
var ErrMalformed = errors.New("malformed settlement report")

// Header is the first row of every report.
var Header = []string{"record", "date", "platform_id", "reference", "kassenzeichen", "gross", "fee", "net", "method"}

// Kinds of line.
const (
	KindPayment = "payment"
	KindRefund  = "refund"
	kindPayout  = "payout"
)

const dateLayout = "2006-01-02"

// Line is one payment or refund in the report.
type Line struct {
	Kind          string    // KindPayment or KindRefund
	Date          time.Time // the day it happened (UTC midnight of the civil date)
	PlatformID    string
	Reference     string // our payment id
	Kassenzeichen string
	GrossCents    int64 // negative for refunds
	FeeCents      int64
	NetCents      int64 // Gross − Fee
	Method        string
}

// Report is one day's settlement.
type Report struct {
	Date       time.Time // settlement day (UTC midnight of the civil date)
	PayoutID   string    // appears in the bank statement's remittance information
	Lines      []Line
	GrossCents int64 // sums over Lines
	FeeCents   int64
	NetCents   int64 // the payout amount
}

// Totals recomputes GrossCents, FeeCents and NetCents from the lines.
func (r *Report) Totals() {
	r.GrossCents, r.FeeCents, r.NetCents = 0, 0, 0
	for _, l := range r.Lines {
		r.GrossCents += l.GrossCents
		r.FeeCents += l.FeeCents
		r.NetCents += l.NetCents
	}
}

// Write writes r in the report layout.
func Write(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	rows := [][]string{Header}
	for _, l := range r.Lines {
		rows = append(rows, []string{l.Kind, l.Date.Format(dateLayout), l.PlatformID, l.Reference, l.Kassenzeichen,
			payment.FormatCents(l.GrossCents), payment.FormatCents(l.FeeCents), payment.FormatCents(l.NetCents), l.Method})
	}
	rows = append(rows, []string{kindPayout, r.Date.Format(dateLayout), r.PayoutID, "", "",
		payment.FormatCents(r.GrossCents), payment.FormatCents(r.FeeCents), payment.FormatCents(r.NetCents), ""})
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write settlement report: %w", err)
	}
	return nil
}

// Parse reads a report and checks it: every line's net is gross minus fee,
// payment lines are positive and refund lines negative, exactly one payout
// row ends the report, and its totals equal the sums of the lines. A report
// that does not add up is rejected rather than half-trusted.
func Parse(rd io.Reader) (Report, error) {
	cr := csv.NewReader(rd)
	cr.Comma = ';'
	cr.FieldsPerRecord = len(Header)
	cr.ReuseRecord = false
	rows, err := cr.ReadAll()
	if err != nil {
		return Report{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(rows) < 2 || !slices.Equal(rows[0], Header) {
		return Report{}, fmt.Errorf("%w: missing header or payout row", ErrMalformed)
	}
	var rep Report
	for i, row := range rows[1:] {
		lineNo := i + 2
		date, err := time.Parse(dateLayout, row[1])
		if err != nil {
			return Report{}, fmt.Errorf("%w: line %d: date: %w", ErrMalformed, lineNo, err)
		}
		var amt [3]int64
		for j := range amt {
			if amt[j], err = payment.ParseCents(row[5+j]); err != nil {
				return Report{}, fmt.Errorf("%w: line %d: %s: %w", ErrMalformed, lineNo, Header[5+j], err)
			}
		}
		gross, fee, net := amt[0], amt[1], amt[2]
		if gross-fee != net {
			return Report{}, fmt.Errorf("%w: line %d: net %d ≠ gross %d − fee %d", ErrMalformed, lineNo, net, gross, fee)
		}
		if row[2] == "" {
			return Report{}, fmt.Errorf("%w: line %d: empty id", ErrMalformed, lineNo)
		}
		switch row[0] {
		case KindPayment, KindRefund:
			if (row[0] == KindPayment) != (gross > 0) || fee < 0 || (row[0] == KindRefund && gross >= 0) {
				return Report{}, fmt.Errorf("%w: line %d: sign of %s amounts", ErrMalformed, lineNo, row[0])
			}
			rep.Lines = append(rep.Lines, Line{Kind: row[0], Date: date, PlatformID: row[2], Reference: row[3],
				Kassenzeichen: row[4], GrossCents: gross, FeeCents: fee, NetCents: net, Method: row[8]})
		case kindPayout:
			if lineNo != len(rows) {
				return Report{}, fmt.Errorf("%w: line %d: payout row must be last", ErrMalformed, lineNo)
			}
			rep.Date, rep.PayoutID = date, row[2]
			want := rep
			want.Totals()
			if gross != want.GrossCents || fee != want.FeeCents || net != want.NetCents {
				return Report{}, fmt.Errorf("%w: payout %d/%d/%d does not equal the lines' sums %d/%d/%d",
					ErrMalformed, gross, fee, net, want.GrossCents, want.FeeCents, want.NetCents)
			}
			rep.GrossCents, rep.FeeCents, rep.NetCents = gross, fee, net
		default:
			return Report{}, fmt.Errorf("%w: line %d: unknown record %q", ErrMalformed, lineNo, row[0])
		}
	}
	if rep.PayoutID == "" {
		return Report{}, fmt.Errorf("%w: no payout row", ErrMalformed)
	}
	return rep, nil
}
