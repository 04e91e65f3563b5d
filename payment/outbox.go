package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// exportLockKey makes one replica at a time write export files.
const exportLockKey = 7_441_023_101

// Worker delivers the payment outbox: confirmations and refunds at the
// platform, postings into the daily export file and, when configured, to
// the treasury's HTTP endpoint. Jobs are leased with FOR UPDATE SKIP
// LOCKED (and the export with an advisory lock), so any number of replicas
// may run a worker; delivery is at least once and receivers deduplicate on
// the posting id.
type Worker struct {
	Flow *Flow
	// ExportDir receives the export files; empty disables file export.
	ExportDir string
	// TreasuryURL receives each posting as a JSON POST; empty disables it.
	TreasuryURL string
	HTTPClient  *http.Client
	// MaxAttempts moves a job to the dead letters after that many failed
	// deliveries (default 8).
	MaxAttempts int
	// RetryBase and RetryMax bound the backoff between attempts.
	RetryBase, RetryMax time.Duration
	// Lease is how long a claimed job belongs to this worker.
	Lease time.Duration
}

type job struct {
	ID        int64  `db:"id"`
	Kind      string `db:"kind"`
	PaymentID int64  `db:"payment_id"`
	PostingID int64  `db:"posting_id"`
	Amount    int64  `db:"amount_cents"`
	Reason    string `db:"reason"`
	Attempts  int    `db:"attempts"`
}

// errPermanent marks a delivery failure that retrying will not fix.
var errPermanent = errors.New("permanent failure")

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts <= 0 {
		return 8
	}
	return w.MaxAttempts
}

func (w *Worker) lease() time.Duration {
	if w.Lease <= 0 {
		return time.Minute
	}
	return w.Lease
}

