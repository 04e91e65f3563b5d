package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcomes of the refund work list.
var (
	// ErrRefundTaskNotFound reports an unknown refund task.
	ErrRefundTaskNotFound = errors.New("refund task not found")
	// ErrRefundTaskDone reports a refund task that was marked done
	// before; it is not done twice.
	ErrRefundTaskDone = errors.New("refund task already done")
	// ErrRefundTaskInvalid reports a completion without a name of who
	// did it, or with text that cannot be stored.
	ErrRefundTaskInvalid = errors.New("refund task completion invalid")
)

// RefundTask is a refund that finance carries out by hand in the
// platform's back office, because the platform offers no refund call
// (epay21: none in any public source). The Storno posting is written when
// finance marks the task done, not before: a posting says money moved.
type RefundTask struct {
	ID            int64
	PaymentID     int64
	Reference     string // our payment reference
	BookingCode   string
	Platform      string // the platform the payment was made on
	PlatformID    string // its id for the payment, to find it in the back office
	Kassenzeichen string
	AmountCents   int64
	Currency      string
	Reason        string
	CreatedAt     time.Time
	DoneBy        string     // who marked it done; empty while open
	DoneAt        *time.Time // nil while open
	Note          string     // what finance noted when marking it done
	// StornoPostingID is the Storno written on completion ("" while open).
	StornoPostingID string
}

// Open reports whether the refund is still to be done.
func (t RefundTask) Open() bool { return t.DoneAt == nil }

// RefundTaskFilter narrows ListRefundTasks.
type RefundTaskFilter struct {
	// State is "open", "done" or "" for both.
	State string
	Limit int
}

// Longest texts a completion may carry.
const (
	MaxRefundDoneByLen = 120
	MaxRefundNoteLen   = 500
)

// RefundTasks lists the refund work list.
func (f *Flow) RefundTasks(ctx context.Context, filter RefundTaskFilter) ([]RefundTask, error) {
	return f.Store.ListRefundTasks(ctx, filter)
}

// CompleteRefund records that finance paid a refund task back in the
// platform's back office: the payment's refunded amount grows, the Storno
// of its posting is written and delivered like every posting, and the
// task is closed with who did it and when. A task done before answers
// ErrRefundTaskDone and changes nothing.
func (f *Flow) CompleteRefund(ctx context.Context, id int64, doneBy, note string) (RefundTask, error) {
	doneBy, note = strings.TrimSpace(doneBy), strings.TrimSpace(note)
	switch {
	case doneBy == "" || utf8.RuneCountInString(doneBy) > MaxRefundDoneByLen || !utf8.ValidString(doneBy):
		return RefundTask{}, fmt.Errorf("%w: who did the refund must be named (at most %d characters)", ErrRefundTaskInvalid, MaxRefundDoneByLen)
	case utf8.RuneCountInString(note) > MaxRefundNoteLen || !utf8.ValidString(note):
		return RefundTask{}, fmt.Errorf("%w: note longer than %d characters", ErrRefundTaskInvalid, MaxRefundNoteLen)
	}
	err := f.Store.InTx(ctx, func(tx Tx) error {
		t, err := tx.LockRefundTask(ctx, id)
		if err != nil {
			return err
		}
		if !t.Open() {
			return ErrRefundTaskDone
		}
		cur, err := tx.LockPaymentByID(ctx, t.PaymentID)
		if err != nil {
			return err
		}
		storno, err := f.recordRefunded(ctx, tx, cur, t.AmountCents)
		if err != nil {
			return err
		}
		return tx.MarkRefundTaskDone(ctx, id, doneBy, note, storno, f.now().UTC())
	})
	if err != nil {
		return RefundTask{}, fmt.Errorf("complete refund task %d: %w", id, err)
	}
	f.log().InfoContext(ctx, "refund done by hand", "task", id)
	return f.Store.RefundTaskByID(ctx, id)
}

// recordRefunded adds amount to a locked payment's refunded money and
// writes the Storno of its posting; it returns the Storno's id (0 when the
// payment has no posting to reverse).
func (f *Flow) recordRefunded(ctx context.Context, tx Tx, cur *Payment, amount int64) (int64, error) {
	cur.RefundedCents = min(cur.RefundedCents+amount, cur.AmountCents)
	if err := tx.RecordRefund(ctx, cur.ID, cur.RefundedCents, f.now().UTC()); err != nil {
		return 0, err
	}
	orig, err := tx.PaymentPostings(ctx, cur.ID, "payment")
	if err != nil {
		return 0, err
	}
	if len(orig) != 1 {
		return 0, nil
	}
	return f.post(ctx, tx, cur, orig[0])
}

// queueManualRefund puts the refund of an outbox job on the work list;
// the job is done, the refund is finance's now.
func (f *Flow) queueManualRefund(ctx context.Context, j OutboxJob) error {
	return f.Store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.LockPaymentByID(ctx, j.PaymentID)
		if err != nil {
			return err
		}
		t := &RefundTask{PaymentID: cur.ID, Reference: cur.Reference, BookingCode: cur.BookingCode, Platform: cur.Platform,
			PlatformID: cur.PlatformID, Kassenzeichen: cur.Kassenzeichen, AmountCents: j.AmountCents, Currency: cur.Currency,
			Reason: j.Reason, CreatedAt: f.now().UTC()}
		if err := tx.InsertRefundTask(ctx, j.ID, t); err != nil {
			return err
		}
		if err := tx.MarkJobDone(ctx, j.ID, f.now().UTC()); err != nil {
			return err
		}
		f.log().InfoContext(ctx, "refund put on the work list", "reference", cur.Reference, "task", t.ID)
		return nil
	})
}
