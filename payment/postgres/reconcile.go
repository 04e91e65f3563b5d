package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/payment/reconcile"
)

var _ reconcile.Store = (*Store)(nil)

// runResult is how a reconciliation run is kept in reconciliation_runs.result.
type runResult struct {
	SettlementDate string         `json:"settlement_date"`
	PayoutID       string         `json:"payout_id"`
	PayoutCents    int64          `json:"payout_cents"`
	BankPayout     int64          `json:"bank_payout_cents"`
	StatementID    string         `json:"statement_id"`
	Items          []runItem      `json:"items"`
	Fees           []runFee       `json:"fees"`
	FeeTotalCents  int64          `json:"fee_total_cents"`
	Counts         map[string]int `json:"counts"`
}

type runItem struct {
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

type runFee struct {
	Reference  string `json:"reference"`
	PlatformID string `json:"platform_id"`
	FeeCents   int64  `json:"fee_cents"`
}

// SaveReconciliation stores a run.
func (s *Store) SaveReconciliation(ctx context.Context, r *reconcile.Reconciliation) error {
	res := runResult{SettlementDate: r.SettlementDate, PayoutID: r.PayoutID, PayoutCents: r.PayoutCents, BankPayout: r.BankPayout,
		StatementID: r.StatementID, Items: make([]runItem, len(r.Items)), Fees: make([]runFee, len(r.Fees)),
		FeeTotalCents: r.FeeTotalCents, Counts: r.Counts}
	for i, it := range r.Items {
		res.Items[i] = runItem(it)
	}
	for i, f := range r.Fees {
		res.Fees[i] = runFee(f)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("store reconciliation: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `INSERT INTO reconciliation_runs (settlement_date, statement_id, result) VALUES ($1, $2, $3)
		RETURNING id, created_at`, r.SettlementDate, r.StatementID, raw).Scan(&r.ID, &r.CreatedAt); err != nil {
		return unavailable("store reconciliation", err)
	}
	return nil
}

// Reconciliation reads a stored run.
func (s *Store) Reconciliation(ctx context.Context, id int64) (*reconcile.Reconciliation, error) {
	var row struct {
		ID        int64     `db:"id"`
		Result    []byte    `db:"result"`
		CreatedAt time.Time `db:"created_at"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT id, result, created_at FROM reconciliation_runs WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, reconcile.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(fmt.Sprintf("reconciliation %d", id), err)
	}
	var res runResult
	if err := json.Unmarshal(row.Result, &res); err != nil {
		return nil, fmt.Errorf("reconciliation %d: %w", id, err)
	}
	r := &reconcile.Reconciliation{ID: row.ID, SettlementDate: res.SettlementDate, PayoutID: res.PayoutID, PayoutCents: res.PayoutCents,
		BankPayout: res.BankPayout, StatementID: res.StatementID, Items: make([]reconcile.RecItem, len(res.Items)),
		Fees: make([]reconcile.RecFee, len(res.Fees)), FeeTotalCents: res.FeeTotalCents, Counts: res.Counts, CreatedAt: row.CreatedAt}
	for i, it := range res.Items {
		r.Items[i] = reconcile.RecItem(it)
	}
	for i, f := range res.Fees {
		r.Fees[i] = reconcile.RecFee(f)
	}
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	return r, nil
}