// Run works the outbox every interval until ctx ends.
func (w *Worker) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Flow.log().WarnContext(ctx, "payment outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce delivers what is due now.
func (w *Worker) RunOnce(ctx context.Context) error {
	var errs []error
	if err := w.deliver(ctx, []string{"platform_confirm", "refund"}, w.platformJob); err != nil {
		errs = append(errs, err)
	}
	if w.ExportDir != "" {
		if _, err := w.Export(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if w.TreasuryURL != "" {
		if err := w.deliver(ctx, []string{"posting_http"}, w.httpJob); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deliver claims due jobs of some kinds and runs do for each.
func (w *Worker) deliver(ctx context.Context, kinds []string, do func(context.Context, job) error) error {
	f := w.Flow
	now := f.now().UTC()
	var jobs []job
	err := f.Store.db.SelectContext(ctx, &jobs, `
		UPDATE payment_outbox SET leased_until = $2, attempts = attempts + 1 WHERE id IN (
			SELECT id FROM payment_outbox
			WHERE state = 'pending' AND kind = ANY($3) AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until < $1)
			ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, payment_id, COALESCE(posting_id, 0) AS posting_id, amount_cents, reason, attempts`,
		now, now.Add(w.lease()), pq.Array(kinds))
	if err != nil {
		return fmt.Errorf("claim outbox jobs: %w", err)
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	for _, j := range jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := do(ctx, j)
		if err == nil {
			continue // do marked it done in its own transaction
		}
		w.fail(ctx, j, err)
	}
	return nil
}

// fail schedules a retry with backoff, or moves the job to the dead
// letters.
func (w *Worker) fail(ctx context.Context, j job, cause error) {
	f := w.Flow
	state := "pending"
	if errors.Is(cause, errPermanent) || errors.Is(cause, ErrRejected) || errors.Is(cause, ErrInvalidRequest) || j.Attempts >= w.maxAttempts() {
		state = "dead"
	}
	base, max := w.RetryBase, w.RetryMax
	if base <= 0 {
		base = 10 * time.Second
	}
	if max <= 0 {
		max = time.Hour
	}
	next := f.now().UTC().Add(backoff(base, max, j.Attempts))
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if _, err := f.Store.db.ExecContext(ctx, `UPDATE payment_outbox SET state = $2, next_attempt_at = $3, leased_until = NULL,
		last_error = $4 WHERE id = $1`, j.ID, state, next, msg); err != nil {
		f.log().WarnContext(ctx, "record outbox failure", "job", j.ID, "err", err)
	}
	level := "retry"
	if state == "dead" {
		level = "dead letter"
	}
	f.log().WarnContext(ctx, "outbox delivery failed", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "outcome", level, "err", cause)
}

func markDone(ctx context.Context, q sqlx.ExecerContext, id int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE payment_outbox SET state = 'done', done_at = $2, leased_until = NULL, last_error = '' WHERE id = $1`, id, now)
	if err != nil {
		return fmt.Errorf("mark outbox job %d done: %w", id, err)
	}
	return nil
}

func (w *Worker) platformJob(ctx context.Context, j job) error {
	f := w.Flow
	p, err := f.Store.paymentWhere(ctx, nil, `p.id = $1`, j.PaymentID)
	if err != nil {
		return err
	}
	ref := Ref{PlatformID: p.PlatformID, Reference: p.Reference}
	switch j.Kind {
	case "platform_confirm":
		if err := f.Platform.Confirm(ctx, ref, Outcome(j.Reason)); err != nil {
			return err
		}
		return f.Store.inTx(ctx, func(tx *sqlx.Tx) error {
			if Outcome(j.Reason) == OutcomeConfirm {
				if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'confirmed', updated_at = $2 WHERE id = $1 AND state = 'paid'`,
					p.ID, f.now().UTC()); err != nil {
					return err
				}
			}
			return markDone(ctx, tx, j.ID, f.now().UTC())
		})
	case "refund":
		rr, err := f.Platform.Refund(ctx, RefundRequest{Ref: ref, RefundID: fmt.Sprintf("RF%d", j.ID), AmountCents: j.Amount, Reason: j.Reason})
		if err != nil {
			return err
		}
		return f.Store.inTx(ctx, func(tx *sqlx.Tx) error {
			cur, err := f.Store.paymentWhere(ctx, tx, `p.id = $1`, j.PaymentID)
			if err != nil {
				return err
			}
			if err := f.Store.RecordInbox(ctx, tx, cur.ID, "refund", "", true, rr.Raw); err != nil {
				return err
			}
			cur.RefundedCents += j.Amount
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET refunded_cents = $2,
				state = CASE WHEN $2 >= amount_cents THEN 'refunded' ELSE state END, updated_at = $3 WHERE id = $1`,
				cur.ID, cur.RefundedCents, f.now().UTC()); err != nil {
				return fmt.Errorf("record refund: %w", err)
			}
			var orig []int64
			if err := tx.SelectContext(ctx, &orig, `SELECT id FROM postings WHERE payment_id = $1 AND kind = 'payment'`, cur.ID); err != nil {
				return err
			}
			if len(orig) == 1 {
				if _, err := f.post(ctx, tx, cur, orig[0]); err != nil {
					return err
				}
			}
			return markDone(ctx, tx, j.ID, f.now().UTC())
		})
	}
	return fmt.Errorf("%w: unknown job kind %q", errPermanent, j.Kind)
}

func (w *Worker) posting(ctx context.Context, id int64) (Posting, error) {
	var p Posting
	err := w.Flow.Store.db.GetContext(ctx, &p, `SELECT `+postingColumns+postingFrom+`WHERE t.id = $1`, id)
	if err != nil {
		return p, fmt.Errorf("load posting %d: %w", id, err)
	}
	return p, nil
}

// httpJob posts one posting to the treasury endpoint. The posting id is
// also sent as Idempotency-Key: a repeated delivery (after a lost answer)
// must be recognised by the receiver.
func (w *Worker) httpJob(ctx context.Context, j job) error {
	p, err := w.posting(ctx, j.PostingID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.TreasuryURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", p.PostingID)
	hc := w.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post %s to treasury: %w", p.PostingID, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("post %s to treasury: HTTP %d", p.PostingID, res.StatusCode)
	}
	return markDone(ctx, w.Flow.Store.db, j.ID, w.Flow.now().UTC())
}

// Export writes the pending postings into the export files of their
// booking days. A day's file is rewritten (atomically) with every posting
// already exported to it plus the new ones, so each posting is in exactly
// one file exactly once, also when a previous run died between the rename
// and the commit. It returns how many postings were new.
func (w *Worker) Export(ctx context.Context) (int, error) {
	f := w.Flow
	if err := os.MkdirAll(w.ExportDir, 0o750); err != nil {
		return 0, fmt.Errorf("export dir: %w", err)
	}
	tx, err := f.Store.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback()
	var leader bool
	if err := tx.GetContext(ctx, &leader, `SELECT pg_try_advisory_xact_lock($1)`, exportLockKey); err != nil {
		return 0, fmt.Errorf("export lock: %w", err)
	}
	if !leader {
		return 0, nil // another replica is exporting
	}
	var pending []struct {
		ID  int64     `db:"id"`
		Day time.Time `db:"booking_date"`
	}
	if err := tx.SelectContext(ctx, &pending, `
		SELECT o.id, t.booking_date FROM payment_outbox o JOIN postings t ON t.id = o.posting_id
		WHERE o.kind = 'posting_file' AND o.state = 'pending' ORDER BY o.id FOR UPDATE OF o`); err != nil {
		return 0, fmt.Errorf("export: pending postings: %w", err)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	byDay := map[string][]int64{}
	var days []string
	for _, p := range pending {
		d := p.Day.Format(time.DateOnly)
		if byDay[d] == nil {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], p.ID)
	}
	now := f.now().UTC()
	for _, d := range days {
		day, _ := time.Parse(time.DateOnly, d)
		name := ExportFileName(day)
		var postings []Posting
		if err := tx.SelectContext(ctx, &postings, `SELECT `+postingColumns+postingFrom+`WHERE t.id IN (
			SELECT posting_id FROM payment_outbox WHERE kind = 'posting_file' AND (export_file = $1 OR id = ANY($2)))
			ORDER BY t.id`, name, pq.Array(byDay[d])); err != nil {
			return 0, fmt.Errorf("export %s: %w", name, err)
		}
		var buf bytes.Buffer
		if err := WriteExport(&buf, postings); err != nil {
			return 0, err
		}
		if err := writeFileAtomic(w.ExportDir, name, buf.Bytes()); err != nil {
			return 0, err
		}
		if err := writeFileAtomic(w.ExportDir, name+".sha256", checksumLine(name, buf.Bytes())); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_outbox SET state = 'done', export_file = $2, done_at = $3,
			attempts = attempts + 1, last_error = '' WHERE id = ANY($1)`, pq.Array(byDay[d]), name, now); err != nil {
			return 0, fmt.Errorf("export %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("export commit: %w", err)
	}
	return len(pending), nil
}

// ExportFiles lists the export directory's files (name, size, time).
func ExportFiles(dir string) ([]ExportFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return []ExportFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", err)
	}
	out := []ExportFile{}
	for _, e := range entries {
		if e.IsDir() || !exportNamePattern.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, ExportFile{Name: e.Name(), Size: info.Size(), ModTime: info.ModTime().UTC()})
	}
	return out, nil
}

// ExportFile describes one file in the export directory.
type ExportFile struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modified"`
}
