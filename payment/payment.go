package payment

import (
	"errors"
	"time"
)

// Storage outcomes.
var (
	// ErrPaymentNotFound reports an unknown payment reference.
	ErrPaymentNotFound = errors.New("payment not found")
	// ErrNotDeadLetter answers a retry of a delivery job that has not
	// given up (unknown, pending or delivered).
	ErrNotDeadLetter = errors.New("not a dead letter")
	// ErrStoreUnavailable wraps every failure of the payment store
	// (PostgreSQL down or failing); callers answer 503 and retry later.
	ErrStoreUnavailable = errors.New("payment store unavailable")
)

// Payment is our record of one payment for one booking.
type Payment struct {
	ID             int64
	Reference      string
	Kassenzeichen  string
	BookingID      int64
	FirstBookingID int64
	BookingCode    string
	ServiceID      string
	Units          int
	AmountCents    int64
	Currency       string
	Platform       string
	PlatformID     string
	PayURL         string
	State          State
	Method         string
	PaidAt         *time.Time
	RefundedCents  int64
	Note           string
	Deadline       time.Time
	PollUntil      time.Time
	NextPollAt     time.Time
	PollFailures   int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Posting is a treasury posting (Buchung) or its counter-posting (Storno).
type Posting struct {
	ID               int64
	PostingID        string
	Kind             string
	Reverses         string
	PaymentID        int64
	Kassenzeichen    string
	AmountCents      int64
	Currency         string
	ValueDate        time.Time
	BookingDate      time.Time
	Haushaltsstelle  string
	Produkt          string
	Sachkonto        string
	Kostenstelle     string
	BookingText      string
	PaymentMethod    string
	Platform         string
	PlatformID       string
	PaymentReference string
	BookingCode      string
	CreatedAt        time.Time
}

// PaymentFilter narrows ListPayments.
type PaymentFilter struct {
	State         string
	Kassenzeichen string
	From, To      time.Time // created_at range; zero means open
	Limit         int
	// Location, Service and Reference narrow to the booking's location,
	// the payment's service and our payment reference; "" means any.
	Location  string
	Service   string
	Reference string
}

// PostingFilter narrows ListPostings.
type PostingFilter struct {
	Kind          string
	Kassenzeichen string
	From, To      time.Time // booking_date range (dates), zero means open
	Limit         int
	// Location, Service and Reference narrow to the location and service
	// of the booking paid for and to the payment reference; "" means any.
	Location  string
	Service   string
	Reference string
}

// OutboxItem is one delivery job, for the finance view of dead letters.
type OutboxItem struct {
	ID          int64
	Kind        string
	Reference   string
	PostingID   string
	AmountCents int64
	Reason      string
	State       string
	Attempts    int
	LastError   string
	ExportFile  string
	CreatedAt   time.Time
	DoneAt      *time.Time
}
