package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/response"
)

type reconciliationJSON struct {
	ID             int64          `json:"id"`
	SettlementDate string         `json:"settlement_date"`
	PayoutID       string         `json:"payout_id"`
	PayoutCents    int64          `json:"payout_cents"`
	BankPayout     int64          `json:"bank_payout_cents"`
	StatementID    string         `json:"statement_id"`
	Items          []recItemJSON  `json:"items"`
	Fees           []recFeeJSON   `json:"fees"`
	FeeTotalCents  int64          `json:"fee_total_cents"`
	Counts         map[string]int `json:"counts"`
	CreatedAt      time.Time      `json:"created_at"`
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
	return out
}
