package payment

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// Store is what the payment flow, the outbox worker and the sweeper need
// of storage; payment/postgres implements it on the database the booking
// core uses. Every failure of the store wraps ErrStoreUnavailable.
type Store interface {
	// InTx runs fn in one transaction and commits when fn returns nil;
	// fn's error is returned as it is.
	InTx(ctx context.Context, fn func(Tx) error) error

	// PaymentByReference returns a payment by our reference, or
	// ErrPaymentNotFound.
	PaymentByReference(ctx context.Context, reference string) (*Payment, error)
	// PaymentByID returns a payment by its id, or ErrPaymentNotFound.
	PaymentByID(ctx context.Context, id int64) (*Payment, error)
	// Accounting returns a service's account assignment; a service without
	// one gets empty fields.
	Accounting(ctx context.Context, serviceID string) (Accounting, error)
	// RecordInbox appends a raw platform answer or callback; paymentID 0
	// and eventID "" are stored as unknown.
	RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error
	// MarkInitiated records the platform's id and pay URL of a payment
	// still in state created. An id another payment has already fails
	// with ErrPlatformID.
	MarkInitiated(ctx context.Context, id int64, platformID, payURL string, now time.Time) error

	// ClaimPolls leases up to a batch of payments due for a status query
	// (open ones, and expired ones until their poll window closes) until
	// leaseUntil and returns their references. Replicas never get the
	// same payment at once.
	ClaimPolls(ctx context.Context, now, leaseUntil time.Time) ([]string, error)
	// SchedulePoll sets a payment's next status query.
	SchedulePoll(ctx context.Context, id int64, next time.Time, failures int) error

	// ClaimJobs leases due pending outbox jobs of some kinds until
	// leaseUntil, counting the attempt; replicas never get the same job.
	ClaimJobs(ctx context.Context, kinds []string, now, leaseUntil time.Time) ([]OutboxJob, error)
	// RetryJob records a failed delivery: the job is tried again at next,
	// or given up (a dead letter) when dead is set.
	RetryJob(ctx context.Context, id int64, dead bool, next time.Time, lastError string) error
	// MarkJobDone records a delivered job.
	MarkJobDone(ctx context.Context, id int64, now time.Time) error
	// PostingByID returns a posting by its id.
	PostingByID(ctx context.Context, id int64) (Posting, error)

	// ListRefundTasks lists the refund work list, newest first.
	ListRefundTasks(ctx context.Context, f RefundTaskFilter) ([]RefundTask, error)
	// RefundTaskByID returns a refund task, or ErrRefundTaskNotFound.
	RefundTaskByID(ctx context.Context, id int64) (RefundTask, error)
}

