package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
)

// Warning codes: what a person should look at besides the items of a run
// (docs/finance.md says what each means and what to do).
const (
	WarnBalanceMismatch    = "balance_mismatch"    // opening balance + booked entries ≠ closing balance
	WarnSequenceGap        = "sequence_gap"        // a statement between the last one imported and this one is missing
	WarnDuplicateStatement = "duplicate_statement" // the statement was imported in an earlier run
	WarnBatchFlagged       = "batch_flagged"       // a batch entry without details, or whose details do not add up
	WarnEntrySkipped       = "entry_skipped"       // an entry not matched: pending, information only, another account
	WarnEntryUnreadable    = "entry_unreadable"    // an entry that could not be read; the rest of the statement was
	WarnBreakdownUnmatched = "breakdown_unmatched" // a camt.054 breakdown that details no entry of the statement
)

// Reasons of WarnEntrySkipped; WarnBatchFlagged has camt's Batch… reasons.
const (
	SkipPending      = "pending"       // status PDNG: not booked yet
	SkipInformation  = "information"   // status INFO: for information, never booked
	SkipOtherStatus  = "other_status"  // any other status
	SkipOtherAccount = "other_account" // a statement of another account than the payout account
)

// Warning is one finding about the bank statement.
type Warning struct {
	Code   string // Warn…
	Reason string // entry_skipped: Skip…; batch_flagged: camt.Batch…; else ""
	// StatementID and Account name the statement; Entry is the position
	// of the entry in it (from 1; 0 for a warning about the statement).
	StatementID   string
	Account       string
	Entry         int
	BankReference string // the entry's AcctSvcrRef
	AmountCents   int64  // the entry's signed amount
	// Expected and Found are what the check wanted and met:
	// balance_mismatch: closing balance computed (opening + booked
	// entries) and stated, in cents; sequence_gap: the sequence number
	// that should have come next and the one that came; batch_flagged:
	// count_differs the transactions announced and detailed,
	// sum_differs the entry's amount and the sum of its transactions
	// (cents), details_missing the transactions announced and 0,
	// amounts_missing the transactions and those with an amount;
	// entry_skipped other_account: 0 and the statement's entries.
	Expected, Found int64
	// EarlierRunID is the run that imported the statement first
	// (duplicate_statement).
	EarlierRunID int64
	Detail       string // one sentence in English for people
}

// StatementInfo is what a run keeps of each statement it read, to show it
// and to find gaps and second imports.
type StatementInfo struct {
	Account       string
	StatementID   string
	MessageID     string
	ElectronicSeq int64 // ElctrncSeqNb, 0 when absent
	LegalSeq      int64 // LglSeqNb, 0 when absent
	From, To      time.Time
	CreatedAt     time.Time
	Entries       int
	// PayoutAccount is true when the entries were matched (the statement
	// is of the payout account, or none is configured).
	PayoutAccount bool
}

// ImportedStatement is a statement of an earlier run.
type ImportedStatement struct {
	StatementInfo
	RunID int64
}

// AccountKey is an account id as compared: without blanks, upper case.
func AccountKey(account string) string { return squeeze(account) }

func sameAccount(a, b string) bool { return AccountKey(a) == AccountKey(b) }

