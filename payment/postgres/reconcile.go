package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
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
	Statements     []runStatement `json:"statements"`
	Warnings       []runWarning   `json:"warnings"`
}

type runStatement struct {
	Account       string    `json:"account"`
	StatementID   string    `json:"statement_id"`
	MessageID     string    `json:"message_id,omitempty"`
	ElectronicSeq int64     `json:"electronic_seq,omitempty"`
	LegalSeq      int64     `json:"legal_seq,omitempty"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	CreatedAt     time.Time `json:"created_at"`
	Entries       int       `json:"entries"`
	PayoutAccount bool      `json:"payout_account"`
}

type runWarning struct {
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

// SaveReconciliation stores a run with its statements. Under a
// transaction-scoped lock per account it reads the statements earlier
// runs imported for the run's accounts, adds the sequence gaps and second
// imports reconcile.CheckStatements finds to the run's warnings, and
// records the run's statements, so two imports of one statement at the
// same time still see each other.
func (s *Store) SaveReconciliation(ctx context.Context, r *reconcile.Reconciliation) error {
	return pgtx.InTx(ctx, s.db, payment.ErrStoreUnavailable, func(tx *sqlx.Tx) error {
		keys := r.AccountKeys()
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('bank_statements:' || $1, 0))`, k); err != nil {
				return unavailable("lock bank statements", err)
			}
		}
		var rows []statementRow
		if len(keys) > 0 {
			if err := tx.SelectContext(ctx, &rows, `SELECT run_id, account, statement_id, message_id, electronic_seq, legal_seq,
				period_from, period_to, created FROM bank_statements WHERE account_key = ANY($1) ORDER BY id`, pq.Array(keys)); err != nil {
				return unavailable("read bank statements", err)
			}
		}
		prior := make([]reconcile.ImportedStatement, len(rows))
		for i, row := range rows {
			prior[i] = reconcile.ImportedStatement{RunID: row.RunID, StatementInfo: reconcile.StatementInfo{Account: row.Account,
				StatementID: row.StatementID, MessageID: row.MessageID, ElectronicSeq: row.ElectronicSeq, LegalSeq: row.LegalSeq,
				From: row.From.Time, To: row.To.Time, CreatedAt: row.Created.Time}}
		}
		reconcile.CheckStatements(prior, r)

		raw, err := json.Marshal(newRunResult(r))
		if err != nil {
			return fmt.Errorf("store reconciliation: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO reconciliation_runs (settlement_date, statement_id, result) VALUES ($1, $2, $3)
			RETURNING id, created_at`, r.SettlementDate, r.StatementID, raw).Scan(&r.ID, &r.CreatedAt); err != nil {
			return unavailable("store reconciliation", err)
		}
		for _, st := range r.Statements {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bank_statements (run_id, account_key, account, statement_id, message_id,
				electronic_seq, legal_seq, period_from, period_to, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				r.ID, reconcile.AccountKey(st.Account), st.Account, st.StatementID, st.MessageID, st.ElectronicSeq, st.LegalSeq,
				nullTime(st.From), nullTime(st.To), nullTime(st.CreatedAt)); err != nil {
				return unavailable("store bank statement", err)
			}
		}
		return nil
	})
}

type statementRow struct {
	RunID         int64        `db:"run_id"`
	Account       string       `db:"account"`
	StatementID   string       `db:"statement_id"`
	MessageID     string       `db:"message_id"`
	ElectronicSeq int64        `db:"electronic_seq"`
	LegalSeq      int64        `db:"legal_seq"`
	From          sql.NullTime `db:"period_from"`
	To            sql.NullTime `db:"period_to"`
	Created       sql.NullTime `db:"created"`
}

func newRunResult(r *reconcile.Reconciliation) runResult {
	res := runResult{SettlementDate: r.SettlementDate, PayoutID: r.PayoutID, PayoutCents: r.PayoutCents, BankPayout: r.BankPayout,
		StatementID: r.StatementID, Items: make([]runItem, len(r.Items)), Fees: make([]runFee, len(r.Fees)),
		FeeTotalCents: r.FeeTotalCents, Counts: r.Counts, Statements: make([]runStatement, len(r.Statements)),
		Warnings: make([]runWarning, len(r.Warnings))}
	for i, it := range r.Items {
		res.Items[i] = runItem(it)
	}
	for i, f := range r.Fees {
		res.Fees[i] = runFee(f)
	}
	for i, st := range r.Statements {
		res.Statements[i] = runStatement(st)
	}
	for i, w := range r.Warnings {
		res.Warnings[i] = runWarning(w)
	}
	return res
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
	r.Statements = make([]reconcile.StatementInfo, len(res.Statements))
	for i, st := range res.Statements {
		r.Statements[i] = reconcile.StatementInfo(st)
	}
	r.Warnings = make([]reconcile.Warning, len(res.Warnings))
	for i, w := range res.Warnings {
		r.Warnings[i] = reconcile.Warning(w)
	}
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	return r, nil
}
