package camt

import (
	"errors"
	"fmt"
)

// BalanceCheck is the statement's opening balance plus its booked entries
// against its closing balance.
type BalanceCheck struct {
	// Checked is false when the statement lacks an opening (OPBD or PRCD)
	// or a closing (CLBD) balance; then there is nothing to compare.
	Checked      bool
	OpeningCents int64
	BookedCents  int64 // the booked entries, debits negative
	ClosingCents int64
}

// OK reports whether the balances agree (or could not be compared).
func (b BalanceCheck) OK() bool { return !b.Checked || b.OpeningCents+b.BookedCents == b.ClosingCents }

// CheckBalance adds the booked entries to the opening balance. Entries
// that could not be read are missing from the sum, so a statement with
// problems may not add up for that reason alone.
func (s Statement) CheckBalance() BalanceCheck {
	var b BalanceCheck
	var opening, closing bool
	for _, bal := range s.Balances {
		switch bal.Code {
		case BalanceOpening, BalancePreviousClosing:
			if !opening {
				b.OpeningCents, opening = bal.AmountCents, true
			}
		case BalanceClosing:
			b.ClosingCents, closing = bal.AmountCents, true
		}
	}
	for _, e := range s.Entries {
		if e.Booked() {
			b.BookedCents += e.SignedCents()
		}
	}
	b.Checked = opening && closing
	return b
}

// ErrNotBreakdown reports a document given as a breakdown that is no
// camt.054 notification.
var ErrNotBreakdown = errors.New("not a camt.054 notification")

// ApplyBreakdown takes the transaction details of a camt.054
// notification into the statement's entries that lack them (a batch
// booked as one sum). An entry of the notification details the
// statement's entry of the same account, amount and direction with the
// same bank reference (AcctSvcrRef) when both carry one, else with the
// same booking date. A notification entry that details no entry of the
// statement is listed in d.Problems; one for an entry that has its
// details already changes nothing.
func (d *Document) ApplyBreakdown(n Document) error {
	if n.Kind != KindNotification {
		return fmt.Errorf("%w: %s", ErrNotBreakdown, n.Kind)
	}
	d.Problems = append(d.Problems, n.Problems...)
	for _, ns := range n.Statements {
		for _, ne := range ns.Entries {
			if len(ne.Transactions) == 0 {
				continue
			}
			e := d.detailedEntry(ns.Account, ne)
			if e == nil {
				d.Problems = append(d.Problems, Problem{Code: ProblemBreakdownUnmatched, StatementID: ns.ID, Account: ns.Account,
					Entry: ne.Position, BankReference: ne.AcctSvcrRef, AmountCents: ne.SignedCents(),
					Detail: "the camt.054 notification details no entry of the statement"})
				continue
			}
			if lacksDetails(*e) {
				e.Transactions = ne.Transactions
				if e.BatchCount == 0 && ne.BatchCount > 0 {
					e.BatchCount = ne.BatchCount
				}
			}
		}
	}
	return nil
}

// detailedEntry finds the statement entry that a notification entry
// details; entries lacking details are preferred.
func (d *Document) detailedEntry(account string, ne Entry) *Entry {
	var found *Entry
	for si := range d.Statements {
		st := &d.Statements[si]
		if st.Account != account {
			continue
		}
		for ei := range st.Entries {
			e := &st.Entries[ei]
			if e.AmountCents != ne.AmountCents || e.Credit != ne.Credit {
				continue
			}
			if e.AcctSvcrRef != "" && ne.AcctSvcrRef != "" {
				if e.AcctSvcrRef != ne.AcctSvcrRef {
					continue
				}
			} else if !e.BookingDate.Equal(ne.BookingDate) {
				continue
			}
			if lacksDetails(*e) {
				return e
			}
			if found == nil {
				found = e
			}
		}
	}
	return found
}

func lacksDetails(e Entry) bool {
	if len(e.Transactions) == 0 {
		return true
	}
	r, _ := e.BatchIssue()
	return r == BatchAmountsMissing
}
