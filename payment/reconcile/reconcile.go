// Package reconcile matches the payment platform's settlement report and
// the bank statement (camt.053) against the treasury postings, for finance
// staff to resolve what does not match (docs/finance.md).
package reconcile

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

// ErrNotFound reports an unknown reconciliation run.
var ErrNotFound = errors.New("reconciliation run not found")

// Categories of a reconciliation item (docs/finance.md explains them).
const (
	RecMatched         = "matched"            // settlement line, posting and bank payout agree
	RecPaidNotPosted   = "paid_not_posted"    // the platform settled money we have no posting for
	RecPostedNotInBank = "posted_not_in_bank" // we posted it, but no settled payout on the statement carries it
	RecBankUnmatched   = "bank_unmatched"     // a bank entry that matches neither a payout nor a posting
	RecAmountDiffers   = "amount_differs"     // found on both sides with different amounts
)

// RecItem is one line of a reconciliation.
type RecItem struct {
	Category        string
	Reference       string
	Kassenzeichen   string
	PlatformID      string
	PostingID       string
	SettlementCents int64
	PostedCents     int64
	BankCents       int64
	Detail          string
}

// RecFee is the platform's fee on one settlement line, listed apart from
// the postings (it is booked as an expense, not against the fee income).
type RecFee struct {
	Reference  string
	PlatformID string
	FeeCents   int64
}

// Reconciliation is the result of one run.
type Reconciliation struct {
	ID             int64
	SettlementDate string
	PayoutID       string
	PayoutCents    int64
	BankPayout     int64
	StatementID    string
	Items          []RecItem
	Fees           []RecFee
	FeeTotalCents  int64
	Counts         map[string]int
	CreatedAt      time.Time
}

// Store is what a reconciliation needs of storage; payment/postgres
// implements it.
type Store interface {
	// PostingsByReference lists the postings of payments with the given
	// references.
	PostingsByReference(ctx context.Context, refs []string) ([]payment.Posting, error)
	// PostingsOnValueDate lists the postings whose money moved on a day.
	PostingsOnValueDate(ctx context.Context, day time.Time) ([]payment.Posting, error)
	// SaveReconciliation stores a run and fills in its ID and CreatedAt.
	SaveReconciliation(ctx context.Context, r *Reconciliation) error
	// Reconciliation reads a stored run, or answers ErrNotFound.
	Reconciliation(ctx context.Context, id int64) (*Reconciliation, error)
}

