package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/payment"
)

// exportLockKey makes one replica at a time write export files.
const exportLockKey = 7_441_023_101

type jobRow struct {
	ID          int64  `db:"id"`
	Kind        string `db:"kind"`
	PaymentID   int64  `db:"payment_id"`
	PostingID   int64  `db:"posting_id"`
	AmountCents int64  `db:"amount_cents"`
	Reason      string `db:"reason"`
	Attempts    int    `db:"attempts"`
}

// ClaimJobs leases due pending jobs with FOR UPDATE SKIP LOCKED.
func (s *Store) ClaimJobs(ctx context.Context, kinds []string, now, leaseUntil time.Time) ([]payment.OutboxJob, error) {
	var rows []jobRow
	err := s.db.SelectContext(ctx, &rows, `
		UPDATE payment_outbox SET leased_until = $2, attempts = attempts + 1 WHERE id IN (
			SELECT id FROM payment_outbox
			WHERE state = 'pending' AND kind = ANY($3) AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until < $1)
			ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, payment_id, COALESCE(posting_id, 0) AS posting_id, amount_cents, reason, attempts`,
		now, leaseUntil, pq.Array(kinds))
	if err != nil {
		return nil, unavailable("claim outbox jobs", err)
	}
	jobs := make([]payment.OutboxJob, len(rows))
	for i, r := range rows {
		jobs[i] = payment.OutboxJob(r)
	}
	return jobs, nil
}

// RetryJob records a failed delivery.
func (s *Store) RetryJob(ctx context.Context, id int64, dead bool, next time.Time, lastError string) error {
	state := "pending"
	if dead {
		state = "dead"
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payment_outbox SET state = $2, next_attempt_at = $3, leased_until = NULL,
		last_error = $4 WHERE id = $1`, id, state, next, lastError); err != nil {
		return unavailable(fmt.Sprintf("record failure of outbox job %d", id), err)
	}
	return nil
}

func markJobDone(ctx context.Context, q sqlx.ExecerContext, id int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE payment_outbox SET state = 'done', done_at = $2, leased_until = NULL, last_error = '' WHERE id = $1`, id, now)
	if err != nil {
		return unavailable(fmt.Sprintf("mark outbox job %d done", id), err)
	}
	return nil
}

// MarkJobDone records a delivered job.
func (s *Store) MarkJobDone(ctx context.Context, id int64, now time.Time) error {
	return markJobDone(ctx, s.db, id, now)
}

func (t *txStore) MarkJobDone(ctx context.Context, id int64, now time.Time) error {
	return markJobDone(ctx, t.tx, id, now)
}

func (t *txStore) Enqueue(ctx context.Context, j payment.OutboxJob, now time.Time) error {
	var pid any
	if j.PostingID != 0 {
		pid = j.PostingID
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO payment_outbox (kind, payment_id, posting_id, amount_cents, reason, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, j.Kind, j.PaymentID, pid, j.AmountCents, j.Reason, now); err != nil {
		return unavailable("queue "+j.Kind, err)
	}
	return nil
}

// ListOutbox lists delivery jobs in a state ("dead" for dead letters).
func (s *Store) ListOutbox(ctx context.Context, state string, max int) ([]payment.OutboxItem, error) {
	var rows []struct {
		ID          int64      `db:"id"`
		Kind        string     `db:"kind"`
		Reference   string     `db:"reference"`
		PostingID   string     `db:"posting_id"`
		AmountCents int64      `db:"amount_cents"`
		Reason      string     `db:"reason"`
		State       string     `db:"state"`
		Attempts    int        `db:"attempts"`
		LastError   string     `db:"last_error"`
		ExportFile  string     `db:"export_file"`
		CreatedAt   time.Time  `db:"created_at"`
		DoneAt      *time.Time `db:"done_at"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT o.id, o.kind, p.reference, COALESCE(t.posting_id, '') AS posting_id, o.amount_cents, o.reason, o.state,
			o.attempts, o.last_error, COALESCE(o.export_file, '') AS export_file, o.created_at, o.done_at
		FROM payment_outbox o JOIN payments p ON p.id = o.payment_id LEFT JOIN postings t ON t.id = o.posting_id
		WHERE ($1 = '' OR o.state = $1) ORDER BY o.id LIMIT $2`, state, limit(max))
	if err != nil {
		return nil, unavailable("list outbox", err)
	}
	out := make([]payment.OutboxItem, len(rows))
	for i, r := range rows {
		out[i] = payment.OutboxItem(r)
	}
	return out, nil
}

func (t *txStore) TryExportLock(ctx context.Context) (bool, error) {
	var leader bool
	if err := t.tx.GetContext(ctx, &leader, `SELECT pg_try_advisory_xact_lock($1)`, exportLockKey); err != nil {
		return false, unavailable("export lock", err)
	}
	return leader, nil
}

func (t *txStore) PendingExports(ctx context.Context) ([]payment.PendingExport, error) {
	var rows []struct {
		ID  int64     `db:"id"`
		Day time.Time `db:"booking_date"`
	}
	if err := t.tx.SelectContext(ctx, &rows, `
		SELECT o.id, t.booking_date FROM payment_outbox o JOIN postings t ON t.id = o.posting_id
		WHERE o.kind = 'posting_file' AND o.state = 'pending' ORDER BY o.id FOR UPDATE OF o`); err != nil {
		return nil, unavailable("pending postings", err)
	}
	out := make([]payment.PendingExport, len(rows))
	for i, r := range rows {
		out[i] = payment.PendingExport{JobID: r.ID, BookingDate: r.Day}
	}
	return out, nil
}

func (t *txStore) ExportPostings(ctx context.Context, file string, jobIDs []int64) ([]payment.Posting, error) {
	return selectPostings(ctx, t.tx, "postings of "+file, `SELECT `+postingColumns+postingFrom+`WHERE t.id IN (
		SELECT posting_id FROM payment_outbox WHERE kind = 'posting_file' AND (export_file = $1 OR id = ANY($2)))
		ORDER BY t.id`, file, pq.Array(jobIDs))
}

func (t *txStore) MarkExported(ctx context.Context, jobIDs []int64, file string, now time.Time) error {
	return t.exec(ctx, "mark exported to "+file, `UPDATE payment_outbox SET state = 'done', export_file = $2, done_at = $3,
		attempts = attempts + 1, last_error = '' WHERE id = ANY($1)`, pq.Array(jobIDs), file, now)
}
