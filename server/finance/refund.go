package finance

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// RefundWorkList is the refund work list: refunds finance makes by hand
// in the platform's back office, because the platform has no refund call.
// *payment.Flow implements it.
type RefundWorkList interface {
	// RefundTasks lists tasks, newest first; filter.State is "open",
	// "done" or "" for both.
	RefundTasks(ctx context.Context, filter payment.RefundTaskFilter) ([]payment.RefundTask, error)
	// CompleteRefund marks a task done by doneBy with a note and writes
	// the Storno posting; payment.ErrRefundTaskNotFound,
	// payment.ErrRefundTaskDone or payment.ErrRefundTaskInvalid otherwise.
	CompleteRefund(ctx context.Context, id int64, doneBy, note string) (payment.RefundTask, error)
}

// refundTaskJSON is one refund of the work list.
type refundTaskJSON struct {
	ID               int64      `json:"id"`
	State            string     `json:"state"` // open or done
	AmountCents      int64      `json:"amount_cents"`
	Currency         string     `json:"currency"`
	Platform         string     `json:"platform"`
	PlatformID       string     `json:"platform_id"`
	Kassenzeichen    string     `json:"kassenzeichen"`
	PaymentReference string     `json:"payment_reference"`
	BookingCode      string     `json:"booking_code"`
	Reason           string     `json:"reason"`
	CreatedAt        time.Time  `json:"created_at"`
	DoneBy           string     `json:"done_by,omitempty"`
	DoneAt           *time.Time `json:"done_at,omitempty"`
	Note             string     `json:"note,omitempty"`
	StornoPostingID  string     `json:"storno_posting_id,omitempty"`
}

func newRefundTaskJSON(t *payment.RefundTask) refundTaskJSON {
	state := "open"
	if !t.Open() {
		state = "done"
	}
	return refundTaskJSON{ID: t.ID, State: state, AmountCents: t.AmountCents, Currency: t.Currency, Platform: t.Platform,
		PlatformID: t.PlatformID, Kassenzeichen: t.Kassenzeichen, PaymentReference: t.Reference, BookingCode: t.BookingCode,
		Reason: t.Reason, CreatedAt: t.CreatedAt, DoneBy: t.DoneBy, DoneAt: t.DoneAt, Note: t.Note, StornoPostingID: t.StornoPostingID}
}

type refundTasksJSON struct {
	Refunds []refundTaskJSON `json:"refunds"`
}

// completeRefundJSON is the body of POST /finance/refunds/{id}/done.
type completeRefundJSON struct {
	// DoneBy names who refunded; the authenticated account when empty.
	DoneBy string `json:"done_by"`
	Note   string `json:"note"`
}
