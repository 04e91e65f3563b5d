package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
)

// RetryDeadLetter puts a delivery job that gave up back in line, due at
// now, with its attempts counted from zero again; its last error stays
// until the next attempt. A job that is not dead answers
// payment.ErrNotDeadLetter.
func (s *Store) RetryDeadLetter(ctx context.Context, id int64, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE payment_outbox SET state = 'pending', attempts = 0, next_attempt_at = $2,
		leased_until = NULL WHERE id = $1 AND state = 'dead'`, id, now)
	if err != nil {
		return unavailable(fmt.Sprintf("retry outbox job %d", id), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return unavailable(fmt.Sprintf("retry outbox job %d", id), err)
	} else if n == 0 {
		return payment.ErrNotDeadLetter
	}
	return nil
}

// ReconciliationRuns lists the newest runs first, each with its totals,
// counts, statements and warnings but without its items and fees
// (Reconciliation reads those).
func (s *Store) ReconciliationRuns(ctx context.Context, max int) ([]reconcile.Reconciliation, error) {
	var rows []struct {
		ID        int64     `db:"id"`
		Result    []byte    `db:"result"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, result - 'items' - 'fees' AS result, created_at
		FROM reconciliation_runs ORDER BY id DESC LIMIT $1`, limit(max)); err != nil {
		return nil, unavailable("list reconciliations", err)
	}
	out := make([]reconcile.Reconciliation, len(rows))
	for i, row := range rows {
		var res runResult
		if err := json.Unmarshal(row.Result, &res); err != nil {
			return nil, fmt.Errorf("reconciliation %d: %w", row.ID, err)
		}
		if res.Counts == nil {
			res.Counts = map[string]int{}
		}
		out[i] = reconcile.Reconciliation{ID: row.ID, SettlementDate: res.SettlementDate, PayoutID: res.PayoutID,
			PayoutCents: res.PayoutCents, BankPayout: res.BankPayout, StatementID: res.StatementID,
			FeeTotalCents: res.FeeTotalCents, Counts: res.Counts, CreatedAt: row.CreatedAt}
		for _, st := range res.Statements {
			out[i].Statements = append(out[i].Statements, reconcile.StatementInfo(st))
		}
		for _, w := range res.Warnings {
			out[i].Warnings = append(out[i].Warnings, reconcile.Warning(w))
		}
	}
	return out, nil
}
