package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/payment"
)

const refundTaskSelect = `SELECT t.id, t.payment_id, p.reference, b.code AS booking_code, p.platform,
	COALESCE(p.platform_id, '') AS platform_id, p.kassenzeichen, t.amount_cents, p.currency, t.reason, t.created_at,
	COALESCE(t.done_by, '') AS done_by, t.done_at, t.note, COALESCE(s.posting_id, '') AS storno_posting_id
	FROM refund_tasks t JOIN payments p ON p.id = t.payment_id JOIN bookings b ON b.id = p.booking_id
	LEFT JOIN postings s ON s.id = t.storno_posting_id `

type refundTaskRow struct {
	ID              int64      `db:"id"`
	PaymentID       int64      `db:"payment_id"`
	Reference       string     `db:"reference"`
	BookingCode     string     `db:"booking_code"`
	Platform        string     `db:"platform"`
	PlatformID      string     `db:"platform_id"`
	Kassenzeichen   string     `db:"kassenzeichen"`
	AmountCents     int64      `db:"amount_cents"`
	Currency        string     `db:"currency"`
	Reason          string     `db:"reason"`
	CreatedAt       time.Time  `db:"created_at"`
	DoneBy          string     `db:"done_by"`
	DoneAt          *time.Time `db:"done_at"`
	Note            string     `db:"note"`
	StornoPostingID string     `db:"storno_posting_id"`
}

// ListRefundTasks lists the refund work list, newest first.
func (s *Store) ListRefundTasks(ctx context.Context, f payment.RefundTaskFilter) ([]payment.RefundTask, error) {
	where := ""
	switch f.State {
	case "open":
		where = "WHERE t.done_at IS NULL "
	case "done":
		where = "WHERE t.done_at IS NOT NULL "
	}
	var rows []refundTaskRow
	if err := s.db.SelectContext(ctx, &rows, refundTaskSelect+where+"ORDER BY t.id DESC LIMIT $1", limit(f.Limit)); err != nil {
		return nil, unavailable("list refund tasks", err)
	}
	out := make([]payment.RefundTask, len(rows))
	for i, r := range rows {
		out[i] = payment.RefundTask(r)
	}
	return out, nil
}

func refundTaskWhere(ctx context.Context, q sqlx.QueryerContext, id int64, lock bool) (*payment.RefundTask, error) {
	suffix := ""
	if lock {
		suffix = " FOR UPDATE OF t"
	}
	var rows []refundTaskRow
	if err := sqlx.SelectContext(ctx, q, &rows, refundTaskSelect+"WHERE t.id = $1"+suffix, id); err != nil {
		return nil, unavailable(fmt.Sprintf("refund task %d", id), err)
	}
	if len(rows) == 0 {
		return nil, payment.ErrRefundTaskNotFound
	}
	t := payment.RefundTask(rows[0])
	return &t, nil
}

// RefundTaskByID returns a refund task.
func (s *Store) RefundTaskByID(ctx context.Context, id int64) (payment.RefundTask, error) {
	t, err := refundTaskWhere(ctx, s.db, id, false)
	if err != nil {
		return payment.RefundTask{}, err
	}
	return *t, nil
}

func (t *txStore) LockRefundTask(ctx context.Context, id int64) (*payment.RefundTask, error) {
	return refundTaskWhere(ctx, t.tx, id, true)
}

func (t *txStore) InsertRefundTask(ctx context.Context, jobID int64, task *payment.RefundTask) error {
	err := t.tx.GetContext(ctx, &task.ID, `
		WITH ins AS (
			INSERT INTO refund_tasks (outbox_job_id, payment_id, amount_cents, reason, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (outbox_job_id) DO NOTHING RETURNING id)
		SELECT id FROM ins UNION ALL SELECT id FROM refund_tasks WHERE outbox_job_id = $1 LIMIT 1`,
		jobID, task.PaymentID, task.AmountCents, task.Reason, task.CreatedAt)
	if err != nil {
		return unavailable("insert refund task", err)
	}
	return nil
}

func (t *txStore) MarkRefundTaskDone(ctx context.Context, id int64, doneBy, note string, stornoPostingID int64, now time.Time) error {
	var storno any
	if stornoPostingID != 0 {
		storno = stornoPostingID
	}
	return t.exec(ctx, fmt.Sprintf("mark refund task %d done", id),
		`UPDATE refund_tasks SET done_by = $2, done_at = $3, note = $4, storno_posting_id = $5 WHERE id = $1 AND done_at IS NULL`,
		id, doneBy, now, note, storno)
}