// Run matches a day's settlement report and the bank statement that
// carries its payout against our postings (Match), and stores the run.
func Run(ctx context.Context, s Store, rep settlement.Report, doc camt.Document) (*Reconciliation, error) {
	refs := make([]string, 0, len(rep.Lines))
	for _, l := range rep.Lines {
		refs = append(refs, l.Reference)
	}
	postings, err := s.PostingsByReference(ctx, refs)
	if err != nil {
		return nil, err
	}
	day, err := s.PostingsOnValueDate(ctx, rep.Date)
	if err != nil {
		return nil, err
	}
	r := Match(rep, doc, postings, day)
	if err := s.SaveReconciliation(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ByID reads a stored run.
func ByID(ctx context.Context, s Store, id int64) (*Reconciliation, error) {
	return s.Reconciliation(ctx, id)
}

// Match matches a day's settlement report and the bank statement that
// carries its payout against our postings: postings are those of the
// report's payments (any day), dayPostings those whose money moved on the
// settlement day. The payout is found on the statement by its payout id
// (end-to-end id or remittance information) and split into the settlement
// lines; each line is matched to a posting by our payment reference (the
// Kassenzeichen is compared as well), its amount and its value date.
// Postings of the day that the platform did not settle are matched against
// direct transfers quoting their Kassenzeichen.
func Match(rep settlement.Report, doc camt.Document, postings, dayPostings []payment.Posting) *Reconciliation {
	r := &Reconciliation{SettlementDate: rep.Date.Format(time.DateOnly), PayoutID: rep.PayoutID, PayoutCents: rep.NetCents,
		Items: []RecItem{}, Fees: []RecFee{}, Counts: map[string]int{}}
	add := func(it RecItem) {
		r.Items = append(r.Items, it)
		r.Counts[it.Category]++
	}

	// The payout on the statement.
	payoutFound := false
	type bankEntry struct {
		e    camt.Entry
		used bool
	}
	var entries []*bankEntry
	for _, st := range doc.Statements {
		if r.StatementID == "" {
			r.StatementID = st.ID
		}
		for _, e := range st.Entries {
			entries = append(entries, &bankEntry{e: e})
		}
	}
	for _, be := range entries {
		if rep.PayoutID == "" || !entryMentions(be.e, rep.PayoutID) {
			continue
		}
		be.used, payoutFound = true, true
		r.BankPayout = be.e.SignedCents()
		if be.e.SignedCents() != rep.NetCents {
			add(RecItem{Category: RecAmountDiffers, Reference: rep.PayoutID, SettlementCents: rep.NetCents, BankCents: be.e.SignedCents(),
				Detail: "payout on the bank statement differs from the settlement report"})
		}
		break
	}

	// Settlement lines against postings.
	byRefKind := map[string]payment.Posting{}
	for _, p := range postings {
		byRefKind[p.PaymentReference+"/"+p.Kind] = p
	}
	used := map[string]bool{}
	for _, l := range rep.Lines {
		if l.FeeCents != 0 {
			r.Fees = append(r.Fees, RecFee{Reference: l.Reference, PlatformID: l.PlatformID, FeeCents: l.FeeCents})
			r.FeeTotalCents += l.FeeCents
		}
		kind := "payment"
		if l.Kind == settlement.KindRefund {
			kind = "storno"
		}
		it := RecItem{Reference: l.Reference, Kassenzeichen: l.Kassenzeichen, PlatformID: l.PlatformID, SettlementCents: l.GrossCents}
		p, ok := byRefKind[l.Reference+"/"+kind]
		if !ok {
			it.Category, it.Detail = RecPaidNotPosted, "no "+kind+" posting for this "+l.Kind
			add(it)
			continue
		}
		used[p.PostingID] = true
		it.PostingID, it.PostedCents = p.PostingID, p.AmountCents
		if payoutFound {
			it.BankCents = l.NetCents
		}
		switch {
		case p.AmountCents != l.GrossCents:
			it.Category, it.Detail = RecAmountDiffers, "settled amount differs from the posting"
		case l.Kassenzeichen != "" && l.Kassenzeichen != p.Kassenzeichen:
			it.Category, it.Detail = RecAmountDiffers, "Kassenzeichen differs: "+l.Kassenzeichen
		case !payoutFound:
			it.Category, it.Detail = RecPostedNotInBank, "payout "+rep.PayoutID+" not on the bank statement"
		case kind == "payment" && !p.ValueDate.Equal(rep.Date):
			it.Category, it.Detail = RecMatched, "value date "+p.ValueDate.Format(time.DateOnly)+" differs from the settlement day"
		default:
			it.Category = RecMatched
		}
		add(it)
	}

	// Postings of the day that the platform did not settle.
	for _, p := range dayPostings {
		if used[p.PostingID] {
			continue
		}
		// A direct transfer quoting the Kassenzeichen on the statement.
		matched := false
		for _, be := range entries {
			if !be.used && entryMentions(be.e, p.Kassenzeichen) && be.e.SignedCents() == p.AmountCents {
				be.used, matched = true, true
				add(RecItem{Category: RecMatched, Reference: p.PaymentReference, Kassenzeichen: p.Kassenzeichen, PostingID: p.PostingID,
					PostedCents: p.AmountCents, BankCents: p.AmountCents, Detail: "direct bank transfer " + be.e.AcctSvcrRef})
				break
			}
		}
		if !matched {
			add(RecItem{Category: RecPostedNotInBank, Reference: p.PaymentReference, Kassenzeichen: p.Kassenzeichen, PostingID: p.PostingID,
				PostedCents: p.AmountCents, Detail: "posted, but not in the settlement report of the day"})
		}
	}
	for _, be := range entries {
		if !be.used {
			add(RecItem{Category: RecBankUnmatched, BankCents: be.e.SignedCents(), Reference: be.e.AcctSvcrRef,
				Detail: strings.Join(remittance(be.e), " / ")})
		}
	}

	return r
}

func remittance(e camt.Entry) []string {
	var out []string
	for _, t := range e.Transactions {
		if t.EndToEndID != "" {
			out = append(out, t.EndToEndID)
		}
		out = append(out, t.Remittance...)
	}
	return out
}

func entryMentions(e camt.Entry, token string) bool {
	if token == "" {
		return false
	}
	for _, s := range remittance(e) {
		if s == token || strings.Contains(s, token) {
			return true
		}
	}
	return false
}

// WriteCSV writes a run's items and fees as ';'-separated CSV.
func WriteCSV(w io.Writer, r *Reconciliation) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	_ = cw.Write([]string{"kategorie", "referenz", "kassenzeichen", "plattform_id", "buchungs_id", "betrag_abrechnung", "betrag_buchung", "betrag_bank", "hinweis"})
	for _, it := range r.Items {
		_ = cw.Write([]string{it.Category, it.Reference, it.Kassenzeichen, it.PlatformID, it.PostingID, payment.FormatCents(it.SettlementCents),
			payment.FormatCents(it.PostedCents), payment.FormatCents(it.BankCents), it.Detail})
	}
	for _, f := range r.Fees {
		_ = cw.Write([]string{"platform_fee", f.Reference, "", f.PlatformID, "", payment.FormatCents(-f.FeeCents), "", "", "Entgelt der Zahlungsplattform"})
	}
	cw.Flush()
	return cw.Error()
}
