// Package reconcile matches the payment platform's settlement report and
// the bank statement (camt.053) against the treasury postings, for finance
// staff to resolve what does not match (docs/finance.md).
package reconcile

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

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
	// Statements are the bank statements the run read; Warnings what a
	// person should look at besides the items (statements.go).
	Statements []StatementInfo
	Warnings   []Warning
	CreatedAt  time.Time
}

// Options are a city's settings for reconciliation.
type Options struct {
	// PayoutAccount is the account the platform pays out to (IBAN, or
	// the bank's other account id), as statements identify it. Only its
	// booked entries are matched; statements of other accounts are
	// listed as skipped. Empty matches the entries of every account.
	PayoutAccount string
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
	// It keeps the run's statements and, under a lock per account so
	// that concurrent imports see each other, adds to r.Warnings what
	// CheckStatements finds against the statements of earlier runs.
	SaveReconciliation(ctx context.Context, r *Reconciliation) error
	// Reconciliation reads a stored run, or answers ErrNotFound.
	Reconciliation(ctx context.Context, id int64) (*Reconciliation, error)
}

// Run matches a day's settlement report and the bank statement that
// carries its payout against our postings (Match), and stores the run.
func Run(ctx context.Context, s Store, rep settlement.Report, doc camt.Document, opt Options) (*Reconciliation, error) {
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
	r := Match(rep, doc, postings, day, opt)
	if err := s.SaveReconciliation(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ByID reads a stored run.
func ByID(ctx context.Context, s Store, id int64) (*Reconciliation, error) {
	return s.Reconciliation(ctx, id)
}

// bankItem is what is matched on the statement: an entry, or one
// transaction of a batch entry whose details add up.
type bankItem struct {
	entry     *camt.Entry
	cents     int64 // signed
	reference string
	texts     []string // for matching, squeezed
	shown     []string // for people: the texts as the bank wrote them
	// unmatchable says why the item is listed without being matched (a
	// reversal, a return); "" for items that can be matched.
	unmatchable string
	notes       []string // charges and the like, for the item's detail
	used        bool
}

// Match matches a day's settlement report and the bank statement that
// carries its payout against our postings: postings are those of the
// report's payments (any day), dayPostings those whose money moved on the
// settlement day. Only booked entries of the payout account take part;
// a batch entry whose transactions add up is matched transaction by
// transaction. The payout is found on the statement by its payout id
// (in any reference or text of the entry) and split into the settlement
// lines; each line is matched to a posting by our payment reference (the
// Kassenzeichen is compared as well), its amount and its value date.
// Without a payout entry, a line is found on the statement when a bank
// item quotes its reference or Kassenzeichen with its net amount (a
// platform paying out each payment). Postings of the day that the
// platform did not settle are matched against direct transfers quoting
// their Kassenzeichen. What the statement holds besides is listed.
func Match(rep settlement.Report, doc camt.Document, postings, dayPostings []payment.Posting, opt Options) *Reconciliation {
	r := &Reconciliation{SettlementDate: rep.Date.Format(time.DateOnly), PayoutID: rep.PayoutID, PayoutCents: rep.NetCents,
		Items: []RecItem{}, Fees: []RecFee{}, Counts: map[string]int{}, Statements: []StatementInfo{}, Warnings: []Warning{}}
	add := func(it RecItem) {
		r.Items = append(r.Items, it)
		r.Counts[it.Category]++
	}
	items, entries := statementItems(r, doc, opt)

	// The payout on the statement.
	payoutFound := false
	for _, e := range entries {
		if rep.PayoutID == "" || e.Reversal || !mentions(squeezeAll(e.Texts()), rep.PayoutID) {
			continue
		}
		payoutFound = true
		for _, it := range items {
			if it.entry == e {
				it.used = true
			}
		}
		r.BankPayout = e.SignedCents()
		if e.SignedCents() != rep.NetCents {
			add(RecItem{Category: RecAmountDiffers, Reference: rep.PayoutID, SettlementCents: rep.NetCents, BankCents: e.SignedCents(),
				Detail: "payout on the bank statement differs from the settlement report"})
		}
		break
	}
	// find takes the first unused item quoting one of tokens with the
	// amount.
	find := func(cents int64, tokens ...string) *bankItem {
		for _, it := range items {
			if it.used || it.unmatchable != "" || it.cents != cents {
				continue
			}
			for _, tok := range tokens {
				if mentions(it.texts, tok) {
					it.used = true
					return it
				}
			}
		}
		return nil
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
		var single *bankItem
		if payoutFound {
			it.BankCents = l.NetCents
		} else if single = find(l.NetCents, l.Reference, l.Kassenzeichen); single != nil {
			it.BankCents = single.cents
		}
		inBank := payoutFound || single != nil
		switch {
		case p.AmountCents != l.GrossCents:
			it.Category, it.Detail = RecAmountDiffers, "settled amount differs from the posting"
		case l.Kassenzeichen != "" && l.Kassenzeichen != p.Kassenzeichen:
			it.Category, it.Detail = RecAmountDiffers, "Kassenzeichen differs: "+l.Kassenzeichen
		case !inBank:
			it.Category, it.Detail = RecPostedNotInBank, "payout "+rep.PayoutID+" not on the bank statement"
		case kind == "payment" && !p.ValueDate.Equal(rep.Date):
			it.Category, it.Detail = RecMatched, "value date "+p.ValueDate.Format(time.DateOnly)+" differs from the settlement day"
		default:
			it.Category = RecMatched
		}
		if single != nil && it.Category == RecMatched {
			it.Detail = joinNonEmpty([]string{"paid out singly, bank entry " + single.reference, it.Detail}, "; ")
		}
		add(it)
	}

	// Postings of the day that the platform did not settle: a direct
	// transfer quoting the Kassenzeichen on the statement.
	for _, p := range dayPostings {
		if used[p.PostingID] {
			continue
		}
		if bi := find(p.AmountCents, p.Kassenzeichen); bi != nil {
			add(RecItem{Category: RecMatched, Reference: p.PaymentReference, Kassenzeichen: p.Kassenzeichen, PostingID: p.PostingID,
				PostedCents: p.AmountCents, BankCents: bi.cents, Detail: "direct bank transfer " + bi.reference})
			continue
		}
		add(RecItem{Category: RecPostedNotInBank, Reference: p.PaymentReference, Kassenzeichen: p.Kassenzeichen, PostingID: p.PostingID,
			PostedCents: p.AmountCents, Detail: "posted, but not in the settlement report of the day"})
	}
	for _, it := range items {
		if it.used {
			continue
		}
		detail := append(append([]string{it.unmatchable}, it.notes...), it.shown...)
		add(RecItem{Category: RecBankUnmatched, BankCents: it.cents, Reference: it.reference, Detail: joinNonEmpty(detail, " / ")})
	}
	return r
}

// mentions reports whether one of texts (squeezed) contains token,
// ignoring case and blanks (banks write "TB 0000 0000 12" and cut lines
// anywhere).
func mentions(texts []string, token string) bool {
	tok := squeeze(token)
	if tok == "" {
		return false
	}
	for _, s := range texts {
		if strings.Contains(s, tok) {
			return true
		}
	}
	return false
}

func squeezeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = squeeze(s)
	}
	return out
}

func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

func joinNonEmpty(ss []string, sep string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}

// WriteCSV writes a run's items, fees and warnings as ';'-separated CSV;
// warnings are rows of category "warning_" + their code.
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
	for _, w := range r.Warnings {
		ref := w.BankReference
		if ref == "" {
			ref = w.StatementID
		}
		where := "statement " + w.StatementID
		if w.Entry > 0 {
			where += " entry " + strconv.Itoa(w.Entry)
		}
		amount := ""
		if w.Entry > 0 {
			amount = payment.FormatCents(w.AmountCents)
		}
		_ = cw.Write([]string{"warning_" + w.Code, ref, "", "", "", "", "", amount, where + ": " + w.Detail})
	}
	cw.Flush()
	return cw.Error()
}