// Tx is one transaction of the payment store. It holds the booking steps
// the payment flow must take in its own transactions (a booking is
// confirmed with its posting, cancelled with its refund request) and the
// payment's own steps. Payment rows are locked (Lock*) before their
// booking rows are changed, except where a booking is written first.
type Tx interface {
	// Booking steps (booking/postgres).

	// InsertBooking writes a booking with its units and contact count,
	// with the outcomes of booking.BookingRecorder.
	InsertBooking(ctx context.Context, nb *booking.NewBooking) error
	// CancelBooking cancels a booking and deletes its units, returning
	// the freed cells.
	CancelBooking(ctx context.Context, bookingID int64, now time.Time) ([]booking.UnitCell, error)
	// ConfirmPending confirms a booking waiting for payment (with its
	// confirmed and reminder events, due from now), or answers
	// booking.ErrNotPending.
	ConfirmPending(ctx context.Context, bookingID int64, now time.Time) (*booking.Booking, error)
	// ExpirePending cancels a booking waiting for payment and deletes its
	// units, or answers booking.ErrNotPending.
	ExpirePending(ctx context.Context, bookingID int64, now time.Time) (*booking.Booking, error)
	// CarryManageToken gives booking to the manage token of booking from.
	CarryManageToken(ctx context.Context, from, to int64) error

	// Payment steps.

	// LockPayment returns a payment by reference, locked for the rest of
	// the transaction; ErrPaymentNotFound when unknown.
	LockPayment(ctx context.Context, reference string) (*Payment, error)
	// LockPaymentByID is LockPayment by id.
	LockPaymentByID(ctx context.Context, id int64) (*Payment, error)
	// LockPaymentOfBooking is LockPayment by the booking it pays for.
	LockPaymentOfBooking(ctx context.Context, bookingID int64) (*Payment, error)
	// NextKassenzeichen draws the next number of the Kassenzeichen
	// sequence.
	NextKassenzeichen(ctx context.Context) (int64, error)
	// InsertPayment writes a new payment in state created and fills in
	// ID, CreatedAt, UpdatedAt, PollUntil and NextPollAt.
	InsertPayment(ctx context.Context, p *Payment, pollUntil, firstPoll time.Time) error
	// MarkPaid records verified money: state paid, method, time paid and
	// note; bookingID, when not 0, is the booking the money now pays for.
	MarkPaid(ctx context.Context, id int64, method string, paidAt time.Time, bookingID int64, note string, now time.Time) error
	// EndPayment moves an open payment to a final state without money.
	EndPayment(ctx context.Context, id int64, st State, note string, pollUntil, now time.Time) error
	// StopPolling ends the status queries of a payment.
	StopPolling(ctx context.Context, id int64, now time.Time) error
	// SetNote changes a payment's note and, when st is not "", its state.
	SetNote(ctx context.Context, id int64, st State, note string, now time.Time) error
	// MarkConfirmed moves a paid payment to confirmed (the platform was
	// told).
	MarkConfirmed(ctx context.Context, id int64, now time.Time) error
	// RecordRefund sets the refunded amount; a payment refunded in full
	// becomes refunded.
	RecordRefund(ctx context.Context, id int64, refundedCents int64, now time.Time) error
	// Accounting is Store.Accounting inside the transaction.
	Accounting(ctx context.Context, serviceID string) (Accounting, error)
	// InsertPosting writes a posting (reverses 0) or a Storno of the
	// posting with id reverses and fills in p.ID.
	InsertPosting(ctx context.Context, p *Posting, reverses int64) error
	// PaymentPostings lists the ids of a payment's postings of a kind.
	PaymentPostings(ctx context.Context, paymentID int64, kind string) ([]int64, error)
	// Enqueue adds a pending outbox job due at once.
	Enqueue(ctx context.Context, j OutboxJob, now time.Time) error
	// RecordInbox is Store.RecordInbox inside the transaction.
	RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error
	// MarkJobDone is Store.MarkJobDone inside the transaction.
	MarkJobDone(ctx context.Context, id int64, now time.Time) error

	// Refund work list steps.

	// InsertRefundTask puts a refund on the work list for the outbox job
	// jobID and fills in t.ID; a second insert for the same job keeps the
	// first task.
	InsertRefundTask(ctx context.Context, jobID int64, t *RefundTask) error
	// LockRefundTask returns a refund task locked for the transaction,
	// or ErrRefundTaskNotFound.
	LockRefundTask(ctx context.Context, id int64) (*RefundTask, error)
	// MarkRefundTaskDone closes a task with who did it, a note and the
	// Storno posting written for it (0: none).
	MarkRefundTaskDone(ctx context.Context, id int64, doneBy, note string, stornoPostingID int64, now time.Time) error

	// Export steps.

	// TryExportLock takes the export lock for the transaction; false when
	// another replica holds it.
	TryExportLock(ctx context.Context) (bool, error)
	// PendingExports lists, locked, the posting_file jobs not yet
	// exported, with the booking day of their posting.
	PendingExports(ctx context.Context) ([]PendingExport, error)
	// ExportPostings lists, in posting order, the postings already in
	// file and those of the given jobs.
	ExportPostings(ctx context.Context, file string, jobIDs []int64) ([]Posting, error)
	// MarkExported records jobs as delivered into file.
	MarkExported(ctx context.Context, jobIDs []int64, file string, now time.Time) error
}

// Outbox job kinds.
const (
	JobPlatformConfirm = "platform_confirm" // confirm or cancel at the platform
	JobRefund          = "refund"           // refund at the platform
	JobPostingFile     = "posting_file"     // posting into the daily export file
	JobPostingHTTP     = "posting_http"     // posting to the treasury endpoint
)

// OutboxJob is one delivery the outbox worker carries out.
type OutboxJob struct {
	ID          int64
	Kind        string
	PaymentID   int64
	PostingID   int64 // 0 when the job has no posting
	AmountCents int64
	Reason      string
	Attempts    int
}

// PendingExport is a posting waiting for the export file of its booking
// day.
type PendingExport struct {
	JobID       int64
	BookingDate time.Time
}
