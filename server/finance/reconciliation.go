package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/response"
)

type reconciliationJSON struct {
	ID             int64              `json:"id"`
	SettlementDate string             `json:"settlement_date"`
	PayoutID       string             `json:"payout_id"`
	PayoutCents    int64              `json:"payout_cents"`
	BankPayout     int64              `json:"bank_payout_cents"`
	StatementID    string             `json:"statement_id"`
	Items          []recItemJSON      `json:"items"`
	Fees           []recFeeJSON       `json:"fees"`
	FeeTotalCents  int64              `json:"fee_total_cents"`
	Counts         map[string]int     `json:"counts"`
	Statements     []recStatementJSON `json:"statements"`
	Warnings       []recWarningJSON   `json:"warnings"`
	CreatedAt      time.Time          `json:"created_at"`
}

// recStatementJSON is a bank statement a run read.
type recStatementJSON struct {
	Account       string `json:"account"`
	StatementID   string `json:"statement_id"`
	MessageID     string `json:"message_id,omitempty"`
	ElectronicSeq int64  `json:"electronic_seq,omitempty"`
	LegalSeq      int64  `json:"legal_seq,omitempty"`
	From          string `json:"from,omitempty"`
	To            string `json:"to,omitempty"`
	CreatedAt     string `json:"created_at,omitempty"`
	Entries       int    `json:"entries"`
	PayoutAccount bool   `json:"payout_account"`
}

// recWarningJSON is a finding about the bank statement (reconcile.Warning).
type recWarningJSON struct {
	Code          string `json:"code"`
	Reason        string `json:"reason,omitempty"`
	StatementID   string `json:"statement_id,omitempty"`
	Account       string `json:"account,omitempty"`
	Entry         int    `json:"entry,omitempty"`
	BankReference string `json:"bank_reference,omitempty"`
	AmountCents   int64  `json:"amount_cents,omitempty"`
	Expected      int64  `json:"expected,omitempty"`
	Found         int64  `json:"found,omitempty"`
	EarlierRunID  int64  `json:"earlier_run_id,omitempty"`
	Detail        string `json:"detail"`
}

// timeJSON is t in RFC 3339, or "" when unset.
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

type recItemJSON struct {
	Category        string `json:"category"`
	Reference       string `json:"reference,omitempty"`
	Kassenzeichen   string `json:"kassenzeichen,omitempty"`
	PlatformID      string `json:"platform_id,omitempty"`
	PostingID       string `json:"posting_id,omitempty"`
	SettlementCents int64  `json:"settlement_cents"`
	PostedCents     int64  `json:"posted_cents"`
	BankCents       int64  `json:"bank_cents"`
	Detail          string `json:"detail,omitempty"`
}

type recFeeJSON struct {
	Reference  string `json:"reference"`
	PlatformID string `json:"platform_id"`
	FeeCents   int64  `json:"fee_cents"`
}

func newReconciliationJSON(r *reconcile.Reconciliation) reconciliationJSON {
	out := reconciliationJSON{ID: r.ID, SettlementDate: r.SettlementDate, PayoutID: r.PayoutID, PayoutCents: r.PayoutCents,
		BankPayout: r.BankPayout, StatementID: r.StatementID, FeeTotalCents: r.FeeTotalCents, Counts: r.Counts, CreatedAt: r.CreatedAt}
	out.Items = response.List(r.Items, func(it *reconcile.RecItem) recItemJSON {
		return recItemJSON{Category: it.Category, Reference: it.Reference, Kassenzeichen: it.Kassenzeichen,
			PlatformID: it.PlatformID, PostingID: it.PostingID, SettlementCents: it.SettlementCents,
			PostedCents: it.PostedCents, BankCents: it.BankCents, Detail: it.Detail}
	})
	out.Fees = response.List(r.Fees, func(f *reconcile.RecFee) recFeeJSON {
		return recFeeJSON{Reference: f.Reference, PlatformID: f.PlatformID, FeeCents: f.FeeCents}
	})
	out.Statements = response.List(r.Statements, func(s *reconcile.StatementInfo) recStatementJSON {
		return recStatementJSON{Account: s.Account, StatementID: s.StatementID, MessageID: s.MessageID, ElectronicSeq: s.ElectronicSeq,
			LegalSeq: s.LegalSeq, From: timeJSON(s.From), To: timeJSON(s.To), CreatedAt: timeJSON(s.CreatedAt), Entries: s.Entries,
			PayoutAccount: s.PayoutAccount}
	})
	out.Warnings = response.List(r.Warnings, func(w *reconcile.Warning) recWarningJSON {
		return recWarningJSON{Code: w.Code, Reason: w.Reason, StatementID: w.StatementID, Account: w.Account, Entry: w.Entry,
			BankReference: w.BankReference, AmountCents: w.AmountCents, Expected: w.Expected, Found: w.Found,
			EarlierRunID: w.EarlierRunID, Detail: w.Detail}
	})
	return out
}