// statementItems lists the statements of doc in r, warns about what is not
// matched or does not add up, and returns the bank items to match with
// the entries they come from.
func statementItems(r *Reconciliation, doc camt.Document, opt Options) ([]*bankItem, []*camt.Entry) {
	for _, p := range doc.Problems {
		code := WarnEntryUnreadable
		if p.Code == camt.ProblemBreakdownUnmatched {
			code = WarnBreakdownUnmatched
		}
		r.Warnings = append(r.Warnings, Warning{Code: code, StatementID: p.StatementID, Account: p.Account, Entry: p.Entry,
			BankReference: p.BankReference, AmountCents: p.AmountCents, Detail: p.Detail})
	}
	var items []*bankItem
	var entries []*camt.Entry
	for si := range doc.Statements {
		st := &doc.Statements[si]
		if r.StatementID == "" {
			r.StatementID = st.ID
		}
		info := StatementInfo{Account: st.Account, StatementID: st.ID, MessageID: doc.MessageID, ElectronicSeq: st.ElectronicSeq,
			LegalSeq: st.LegalSeq, From: st.From, To: st.To, CreatedAt: st.CreatedAt, Entries: len(st.Entries),
			PayoutAccount: opt.PayoutAccount == "" || sameAccount(st.Account, opt.PayoutAccount)}
		r.Statements = append(r.Statements, info)
		warn := func(w Warning) {
			w.StatementID, w.Account = st.ID, st.Account
			r.Warnings = append(r.Warnings, w)
		}
		if !info.PayoutAccount {
			warn(Warning{Code: WarnEntrySkipped, Reason: SkipOtherAccount, Found: int64(len(st.Entries)),
				Detail: fmt.Sprintf("statement of account %s, not the payout account: %d entries not matched", st.Account, len(st.Entries))})
			continue
		}
		if b := st.CheckBalance(); !b.OK() {
			detail := fmt.Sprintf("opening balance %s + booked entries %s = %s, but the closing balance is %s",
				payment.FormatCents(b.OpeningCents), payment.FormatCents(b.BookedCents),
				payment.FormatCents(b.OpeningCents+b.BookedCents), payment.FormatCents(b.ClosingCents))
			if n := problemsOf(doc, st); n > 0 {
				detail += fmt.Sprintf(" (%d entries could not be read)", n)
			}
			warn(Warning{Code: WarnBalanceMismatch, Expected: b.OpeningCents + b.BookedCents, Found: b.ClosingCents, Detail: detail})
		}
		for ei := range st.Entries {
			e := &st.Entries[ei]
			w := Warning{Entry: e.Position, BankReference: e.AcctSvcrRef, AmountCents: e.SignedCents()}
			if !e.Booked() {
				w.Code, w.Reason = WarnEntrySkipped, SkipOtherStatus
				switch e.Status {
				case camt.StatusPending:
					w.Reason = SkipPending
				case camt.StatusInfo:
					w.Reason = SkipInformation
				}
				w.Detail = joinNonEmpty(append([]string{"entry with status " + e.Status + ", not matched"}, shownTexts(*e)...), " / ")
				warn(w)
				continue
			}
			entries = append(entries, e)
			reason, detail := e.BatchIssue()
			if reason != "" {
				w.Code, w.Reason, w.Detail = WarnBatchFlagged, reason, detail
				w.Expected, w.Found = batchFigures(*e, reason)
				warn(w)
			}
			if e.IsBatch() && reason == "" {
				for ti, tx := range e.Transactions {
					items = append(items, txItem(e, ti, tx))
				}
				continue
			}
			items = append(items, entryItem(e))
		}
	}
	return items, entries
}

func problemsOf(doc camt.Document, st *camt.Statement) int {
	n := 0
	for _, p := range doc.Problems {
		if p.Code == camt.ProblemEntryUnreadable && p.StatementID == st.ID && p.Account == st.Account {
			n++
		}
	}
	return n
}

func batchFigures(e camt.Entry, reason string) (expected, found int64) {
	switch reason {
	case camt.BatchDetailsMissing:
		return int64(e.BatchCount), 0
	case camt.BatchCountDiffers:
		return int64(e.BatchCount), int64(len(e.Transactions))
	case camt.BatchAmountsMissing:
		n := 0
		for _, t := range e.Transactions {
			if t.AmountKnown {
				n++
			}
		}
		return int64(len(e.Transactions)), int64(n)
	}
	var sum int64
	for _, t := range e.Transactions {
		sum += t.SignedCents()
	}
	return e.SignedCents(), sum
}

// entryItem is a whole entry as one bank item.
func entryItem(e *camt.Entry) *bankItem {
	it := &bankItem{entry: e, cents: e.SignedCents(), reference: e.AcctSvcrRef, texts: squeezeAll(e.Texts()), shown: shownTexts(*e)}
	for _, t := range e.Transactions {
		it.markReturn(t)
		it.noteCharges(t.Charges)
	}
	it.markReversal(*e)
	it.noteCharges(e.Charges)
	return it
}

// txItem is one transaction of a batch entry whose details add up.
func txItem(e *camt.Entry, i int, t camt.Transaction) *bankItem {
	ref := t.AcctSvcrRef
	if ref == "" {
		ref = e.AcctSvcrRef + "/" + strconv.Itoa(i+1)
	}
	it := &bankItem{entry: e, cents: t.SignedCents(), reference: ref, texts: squeezeAll(t.Texts()), shown: shownTx(t)}
	it.markReturn(t)
	it.markReversal(*e)
	it.noteCharges(t.Charges)
	return it
}

func (it *bankItem) markReversal(e camt.Entry) {
	if e.Reversal {
		it.unmatchable = "reversal of an earlier booking (RvslInd)"
	}
}

