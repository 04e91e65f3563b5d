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
)

// Worker delivers the payment outbox: confirmations and refunds at the
// platform, postings into the daily export file and, when configured, to
// the treasury's HTTP endpoint. Jobs are leased (Store.ClaimJobs) and the
// export runs under a lock (Tx.TryExportLock), so any number of replicas
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
	if err := w.deliver(ctx, []string{JobPlatformConfirm, JobRefund}, w.platformJob); err != nil {
		errs = append(errs, err)
	}
	if w.ExportDir != "" {
		if _, err := w.Export(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if w.TreasuryURL != "" {
		if err := w.deliver(ctx, []string{JobPostingHTTP}, w.httpJob); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deliver claims due jobs of some kinds and runs do for each.
func (w *Worker) deliver(ctx context.Context, kinds []string, do func(context.Context, OutboxJob) error) error {
	f := w.Flow
	now := f.now().UTC()
	jobs, err := f.Store.ClaimJobs(ctx, kinds, now, now.Add(w.lease()))
	if err != nil {
		return err
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
func (w *Worker) fail(ctx context.Context, j OutboxJob, cause error) {
	f := w.Flow
	// A payment the platform does not know will not be found by asking
	// again: like a rejection, it goes to the dead letters at once.
	dead := errors.Is(cause, errPermanent) || errors.Is(cause, ErrRejected) || errors.Is(cause, ErrInvalidRequest) ||
		errors.Is(cause, ErrNotFound) || j.Attempts >= w.maxAttempts()
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
	if err := f.Store.RetryJob(ctx, j.ID, dead, next, msg); err != nil {
		f.log().WarnContext(ctx, "record outbox failure", "job", j.ID, "err", err)
	}
	level := "retry"
	if dead {
		level = "dead letter"
	}
	f.log().WarnContext(ctx, "outbox delivery failed", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "outcome", level, "err", cause)
}

func (w *Worker) platformJob(ctx context.Context, j OutboxJob) error {
	f := w.Flow
	p, err := f.Store.PaymentByID(ctx, j.PaymentID)
	if err != nil {
		return err
	}
	ref := Ref{PlatformID: p.PlatformID, Reference: p.Reference}
	switch j.Kind {
	case JobPlatformConfirm:
		if err := f.Platform.Confirm(ctx, ref, Outcome(j.Reason)); err != nil {
			return err
		}
		return f.Store.InTx(ctx, func(tx Tx) error {
			if Outcome(j.Reason) == OutcomeConfirm {
				if err := tx.MarkConfirmed(ctx, p.ID, f.now().UTC()); err != nil {
					return err
				}
			}
			return tx.MarkJobDone(ctx, j.ID, f.now().UTC())
		})
	case JobRefund:
		rr, err := f.Platform.Refund(ctx, RefundRequest{Ref: ref, RefundID: fmt.Sprintf("RF%d", j.ID), AmountCents: j.AmountCents, Reason: j.Reason})
		if errors.Is(err, ErrManualRefund) {
			return f.queueManualRefund(ctx, j)
		}
		if err != nil {
			return err
		}
		return f.Store.InTx(ctx, func(tx Tx) error {
			cur, err := tx.LockPaymentByID(ctx, j.PaymentID)
			if err != nil {
				return err
			}
			if err := tx.RecordInbox(ctx, cur.ID, "refund", "", true, rr.Raw); err != nil {
				return err
			}
			if _, err := f.recordRefunded(ctx, tx, cur, j.AmountCents); err != nil {
				return err
			}
			return tx.MarkJobDone(ctx, j.ID, f.now().UTC())
		})
	}
	return fmt.Errorf("%w: unknown job kind %q", errPermanent, j.Kind)
}

// httpJob posts one posting to the treasury endpoint. The posting id is
// also sent as Idempotency-Key: a repeated delivery (after a lost answer)
// must be recognised by the receiver.
func (w *Worker) httpJob(ctx context.Context, j OutboxJob) error {
	p, err := w.Flow.Store.PostingByID(ctx, j.PostingID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(treasuryPostingOf(p))
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
	return w.Flow.Store.MarkJobDone(ctx, j.ID, w.Flow.now().UTC())
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
	n := 0
	err := f.Store.InTx(ctx, func(tx Tx) error {
		leader, err := tx.TryExportLock(ctx)
		if err != nil || !leader {
			return err // !leader: another replica is exporting
		}
		pending, err := tx.PendingExports(ctx)
		if err != nil || len(pending) == 0 {
			return err
		}
		byDay := map[string][]int64{}
		var days []string
		for _, p := range pending {
			d := p.BookingDate.Format(time.DateOnly)
			if byDay[d] == nil {
				days = append(days, d)
			}
			byDay[d] = append(byDay[d], p.JobID)
		}
		now := f.now().UTC()
		for _, d := range days {
			day, _ := time.Parse(time.DateOnly, d)
			name := ExportFileName(day)
			postings, err := tx.ExportPostings(ctx, name, byDay[d])
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := WriteExport(&buf, postings); err != nil {
				return err
			}
			if err := writeFileAtomic(w.ExportDir, name, buf.Bytes()); err != nil {
				return err
			}
			if err := writeFileAtomic(w.ExportDir, name+".sha256", checksumLine(name, buf.Bytes())); err != nil {
				return err
			}
			if err := tx.MarkExported(ctx, byDay[d], name, now); err != nil {
				return err
			}
		}
		n = len(pending)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return n, nil
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
	Name    string
	Size    int64
	ModTime time.Time
}