func (it *bankItem) markReturn(t camt.Transaction) {
	if t.ReturnReason != "" || t.ReturnInfo != "" {
		it.unmatchable = joinNonEmpty([]string{"returned payment", t.ReturnReason, t.ReturnInfo}, " ")
	}
}

func (it *bankItem) noteCharges(cs []camt.Charge) {
	for _, c := range cs {
		sign := "-"
		if c.Credit {
			sign = "+"
		}
		it.notes = append(it.notes, joinNonEmpty([]string{"charges", c.Type, sign + payment.FormatCents(c.AmountCents)}, " "))
	}
}

func shownTexts(e camt.Entry) []string {
	var out []string
	for _, t := range e.Transactions {
		out = append(out, shownTx(t)...)
	}
	if e.AdditionalInfo != "" {
		out = append(out, e.AdditionalInfo)
	}
	return out
}

func shownTx(t camt.Transaction) []string {
	out := []string{t.EndToEndID}
	out = append(out, t.StructuredRefs...)
	out = append(out, t.Remittance...)
	out = append(out, t.AdditionalInfo)
	var kept []string
	for _, s := range out {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// CheckStatements finds, for the statements of r, second imports and gaps
// in the sequence numbers against the statements of earlier runs (prior,
// of the same accounts), and adds them to r.Warnings. A statement is
// imported again when an earlier run read one of the same account with
// the same statement id, or with the same sequence number and period. A
// gap is a sequence number that does not follow the highest lower one
// imported before for the account (in the same year, as many banks count
// anew each year); the electronic sequence number is used, else the legal
// one. Statements of one document are checked in turn.
func CheckStatements(prior []ImportedStatement, r *Reconciliation) {
	seen := append([]ImportedStatement(nil), prior...)
	for _, st := range r.Statements {
		warn := func(w Warning) {
			w.StatementID, w.Account = st.StatementID, st.Account
			r.Warnings = append(r.Warnings, w)
		}
		dup := false
		for _, p := range seen {
			if !sameAccount(p.Account, st.Account) {
				continue
			}
			sameSeq := seqOf(p.StatementInfo) != 0 && seqOf(p.StatementInfo) == seqOf(st) &&
				p.From.Equal(st.From) && p.To.Equal(st.To)
			if p.StatementID == st.StatementID || sameSeq {
				what := "run " + strconv.FormatInt(p.RunID, 10)
				if p.RunID == r.ID || p.RunID == 0 {
					what = "this run"
				}
				warn(Warning{Code: WarnDuplicateStatement, EarlierRunID: p.RunID, Found: seqOf(st),
					Detail: fmt.Sprintf("statement %s was already imported in %s", st.StatementID, what)})
				dup = true
				break
			}
		}
		if n := seqOf(st); !dup && n > 0 {
			var below int64
			follows := false
			for _, p := range seen {
				m := seqOf(p.StatementInfo)
				if !sameAccount(p.Account, st.Account) || !sameYear(p.StatementInfo, st) || m >= n {
					continue
				}
				if m == n-1 {
					follows = true
				}
				below = max(below, m)
			}
			if !follows && below > 0 {
				warn(Warning{Code: WarnSequenceGap, Expected: below + 1, Found: n,
					Detail: fmt.Sprintf("statement number %d follows %d: %s missing", n, below, missingRange(below+1, n-1))})
			}
		}
		seen = append(seen, ImportedStatement{StatementInfo: st, RunID: r.ID})
	}
}

func seqOf(s StatementInfo) int64 {
	if s.ElectronicSeq != 0 {
		return s.ElectronicSeq
	}
	return s.LegalSeq
}

// sameYear compares the years of the statements' periods (or creation);
// statements without dates are taken to be of the same year.
func sameYear(a, b StatementInfo) bool {
	year := func(s StatementInfo) int {
		for _, t := range []time.Time{s.To, s.From, s.CreatedAt} {
			if !t.IsZero() {
				return t.In(berlin).Year()
			}
		}
		return 0
	}
	ya, yb := year(a), year(b)
	return ya == 0 || yb == 0 || ya == yb
}

var berlin = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return loc
	}
	return time.UTC
}()

func missingRange(from, to int64) string {
	if from == to {
		return "number " + strconv.FormatInt(from, 10) + " is"
	}
	return "numbers " + strconv.FormatInt(from, 10) + " to " + strconv.FormatInt(to, 10) + " are"
}

// AccountKeys lists the accounts of r's statements once each (as
// AccountKey), sorted, for the store to lock and look up.
func (r *Reconciliation) AccountKeys() []string {
	var out []string
	for _, s := range r.Statements {
		if k := AccountKey(s.Account); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
